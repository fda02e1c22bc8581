"""core/id_token.py: ID token validation (OIDC Core §3.1.3.7, §3.2.2.11, §3.3.2.12, §12.2)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

import pytest
from joserfc.jwk import KeySet, OKPKey

from oidc_rp.core.id_token import (
    IDToken,
    IDTokenExpectations,
    hash_claim,
    validate_id_token,
    validate_refreshed_id_token,
)
from oidc_rp.core.jwks import parse_jwks
from oidc_rp.errors import IDTokenError, KeyNotFoundError

from .tokens import (
    CLIENT_ID,
    CLIENT_SECRET,
    EC256_KEY,
    ED_KEY,
    ISSUER,
    NOW,
    RSA_KEY,
    RSA_KEY_2,
    assert_error,
    b64,
    corrupt,
    id_token_claims,
    jwks_response,
    key_set,
    left_hash,
    mac,
    public_jwk,
    sign,
    unsigned,
)

NONCE = id_token_claims()["nonce"]
ACCESS_TOKEN = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
CODE = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
ALL = key_set()
SINGLE = parse_jwks(
    jwks_response(
        [
            {k: v for k, v in public_jwk(key).items() if k != "kid"}
            for key in (RSA_KEY, EC256_KEY, ED_KEY)
        ]
    )
)
MULTIPLE = parse_jwks(
    jwks_response(
        [{k: v for k, v in public_jwk(key).items() if k != "kid"} for key in (RSA_KEY, RSA_KEY_2)]
    )
)
WITH_JUNK = parse_jwks(
    jwks_response(
        [
            {"kty": "AKP", "alg": "ML-DSA-99", "kid": "pq", "pub": "AAAA"},
            {"kty": "INVENTED", "kid": "odd"},
            public_jwk(RSA_KEY),
        ]
    )
)


ED448_KEY = OKPKey.generate_key("Ed448", parameters={"kid": "ed448-1"})
ED448 = parse_jwks(jwks_response([public_jwk(ED448_KEY)]))


def shake_hash(value: str) -> str:
    """The OIDC Core errata's hash for Ed448: SHAKE256 with 114 output octets, left 57."""
    digest = hashlib.shake_256(value.encode("ascii")).digest(114)
    assert len(digest[:57]) == 57
    return b64(digest[:57])


def ed448_token(alg: str = "Ed448", **claim_changes: Any) -> str:
    return sign(id_token_claims(**claim_changes), alg, key=ED448_KEY)


def expect(**changes: Any) -> IDTokenExpectations:
    """The expectations of a code-flow login with a nonce, RS256."""
    base = IDTokenExpectations(
        issuer=ISSUER, client_id=CLIENT_ID, allowed_algs=("RS256",), now=NOW, nonce=NONCE
    )
    return replace(base, **changes)


def token(alg: str = "RS256", **claim_changes: Any) -> str:
    return sign(id_token_claims(**claim_changes), alg)


PEM = RSA_KEY.as_bytes(private=False)
GOOD = token()
_H, _P, _S = GOOD.split(".")

