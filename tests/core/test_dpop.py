"""core/dpop.py: DPoP proofs, nonce challenges and token types (RFC 9449)."""

from __future__ import annotations

import base64
import hashlib
import json
import warnings
from typing import Any

import pytest
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, OctKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry, deserialize_compact

from oidc_rp.core.dpop import (
    DPOP_SIGNING_ALGS,
    access_token_hash,
    build_dpop_proof,
    check_dpop_key,
    check_dpop_token_type,
    dpop_htu,
    dpop_nonce_challenge,
    dpop_public_jwk,
)
from oidc_rp.core.messages import HttpResponse
from oidc_rp.errors import TokenResponseError

from .tokens import NOW

EC256 = ECKey.generate_key("P-256", private=True)
EC384 = ECKey.generate_key("P-384", private=True)
EC521 = ECKey.generate_key("P-521", private=True)
RSA = RSAKey.generate_key(2048, private=True)
ED25519 = OKPKey.generate_key("Ed25519", private=True)
ED448 = OKPKey.generate_key("Ed448", private=True)
KID_KEY = ECKey.generate_key("P-256", parameters={"kid": "k1", "use": "sig"}, private=True)
KEY_FOR_ALG: dict[str, Key] = {
    "ES256": EC256,
    "ES384": EC384,
    "ES512": EC521,
    "RS256": RSA,
    "RS384": RSA,
    "RS512": RSA,
    "PS256": RSA,
    "PS384": RSA,
    "PS512": RSA,
    "EdDSA": ED25519,
    "Ed25519": ED25519,
    "Ed448": ED448,
}
TOKEN_URL = "https://as.example.com/token"
# RFC 9449 §7.1, Figure 12's access token and the ath of Figure 13.
RFC_ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
RFC_ATH = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