ACCEPTS: list[tuple[str, str, KeySet, IDTokenExpectations]] = [
    ("rs256", GOOD, ALL, expect()),
    ("rs384", token("RS384"), ALL, expect(allowed_algs=("RS384",))),
    ("rs512", token("RS512"), ALL, expect(allowed_algs=("RS512",))),
    ("ps256", token("PS256"), ALL, expect(allowed_algs=("PS256",))),
    ("es256", token("ES256"), ALL, expect(allowed_algs=("ES256",))),
    ("es384", token("ES384"), ALL, expect(allowed_algs=("ES384",))),
    ("es512", token("ES512"), ALL, expect(allowed_algs=("ES512",))),
    ("eddsa", token("EdDSA"), ALL, expect(allowed_algs=("EdDSA",))),
    (
        "hs256",
        mac(id_token_claims(), CLIENT_SECRET.encode()),
        ALL,
        expect(allowed_algs=("HS256",), client_secret=CLIENT_SECRET),
    ),
    ("sig-none-when-allowed", unsigned(id_token_claims()), ALL, expect(allowed_algs=("none",))),
    ("kid-absent-single-jwks", sign(id_token_claims(), kid=False), SINGLE, expect()),
    ("ignores-unparseable-key-in-jwks", GOOD, WITH_JUNK, expect()),
    ("aud-as-array", token(aud=[CLIENT_ID]), ALL, expect()),
    (
        "aud-trusted-with-azp",
        token(aud=[CLIENT_ID, "https://api.example.com"], azp=CLIENT_ID),
        ALL,
        expect(trusted_audiences=("https://api.example.com",)),
    ),
    ("azp-single-aud", token(azp=CLIENT_ID), ALL, expect()),
    ("nonce-not-expected", GOOD, ALL, expect(nonce=None)),
    ("no-nonce-not-expected", token(nonce=None), ALL, expect(nonce=None)),
    ("exp-within-skew", token(exp=NOW - 59), ALL, expect()),
    ("iat-within-skew", token(iat=NOW + 60), ALL, expect()),
    ("iat-float", token(iat=NOW + 0.5), ALL, expect()),
    ("iat-age-ok", token(iat=NOW - 3600), ALL, expect(max_iat_age=3600)),
    ("nbf-past", token(nbf=NOW - 10), ALL, expect()),
    ("auth-time-fresh", token(auth_time=NOW - 100), ALL, expect(max_age=100)),
    ("auth-time-skew", token(auth_time=NOW - 160), ALL, expect(max_age=100)),
    ("auth-time-no-max-age", token(auth_time=NOW - 10**6), ALL, expect()),
    ("acr-essential", token(acr="urn:mace:loa:2"), ALL, expect(essential_acr=("urn:mace:loa:2",))),
    (
        "at-hash",
        token(at_hash=left_hash(ACCESS_TOKEN)),
        ALL,
        expect(access_token=ACCESS_TOKEN, require_at_hash=True),
    ),
    (
        "at-hash-optional-missing",
        GOOD,
        ALL,
        expect(access_token=ACCESS_TOKEN),
    ),
    ("at-hash-without-access-token", token(at_hash="whatever"), ALL, expect()),
    (
        "c-hash",
        token(c_hash=left_hash(CODE)),
        ALL,
        expect(code=CODE, require_c_hash=True),
    ),
    (
        "c-hash-es512",
        token("ES512", c_hash=left_hash(CODE, "sha512")),
        ALL,
        expect(allowed_algs=("ES512",), code=CODE, require_c_hash=True),
    ),
    (
        "c-hash-eddsa-sha512",
        token("EdDSA", c_hash=left_hash(CODE, "sha512")),
        ALL,
        expect(allowed_algs=("EdDSA",), code=CODE, require_c_hash=True),
    ),
    (
        "c-hash-ed448-shake256",
        ed448_token(c_hash=shake_hash(CODE)),
        ED448,
        expect(allowed_algs=("Ed448",), code=CODE, require_c_hash=True),
    ),
    (
        "at-hash-eddsa-over-ed448-shake256",
        ed448_token("EdDSA", at_hash=shake_hash(ACCESS_TOKEN), c_hash=shake_hash(CODE)),
        ED448,
        expect(
            allowed_algs=("EdDSA",),
            access_token=ACCESS_TOKEN,
            require_at_hash=True,
            code=CODE,
            require_c_hash=True,
        ),
    ),
    ("unknown-claims", token(extra={"a": [1, 2]}, name="Jane"), ALL, expect()),
]


@pytest.mark.parametrize(
    ("raw", "keys", "expectations"), [pytest.param(*row[1:], id=row[0]) for row in ACCEPTS]
)
def test_validate_id_token_accepts(
    raw: str, keys: KeySet, expectations: IDTokenExpectations
) -> None:
    id_token = validate_id_token(raw, keys, expectations)
    assert id_token.raw == raw
    assert id_token.sub == "user-1"
    assert id_token.claims["iss"] == ISSUER
    assert id_token.header["alg"] in expectations.allowed_algs


E = IDTokenError
REJECTS: list[tuple[str, str, KeySet, IDTokenExpectations, type[Exception], str]] = [
    # signature and alg
    ("alg-none-not-allowed", unsigned(id_token_claims()), ALL, expect(), E, "id_token.alg"),
    (
        "alg-none-among-others",
        unsigned(id_token_claims()),
        ALL,
        expect(allowed_algs=("RS256", "ES256")),
        E,
        "id_token.alg",
    ),
    ("alternate-alg", GOOD, ALL, expect(allowed_algs=("ES256",)), E, "id_token.alg"),
    ("invalid-sig-rs256", corrupt(GOOD), ALL, expect(), E, "id_token.signature"),
    (
        "invalid-sig-es256",
        corrupt(token("ES256")),
        ALL,
        expect(allowed_algs=("ES256",)),
        E,
        "id_token.signature",
    ),
    (
        "invalid-sig-hs256",
        corrupt(mac(id_token_claims(), CLIENT_SECRET.encode())),
        ALL,
        expect(allowed_algs=("HS256",), client_secret=CLIENT_SECRET),
        E,
        "id_token.signature",
    ),
    (
        "hs256-wrong-secret",
        mac(id_token_claims(), b"not-the-client-secret-at-all"),
        ALL,
        expect(allowed_algs=("HS256",), client_secret=CLIENT_SECRET),
        E,
        "id_token.signature",
    ),
    ("alg-confusion-pem", mac(id_token_claims(), PEM), ALL, expect(), E, "id_token.alg"),
    (
        "alg-confusion-hs-allowed",
        mac(id_token_claims(), PEM, header={"kid": "rsa-1"}),
        ALL,
        expect(allowed_algs=("RS256", "HS256"), client_secret=CLIENT_SECRET),
        E,
        "id_token.signature",
    ),
    (
        "alg-confusion-no-secret",
        mac(id_token_claims(), PEM, header={"kid": "rsa-1"}),
        ALL,
        expect(allowed_algs=("RS256", "HS256")),
        E,
        "id_token.alg",
    ),
    (
        "kid-absent-multiple-jwks",
        sign(id_token_claims(), kid=False),
        MULTIPLE,
        expect(),
        E,
        "id_token.signature: multiple keys match",
    ),
    (
        "embedded-jwk",
        sign(id_token_claims(), key=RSA_KEY_2, header={"jwk": public_jwk(RSA_KEY_2)}),
        ALL,
        expect(),
        E,
        "id_token.signature",
    ),
    (
        "unknown-kid",
        sign(id_token_claims(), header={"kid": "new"}),
        ALL,
        expect(),
        KeyNotFoundError,
        "jwks",
    ),
    # garbage never crashes
    ("not-a-jwt", "not a jwt", ALL, expect(), E, "id_token.signature"),
    ("two-parts", f"{_H}.{_P}", ALL, expect(), E, "id_token.signature"),
    ("jwe-five-parts", "a.b.c.d.e", ALL, expect(), E, "id_token.signature"),
    ("bad-base64", f"{_H}.%%%.{_S}", ALL, expect(), E, "id_token.signature"),
    ("payload-not-json", sign(b"{nope"), ALL, expect(), E, "id_token.signature"),
    ("payload-array", sign([1, 2, 3]), ALL, expect(), E, "id_token.signature"),
    ("payload-null", sign(b"null"), ALL, expect(), E, "id_token.signature"),
    # iss
    ("invalid-iss", token(iss=ISSUER + "1"), ALL, expect(), E, "id_token.iss: does not match"),
    ("missing-iss", token(iss=None), ALL, expect(), E, "id_token.iss: missing"),
    ("iss-array", token(iss=[ISSUER]), ALL, expect(), E, "id_token.iss"),
    ("iss-trailing-slash", token(iss=ISSUER + "/"), ALL, expect(), E, "id_token.iss"),
    # sub
    ("missing-sub", token(sub=None), ALL, expect(), E, "id_token.sub: missing"),
    ("sub-number", token(sub=42), ALL, expect(), E, "id_token.sub"),
    ("sub-empty", token(sub=""), ALL, expect(), E, "id_token.sub"),
    ("sub-too-long", token(sub="x" * 256), ALL, expect(), E, "id_token.sub"),
    ("sub-not-ascii", token(sub="usér"), ALL, expect(), E, "id_token.sub"),
    # aud and azp
    (
        "invalid-aud",
        token(aud=CLIENT_ID + "1"),
        ALL,
        expect(),
        E,
        "id_token.aud: does not contain the client_id",
    ),
    ("missing-aud", token(aud=None), ALL, expect(), E, "id_token.aud: missing"),
    ("aud-number", token(aud=7), ALL, expect(), E, "id_token.aud"),
    ("aud-empty-array", token(aud=[]), ALL, expect(), E, "id_token.aud"),
    ("aud-array-not-strings", token(aud=[CLIENT_ID, 7]), ALL, expect(), E, "id_token.aud"),
    (
        "invalid-secondary-aud",
        token(aud=[CLIENT_ID, CLIENT_ID + "1"]),
        ALL,
        expect(),
        E,
        "id_token.aud: untrusted audience 'client-1231'",
    ),
    (
        "secondary-aud-with-azp",
        token(aud=[CLIENT_ID, CLIENT_ID + "1"], azp=CLIENT_ID),
        ALL,
        expect(),
        E,
        "id_token.aud: untrusted audience",
    ),
    (
        "azp-missing-multiple-aud",
        token(aud=[CLIENT_ID, "https://api.example.com"]),
        ALL,
        expect(trusted_audiences=("https://api.example.com",)),
        E,
        "id_token.azp: missing with multiple audiences",
    ),
    ("azp-other-client", token(azp="other"), ALL, expect(), E, "id_token.azp"),
    # exp
    ("expired-exp", token(exp=NOW - 360), ALL, expect(), E, "id_token.exp: expired"),
    ("exp-at-skew-edge", token(exp=NOW - 60), ALL, expect(), E, "id_token.exp: expired"),
    ("missing-exp", token(exp=None), ALL, expect(), E, "id_token.exp: missing"),
    ("exp-string", token(exp=str(NOW + 300)), ALL, expect(), E, "id_token.exp: not a number"),
    ("exp-bool", token(exp=True), ALL, expect(), E, "id_token.exp: not a number"),
    ("exp-infinity", token(exp=float("inf")), ALL, expect(), E, "id_token.exp: not a number"),
    ("exp-nan", token(exp=float("nan")), ALL, expect(), E, "id_token.exp: not a number"),
    # iat
    ("missing-iat", token(iat=None), ALL, expect(), E, "id_token.iat: missing"),
    ("iat-string", token(iat="now"), ALL, expect(), E, "id_token.iat: not a number"),
    ("iat-future", token(iat=NOW + 3600), ALL, expect(), E, "id_token.iat: issued in the future"),
    (
        "iat-week-in-past",
        token(iat=NOW - 7 * 86400),
        ALL,
        expect(max_iat_age=3600),
        E,
        "id_token.iat: issued too long ago",
    ),
    ("nbf-future", token(nbf=NOW + 3600), ALL, expect(), E, "id_token.nbf"),
    ("nbf-string", token(nbf="soon"), ALL, expect(), E, "id_token.nbf"),
    # nonce
    ("invalid-nonce", token(nonce=NONCE + "1"), ALL, expect(), E, "id_token.nonce: does not match"),
    ("missing-nonce", token(nonce=None), ALL, expect(), E, "id_token.nonce: missing"),
    ("nonce-number", token(nonce=12345), ALL, expect(), E, "id_token.nonce: does not match"),
    ("nonce-not-ascii", token(nonce="nönce"), ALL, expect(), E, "id_token.nonce: does not match"),
    # auth_time
    (
        "auth-time-missing-max-age",
        GOOD,
        ALL,
        expect(max_age=300),
        E,
        "id_token.auth_time: missing",
    ),
    (
        "auth-time-too-old",
        token(auth_time=NOW - 1000),
        ALL,
        expect(max_age=300),
        E,
        "id_token.auth_time: authentication is older",
    ),
    ("auth-time-string", token(auth_time="x"), ALL, expect(), E, "id_token.auth_time"),
    # acr
    ("acr-missing", GOOD, ALL, expect(essential_acr=("loa2",)), E, "id_token.acr"),
    ("acr-other", token(acr="loa1"), ALL, expect(essential_acr=("loa2",)), E, "id_token.acr"),
    ("acr-list", token(acr=["loa2"]), ALL, expect(essential_acr=("loa2",)), E, "id_token.acr"),
    # at_hash / c_hash
    (
        "invalid-athash",
        token(at_hash=left_hash(ACCESS_TOKEN) + "1"),
        ALL,
        expect(access_token=ACCESS_TOKEN),
        E,
        "id_token.at_hash: does not match",
    ),
    (
        "missing-athash",
        GOOD,
        ALL,
        expect(access_token=ACCESS_TOKEN, require_at_hash=True),
        E,
        "id_token.at_hash: missing",
    ),
    (
        "athash-number",
        token(at_hash=1),
        ALL,
        expect(access_token=ACCESS_TOKEN),
        E,
        "id_token.at_hash: does not match",
    ),
    (
        "athash-wrong-hash-size",
        token("ES384", at_hash=left_hash(ACCESS_TOKEN)),
        ALL,
        expect(allowed_algs=("ES384",), access_token=ACCESS_TOKEN),
        E,
        "id_token.at_hash: does not match",
    ),
    (
        "athash-eddsa-over-ed448-with-sha512",
        ed448_token("EdDSA", at_hash=left_hash(ACCESS_TOKEN, "sha512")),
        ED448,
        expect(allowed_algs=("EdDSA",), access_token=ACCESS_TOKEN),
        E,
        "id_token.at_hash: does not match",
    ),
    (
        "chash-ed448-with-sha512",
        ed448_token(c_hash=left_hash(CODE, "sha512")),
        ED448,
        expect(allowed_algs=("Ed448",), code=CODE),
        E,
        "id_token.c_hash: does not match",
    ),
    (
        "athash-alg-none",
        unsigned(id_token_claims(at_hash=left_hash(ACCESS_TOKEN))),
        ALL,
        expect(allowed_algs=("none",), access_token=ACCESS_TOKEN),
        E,
        "id_token.at_hash: no hash",
    ),
    (
        "invalid-chash",
        token(c_hash=left_hash(CODE) + "1"),
        ALL,
        expect(code=CODE),
        E,
        "id_token.c_hash: does not match",
    ),
    (
        "missing-chash",
        GOOD,
        ALL,
        expect(code=CODE, require_c_hash=True),
        E,
        "id_token.c_hash: missing",
    ),
]