def _b64sha256(value: str) -> str:
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _open(proof: str, key: Key, alg: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify the proof with the public key named in its own header (as a server does)."""
    header = json.loads(base64.urlsafe_b64decode(proof.split(".")[0] + "=="))
    public = type(key).import_key(header["jwk"])
    registry = JWSRegistry(algorithms=[alg])
    registry.max_header_length = 2048  # an RSA 2048 jwk makes a header over joserfc's 512
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # EdDSA
        obj = deserialize_compact(proof, public, registry=registry)
    return dict(obj.headers()), json.loads(obj.payload)


def _proof(**changes: Any) -> str:
    values: dict[str, Any] = {
        "htm": "POST",
        "htu": TOKEN_URL,
        "now": NOW,
        "jti": "jti-1",
        **changes,
    }
    key = values.pop("key", EC256)
    alg = values.pop("alg", "ES256")
    return build_dpop_proof(key, alg, **values)


# --- build_dpop_proof -----------------------------------------------------------------------


@pytest.mark.parametrize("alg", sorted(DPOP_SIGNING_ALGS))
def test_proof_header_and_claims_per_section_4_2(alg: str) -> None:
    key = KEY_FOR_ALG[alg]
    proof = _proof(key=key, alg=alg)
    header, claims = _open(proof, key, alg)
    # §4.2: typ dpop+jwt, alg, jwk (the public key) and nothing else.
    assert header == {"typ": "dpop+jwt", "alg": alg, "jwk": dpop_public_jwk(key)}
    assert claims == {"jti": "jti-1", "htm": "POST", "htu": TOKEN_URL, "iat": NOW}


@pytest.mark.parametrize("key", [EC256, RSA, ED25519, KID_KEY], ids=["EC", "RSA", "OKP", "kid"])
def test_the_public_jwk_has_no_private_member(key: Key) -> None:
    jwk = dpop_public_jwk(key)
    assert not {"d", "p", "q", "dp", "dq", "qi", "oth", "k"} & set(jwk)
    assert not {"kid", "use", "alg", "key_ops"} & set(jwk)
    # The thumbprint over these members is the key's (RFC 7638), what the AS binds (§6.1).
    assert type(key).import_key(jwk).thumbprint() == key.thumbprint()


def test_a_key_with_a_kid_signs_without_it_in_the_header() -> None:
    header, _ = _open(_proof(key=KID_KEY), KID_KEY, "ES256")
    assert set(header) == {"typ", "alg", "jwk"}


@pytest.mark.parametrize(
    ("url", "htu"),
    [
        ("https://as.example.com/token", "https://as.example.com/token"),
        ("https://as.example.com/token?x=1&y=2", "https://as.example.com/token"),
        ("https://as.example.com/token#frag", "https://as.example.com/token"),
        ("https://as.example.com/token?x=1#frag", "https://as.example.com/token"),
        ("https://rs.example.com:8443/api/v1?q", "https://rs.example.com:8443/api/v1"),
        ("https://user:pw@rs.example.com/api", "https://rs.example.com/api"),
        ("https://rs.example.com", "https://rs.example.com/"),
        ("http://127.0.0.1:3000/me", "http://127.0.0.1:3000/me"),
    ],
)
def test_htu_has_no_query_and_no_fragment(url: str, htu: str) -> None:
    assert dpop_htu(url) == htu
    _, claims = _open(_proof(htu=url, htm="GET"), EC256, "ES256")
    assert claims["htu"] == htu and claims["htm"] == "GET"


def test_nonce_and_ath_are_added_when_given() -> None:
    token = "an-access-token.value~1"
    _, claims = _open(_proof(nonce="n-1!~", access_token=token), EC256, "ES256")
    assert claims["nonce"] == "n-1!~"
    assert claims["ath"] == _b64sha256(token)


def test_ath_matches_the_rfc_example() -> None:
    assert access_token_hash(RFC_ACCESS_TOKEN) == RFC_ATH == _b64sha256(RFC_ACCESS_TOKEN)


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"alg": "none"}, "dpop.alg: 'none' is refused (none and symmetric algorithms)"),
        ({"alg": "HS256"}, "dpop.alg: 'HS256' is refused (none and symmetric algorithms)"),
        ({"alg": "ES256K"}, "dpop.alg: unsupported algorithm 'ES256K'"),
        ({"alg": "RS256"}, "dpop.key: RS256 needs an RSA key"),
        ({"alg": "ES384"}, "dpop.key: ES384 needs an EC P-384 key"),
        ({"key": ED448, "alg": "Ed25519"}, "dpop.key: Ed25519 needs an OKP Ed25519 key"),
        (
            {"key": RSAKey.import_key(RSA.as_dict(private=False)), "alg": "RS256"},
            "dpop.key: not a private RSA, EC or OKP key",
        ),
        (
            {"key": OctKey.generate_key(256), "alg": "ES256"},
            "dpop.key: not a private RSA, EC or OKP key",
        ),
        ({"jti": ""}, "dpop.jti: required"),
        ({"htm": "post"}, "dpop.htm: not an HTTP method 'post'"),
        ({"htu": "/token"}, "dpop.htu: not an absolute http(s) URL"),
        ({"htu": "ftp://as.example.com/x"}, "dpop.htu: not an absolute http(s) URL"),
        ({"nonce": ""}, "dpop.nonce: not 1*NQCHAR (RFC 9449 §8.1)"),
        ({"nonce": 'a"b'}, "dpop.nonce: not 1*NQCHAR (RFC 9449 §8.1)"),
        ({"nonce": "a b"}, "dpop.nonce: not 1*NQCHAR (RFC 9449 §8.1)"),
        ({"access_token": ""}, "dpop.ath: empty access token"),
        ({"access_token": "tök"}, "dpop.ath: the access token is not ASCII"),
    ],
)
def test_bad_proof_inputs_are_refused(changes: dict[str, Any], rule: str) -> None:
    with pytest.raises(ValueError) as info:
        _proof(**changes)
    assert str(info.value) == rule


def test_small_rsa_keys_do_not_fit() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        small = RSAKey.generate_key(1024, private=True)
    with pytest.raises(ValueError, match=r"^dpop\.key: PS256 needs an RSA key$"):
        check_dpop_key(small, "PS256")


@pytest.mark.parametrize(("alg", "key"), [("EdDSA", ED448), ("EdDSA", ED25519), ("ES512", EC521)])
def test_keys_that_fit(alg: str, key: Key) -> None:
    check_dpop_key(key, alg)


# --- dpop_nonce_challenge ---------------------------------------------------------------------


def _response(status: int, body: Any = None, **headers: str) -> HttpResponse:
    raw = json.dumps(body).encode() if body is not None else b""
    return HttpResponse(status, {k.replace("_", "-"): v for k, v in headers.items()}, raw)


USE_NONCE = {"error": "use_dpop_nonce", "error_description": "Authorization server requires nonce"}


@pytest.mark.parametrize(
    ("response", "nonce"),
    [
        # §8: the authorization server's 400 with the JSON error and the header.
        (
            _response(400, USE_NONCE, dpop_nonce="eyJ7S_zG.eyJH0-Z.HX4w-7v"),
            "eyJ7S_zG.eyJH0-Z.HX4w-7v",
        ),
        # §9: a resource server's 401 with a DPoP challenge; the scheme in any case.
        (
            _response(
                401,
                www_authenticate='DPoP error="use_dpop_nonce", error_description="x"',
                dpop_nonce="n1",
            ),
            "n1",
        ),
        (_response(401, www_authenticate='dPoP error="use_dpop_nonce"', dpop_nonce="n2"), "n2"),
        (_response(401, www_authenticate="DPOP error=use_dpop_nonce", dpop_nonce="n3"), "n3"),
        (
            _response(
                401,
                www_authenticate='Bearer realm="rs", DPoP realm="rs", error="use_dpop_nonce", '
                'algs="ES256 PS256"',
                dpop_nonce="n4",
            ),
            "n4",
        ),
        # Not a challenge: each row lacks one part.
        (_response(400, USE_NONCE), None),
        (_response(400, {"error": "invalid_grant"}, dpop_nonce="n"), None),
        (_response(400, None, dpop_nonce="n"), None),
        (HttpResponse(400, {"dpop-nonce": "n"}, b"[" * 100_000), None),
        (_response(401, USE_NONCE, dpop_nonce="n"), None),
        (_response(401, www_authenticate='DPoP error="use_dpop_nonce"'), None),
        (_response(401, www_authenticate='DPoP error="invalid_token"', dpop_nonce="n"), None),
        # A Bearer challenge's error is not the DPoP challenge's.
        (
            _response(
                401,
                www_authenticate='Bearer error="use_dpop_nonce", DPoP realm="x"',
                dpop_nonce="n",
            ),
            None,
        ),
        (_response(403, www_authenticate='DPoP error="use_dpop_nonce"', dpop_nonce="n"), None),
        (_response(200, {}, dpop_nonce="n"), None),
        # A malformed nonce (§8.1: 1*NQCHAR) is no challenge to answer.
        (_response(400, USE_NONCE, dpop_nonce='a"b'), None),
        (_response(400, USE_NONCE, dpop_nonce=""), None),
    ],
)
def test_nonce_challenge(response: HttpResponse, nonce: str | None) -> None:
    assert dpop_nonce_challenge(response) == nonce


# --- check_dpop_token_type --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token_type", "dpop_used", "rule"),
    [
        ("DPoP", True, None),
        ("Bearer", False, None),
        # §5: a Bearer answer to a DPoP request is not bound: refused (protection deemed important).
        ("Bearer", True, "token_response.token_type"),
        ("DPoP", False, "token_response.token_type"),
    ],
)
def test_token_type_fits_the_request(token_type: str, dpop_used: bool, rule: str | None) -> None:
    if rule is None:
        check_dpop_token_type(token_type, dpop_used=dpop_used)
        return
    with pytest.raises(TokenResponseError) as info:
        check_dpop_token_type(token_type, dpop_used=dpop_used)
    assert info.value.rule == rule and info.value.code == "invalid_token_response"
    assert "RFC 9449 §5" in info.value.message