@pytest.mark.parametrize(
    ("raw", "keys", "expectations", "error_class", "rule"),
    [pytest.param(*row[1:], id=row[0]) for row in REJECTS],
)
def test_validate_id_token_rejects(
    raw: str,
    keys: KeySet,
    expectations: IDTokenExpectations,
    error_class: type[Exception],
    rule: str,
) -> None:
    with pytest.raises(error_class) as info:
        validate_id_token(raw, keys, expectations)
    assert_error(info.value, error_class, rule)


def test_messages_never_contain_the_token_or_secret() -> None:
    raw = mac(id_token_claims(nonce="secret-nonce-value"), CLIENT_SECRET.encode())
    for expectations in (
        expect(allowed_algs=("HS256",), client_secret="wrong-secret-wrong-secret"),
        expect(allowed_algs=("HS256",), client_secret=CLIENT_SECRET, nonce="other"),
    ):
        with pytest.raises(IDTokenError) as info:
            validate_id_token(raw, ALL, expectations)
        for secret in (raw, CLIENT_SECRET, "secret-nonce-value", raw.split(".")[2]):
            assert secret not in str(info.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"require_at_hash": True}, "require_at_hash"),
        ({"require_c_hash": True}, "require_c_hash"),
    ],
)
def test_expectations_refuse_requirements_that_cannot_be_checked(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        expect(**changes)


# --- hash_claim -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "hash_name"),
    [
        ("RS256", "sha256"),
        ("PS256", "sha256"),
        ("ES256", "sha256"),
        ("HS256", "sha256"),
        ("ES256K", "sha256"),
        ("RS384", "sha384"),
        ("ES384", "sha384"),
        ("HS384", "sha384"),
        ("PS512", "sha512"),
        ("ES512", "sha512"),
        ("HS512", "sha512"),
        ("EdDSA", "sha512"),
        ("Ed25519", "sha512"),
    ],
)
def test_hash_claim(alg: str, hash_name: str) -> None:
    assert hash_claim(CODE, alg) == left_hash(CODE, hash_name)


@pytest.mark.parametrize(
    ("alg", "curve"),
    [("Ed448", None), ("EdDSA", "Ed448"), ("Ed448", "Ed448")],
)
def test_hash_claim_ed448_is_shake256_with_114_octets(alg: str, curve: str | None) -> None:
    # OIDC Core errata: for Ed448 the hash is SHAKE256(M, 912 bits); the left-most half is
    # 57 octets, 76 base64url characters.
    expected = b64(hashlib.shake_256(CODE.encode("ascii")).digest(114)[:57])
    assert len(expected) == 76
    assert hash_claim(CODE, alg, curve) == expected


@pytest.mark.parametrize(("alg", "curve"), [("EdDSA", None), ("EdDSA", "Ed25519")])
def test_hash_claim_eddsa_over_ed25519_is_sha512(alg: str, curve: str | None) -> None:
    assert hash_claim(CODE, alg, curve) == left_hash(CODE, "sha512")


def test_hash_claim_matches_the_spec_example() -> None:
    """OIDC Core Appendix A.4: the at_hash of this access token with RS256."""
    assert hash_claim(ACCESS_TOKEN, "RS256") == "77QmUPtjPfzWtF2AnpK9RQ"


@pytest.mark.parametrize(
    ("alg", "curve"),
    [("none", None), ("RS1", None), ("XS256", None), ("", None), ("EdDSA", "X25519")],
)
def test_hash_claim_rejects_unknown_alg(alg: str, curve: str | None) -> None:
    with pytest.raises(ValueError, match="no hash"):
        hash_claim(CODE, alg, curve)


# --- IDToken ----------------------------------------------------------------------------------


def test_id_token_properties() -> None:
    raw = token(sid="s-1", auth_time=NOW - 5)
    id_token = validate_id_token(raw, ALL, expect())
    assert (id_token.sub, id_token.sid, id_token.exp, id_token.iat) == (
        "user-1",
        "s-1",
        NOW + 300,
        NOW,
    )
    assert id_token.auth_time == NOW - 5
    with pytest.raises(TypeError):
        id_token.claims["sub"] = "other"  # type: ignore[index]


def test_id_token_optional_properties_absent() -> None:
    id_token = validate_id_token(GOOD, ALL, expect())
    assert (id_token.sid, id_token.auth_time) == (None, None)
    assert json.loads(json.dumps(dict(id_token.claims))) == id_token_claims()


def test_id_token_sid_not_a_string_is_ignored() -> None:
    assert IDToken({"sid": 5}, {}, "").sid is None


def test_id_token_repr_hides_the_jwt() -> None:
    id_token = validate_id_token(GOOD, ALL, expect())
    assert GOOD not in repr(id_token)
    assert "user-1" in repr(id_token)  # what is not secret still shows


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nonce", "SECRET-nonce-value"),
        ("access_token", "SECRET-access-token"),
        ("code", "SECRET-code-value"),
        ("client_secret", "SECRET-client-secret"),
    ],
)
def test_expectations_repr_hides_secrets(field: str, value: str) -> None:
    expectations = expect(**{field: value})
    assert value not in repr(expectations)
    assert ISSUER in repr(expectations)


# --- validate_refreshed_id_token (§12.2) ------------------------------------------------------


def _id_token(**changes: Any) -> IDToken:
    claims = id_token_claims(**{"auth_time": NOW - 100, "azp": CLIENT_ID, **changes})
    return IDToken(claims, {"alg": "RS256"}, "raw")


ORIGINAL = _id_token()


@pytest.mark.parametrize(
    "new",
    [
        pytest.param(_id_token(iat=NOW + 3600, exp=NOW + 7200, nonce=None), id="same"),
        pytest.param(_id_token(aud=[CLIENT_ID]), id="aud-as-array"),
        pytest.param(_id_token(auth_time=None), id="auth-time-absent"),
    ],
)
def test_validate_refreshed_id_token_accepts(new: IDToken) -> None:
    validate_refreshed_id_token(new, ORIGINAL)


@pytest.mark.parametrize(
    ("new", "original", "rule"),
    [
        pytest.param(_id_token(iss=ISSUER + "1"), ORIGINAL, "id_token.refresh.iss", id="iss"),
        pytest.param(_id_token(sub="user-11"), ORIGINAL, "id_token.refresh.sub", id="sub"),
        pytest.param(_id_token(aud=[CLIENT_ID, "x"]), ORIGINAL, "id_token.refresh.aud", id="aud"),
        pytest.param(_id_token(aud=None), ORIGINAL, "id_token.refresh.aud", id="aud-missing"),
        pytest.param(_id_token(azp="other"), ORIGINAL, "id_token.refresh.azp", id="azp"),
        pytest.param(_id_token(), _id_token(azp=None), "id_token.refresh.azp", id="azp-added"),
        pytest.param(
            _id_token(auth_time=NOW), ORIGINAL, "id_token.refresh.auth_time", id="auth_time"
        ),
    ],
)
def test_validate_refreshed_id_token_rejects(new: IDToken, original: IDToken, rule: str) -> None:
    with pytest.raises(IDTokenError) as info:
        validate_refreshed_id_token(new, original)
    assert_error(info.value, IDTokenError, rule)
