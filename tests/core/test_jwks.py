"""core/jwks.py: JWK set parsing, key selection and JWS verification (RFC 7515, 7517)."""

from __future__ import annotations

import json
import warnings
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.errors import SecurityWarning, UnsupportedAlgorithmError
from joserfc.jwk import ECKey, Key, KeySet, OKPKey, RSAKey

from oidc_rp.core.jwks import (
    _Registry,
    build_jwks_request,
    may_refetch,
    parse_jwks,
    select_verification_key,
    verify_jws,
)
from oidc_rp.core.messages import HttpResponse
from oidc_rp.errors import JWKSError, KeyNotFoundError

from .tokens import (
    CLIENT_SECRET,
    EC256_KEY,
    EC384_KEY,
    ED_KEY,
    RSA_KEY,
    RSA_KEY_2,
    assert_error,
    b64,
    corrupt,
    id_token_claims,
    jwks_response,
    key_set,
    mac,
    public_jwk,
    sign,
    unsigned,
)

ALL = key_set()


def _public(key: Key, **extra: Any) -> Key:
    """A public key with extra JWK members (built directly, bypassing parse_jwks)."""
    data = public_jwk(key, **extra)
    if isinstance(key, RSAKey):
        return RSAKey.import_key(data)
    if isinstance(key, ECKey):
        return ECKey.import_key(data)
    return OKPKey.import_key(data)


def _no_kid(key: Key) -> dict[str, Any]:
    return {k: v for k, v in public_jwk(key).items() if k != "kid"}


def test_build_jwks_request() -> None:
    request = build_jwks_request("https://op.example.com/jwks")
    assert (request.method, request.url, request.body) == (
        "GET",
        "https://op.example.com/jwks",
        None,
    )
    assert "application/json" in request.headers["accept"]


# --- parse_jwks -------------------------------------------------------------------------

with warnings.catch_warnings():
    warnings.simplefilter("ignore", SecurityWarning)
    _SMALL_RSA = RSAKey.import_key(
        rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    )

JUNK_KEYS: list[Any] = [
    # oidcc-client-test-ignores-unparseable-key-in-jwks: an unknown ML-DSA parameter set
    {"kty": "AKP", "alg": "ML-DSA-99", "kid": "pq-1", "pub": "AAAA"},
    {"kty": "INVENTED", "kid": "odd-1", "x": "AAAA"},
    {"kty": "RSA", "kid": "broken-rsa", "e": "AQAB"},  # n missing
    {"kty": "EC", "kid": "bad-curve", "crv": "P-999", "x": "AA", "y": "AA"},
    {"kty": "oct", "kid": "symmetric", "k": b64(b"0123456789abcdef")},  # never from a JWKS
    public_jwk(RSA_KEY_2, use="enc"),  # encryption key
    public_jwk(_SMALL_RSA, kid="small"),  # under 2048 bits
    {"kid": "no-kty"},
    "not an object",
    42,
]


def test_parse_jwks_accepts_all_signing_key_types() -> None:
    keys = parse_jwks(jwks_response([public_jwk(k) for k in (RSA_KEY, EC256_KEY, ED_KEY)]))
    assert [k.kid for k in keys] == ["rsa-1", "ec-256", "ed-1"]


def test_parse_jwks_ignores_unusable_keys() -> None:
    """RFC 7517 §5; certification test ignores-unparseable-key-in-jwks."""
    keys = parse_jwks(jwks_response([*JUNK_KEYS, public_jwk(RSA_KEY, use="sig")]))
    assert [k.kid for k in keys] == ["rsa-1"]
    _, claims = verify_jws(sign(id_token_claims()), keys, allowed_algs=["RS256"])
    assert claims["sub"] == "user-1"


@pytest.mark.parametrize(
    ("response", "rule"),
    [
        pytest.param(
            jwks_response([public_jwk(RSA_KEY)], status=500), "jwks: HTTP 500", id="http-500"
        ),
        pytest.param(
            HttpResponse(200, {}, b"<html>"), "jwks: response body is not JSON", id="not-json"
        ),
        pytest.param(
            HttpResponse(200, {}, b'{"keys":' + b"[" * 100_000),
            "jwks: response body is not JSON",
            id="nested-too-deep",
        ),
        pytest.param(HttpResponse(200, {}, b"[]"), "jwks: response body is not a JSON", id="array"),
        pytest.param(HttpResponse(200, {}, b'{"keys": {}}'), "jwks: 'keys' is not", id="keys-obj"),
        pytest.param(HttpResponse(200, {}, b"{}"), "jwks: 'keys' is not an array", id="no-keys"),
        pytest.param(jwks_response(JUNK_KEYS), "jwks: no usable signing key", id="only-junk"),
        pytest.param(jwks_response([]), "jwks: no usable signing key", id="empty"),
    ],
)
def test_parse_jwks_rejects(response: HttpResponse, rule: str) -> None:
    with pytest.raises(JWKSError) as info:
        parse_jwks(response)
    assert_error(info.value, JWKSError, rule)


# --- select_verification_key -------------------------------------------------------------

SINGLE = parse_jwks(jwks_response([_no_kid(k) for k in (RSA_KEY, EC256_KEY, ED_KEY)]))


@pytest.mark.parametrize(
    ("keys", "header", "expected"),
    [
        pytest.param(ALL, {"alg": "RS256", "kid": "rsa-1"}, RSA_KEY, id="kid-rsa"),
        pytest.param(ALL, {"alg": "PS512", "kid": "rsa-1"}, RSA_KEY, id="kid-ps512"),
        pytest.param(ALL, {"alg": "ES256", "kid": "ec-256"}, EC256_KEY, id="kid-es256"),
        pytest.param(ALL, {"alg": "ES384", "kid": "ec-384"}, EC384_KEY, id="kid-es384"),
        pytest.param(ALL, {"alg": "EdDSA", "kid": "ed-1"}, ED_KEY, id="kid-eddsa"),
        pytest.param(ALL, {"alg": "Ed25519", "kid": "ed-1"}, ED_KEY, id="kid-ed25519"),
        # oidcc-client-test-kid-absent-single-jwks: one RSA key among EC and OKP keys
        pytest.param(SINGLE, {"alg": "RS256"}, RSA_KEY, id="kid-absent-single-jwks"),
        pytest.param(SINGLE, {"alg": "ES256"}, EC256_KEY, id="kid-absent-single-ec"),
        pytest.param(
            KeySet([_public(RSA_KEY, alg="RS256")]),
            {"alg": "RS256", "kid": "rsa-1"},
            RSA_KEY,
            id="key-alg-matches",
        ),
        pytest.param(
            KeySet([_public(RSA_KEY, key_ops=["verify"])]),
            {"alg": "RS256"},
            RSA_KEY,
            id="key-ops-verify",
        ),
    ],
)
def test_select_verification_key(keys: KeySet, header: dict[str, Any], expected: Key) -> None:
    key = select_verification_key(keys, header)
    assert key.thumbprint() == expected.thumbprint()


@pytest.mark.parametrize(
    ("keys", "header", "error_class", "rule"),
    [
        pytest.param(
            ALL, {"alg": "RS256", "kid": "nope"}, KeyNotFoundError, "jwks", id="unknown-kid"
        ),
        pytest.param(
            ALL, {"alg": "RS256", "kid": "ec-256"}, KeyNotFoundError, "jwks", id="kid-wrong-kty"
        ),
        pytest.param(
            ALL, {"alg": "ES256", "kid": "ec-384"}, KeyNotFoundError, "jwks", id="kid-wrong-crv"
        ),
        pytest.param(
            ALL, {"alg": "Ed448", "kid": "ed-1"}, KeyNotFoundError, "jwks", id="kid-wrong-okp"
        ),
        pytest.param(
            ALL, {"alg": "HS256", "kid": "rsa-1"}, KeyNotFoundError, "jwks", id="hs-never-jwks"
        ),
        pytest.param(
            key_set(EC256_KEY, ED_KEY),
            {"alg": "RS256"},
            KeyNotFoundError,
            "jwks",
            id="no-kid-no-fit",
        ),
        # oidcc-client-test-kid-absent-multiple-jwks: refusing is an accepted outcome
        pytest.param(
            parse_jwks(jwks_response([_no_kid(RSA_KEY), _no_kid(RSA_KEY_2)])),
            {"alg": "RS256"},
            JWKSError,
            "jwks: multiple keys match and the JWS has no kid",
            id="kid-absent-multiple-jwks",
        ),
        pytest.param(
            KeySet([_public(RSA_KEY), _public(RSA_KEY_2, kid="rsa-1")]),
            {"alg": "RS256", "kid": "rsa-1"},
            JWKSError,
            "jwks: several keys have kid",
            id="duplicate-kid",
        ),
        pytest.param(
            KeySet([_public(RSA_KEY, alg="RS512")]),
            {"alg": "RS256", "kid": "rsa-1"},
            KeyNotFoundError,
            "jwks",
            id="key-alg-differs",
        ),
        pytest.param(
            KeySet([_public(RSA_KEY, use="enc")]),
            {"alg": "RS256"},
            KeyNotFoundError,
            "jwks",
            id="use-enc",
        ),
        pytest.param(
            KeySet([_public(RSA_KEY, key_ops=["encrypt"])]),
            {"alg": "RS256"},
            KeyNotFoundError,
            "jwks",
            id="key-ops-no-verify",
        ),
        pytest.param(ALL, {"kid": "rsa-1"}, JWKSError, "jws.header", id="no-alg"),
        pytest.param(ALL, {"alg": "RS256", "kid": 7}, JWKSError, "jws.header", id="kid-not-str"),
    ],
)
def test_select_verification_key_rejects(
    keys: KeySet, header: dict[str, Any], error_class: type[JWKSError], rule: str
) -> None:
    with pytest.raises(JWKSError) as info:
        select_verification_key(keys, header)
    assert_error(info.value, error_class, rule)


@pytest.mark.parametrize(
    ("last_fetch", "now", "min_interval", "expected"),
    [(0, 1000, 60, True), (940, 1000, 60, True), (941, 1000, 60, False), (990, 1000, 5, True)],
)
def test_may_refetch(last_fetch: int, now: int, min_interval: int, expected: bool) -> None:
    assert may_refetch(last_fetch, now, min_interval) is expected


def test_may_refetch_default_interval() -> None:
    assert may_refetch(0, 59) is False
    assert may_refetch(0, 60) is True


# --- verify_jws ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alg",
    [
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
        "Ed25519",
    ],
)
def test_verify_jws_accepts_each_algorithm(alg: str) -> None:
    header, claims = verify_jws(sign(id_token_claims(), alg), ALL, allowed_algs=[alg])
    assert header["alg"] == alg
    assert claims == id_token_claims()


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_verify_jws_accepts_hmac_with_client_secret(alg: str) -> None:
    token = mac(id_token_claims(), CLIENT_SECRET.encode(), alg)
    header, claims = verify_jws(token, ALL, allowed_algs=[alg], client_secret=CLIENT_SECRET)
    assert (header["alg"], claims["sub"]) == (alg, "user-1")


def test_verify_jws_accepts_short_client_secret_without_warning() -> None:
    token = mac(id_token_claims(), b"short", "HS256")
    _, claims = verify_jws(token, ALL, allowed_algs=["HS256"], client_secret="short")
    assert claims["sub"] == "user-1"


def test_verify_jws_accepts_none_only_when_allowed() -> None:
    header, claims = verify_jws(unsigned(id_token_claims()), ALL, allowed_algs=["RS256", "none"])
    assert header == {"alg": "none"}
    assert claims["iss"] == id_token_claims()["iss"]


def test_verify_jws_ignores_unknown_non_critical_header() -> None:
    token = sign(id_token_claims(), header={"x-vendor": 1, "x5t": "abc"})
    header, _ = verify_jws(token, ALL, allowed_algs=["RS256"])
    assert header["x-vendor"] == 1


GOOD = sign(id_token_claims())
_H, _P, _S = GOOD.split(".")
PEM = RSA_KEY.as_bytes(private=False)
JWK_BYTES = json.dumps(public_jwk(RSA_KEY)).encode()
RS_HS = ["RS256", "HS256"]
ARRAY_ALG = b64(b'["alg"]')
ALG_NUMBER = b64(b'{"alg": 5}')
CRIT_UNKNOWN = b64(b'{"alg": "RS256", "kid": "rsa-1", "crit": ["x-ext"], "x-ext": 1}')
ALG_UNKNOWN = b64(b'{"alg": "XY999"}')
TYP_NUMBER = b64(b'{"alg": "RS256", "kid": "rsa-1", "typ": 5}')
NONE_HEADER = b64(b'{"alg": "none"}')
DEEP_HEADER = b64(b'{"alg": "RS256", "x": ' + b"[" * 2000)
B64_FALSE = b64(b'{"alg": "RS256", "b64": false}')

VERIFY_REJECTS = [
    # (id, token, allowed_algs, client_secret, error class, rule)
    ("jwe-5-parts", "a.b.c.d.e", ["RS256"], None, JWKSError, "jws: not a compact JWS"),
    ("two-parts", f"{_H}.{_P}", ["RS256"], None, JWKSError, "jws: not a compact JWS"),
    ("not-a-jwt", "not a jwt", ["RS256"], None, JWKSError, "jws: not a compact JWS"),
    ("empty", "", ["RS256"], None, JWKSError, "jws: not a compact JWS"),
    ("bad-base64-header", f"!!!.{_P}.{_S}", ["RS256"], None, JWKSError, "jws: malformed"),
    ("header-not-json", f"{b64(b'nope')}.{_P}.{_S}", ["RS256"], None, JWKSError, "jws: malformed"),
    ("header-no-alg", f"{b64(b'{}')}.{_P}.{_S}", ["RS256"], None, JWKSError, "jws: malformed"),
    ("header-array", f"{b64(b'[1]')}.{_P}.{_S}", ["RS256"], None, JWKSError, "jws: malformed"),
    (
        "header-array-alg",
        f"{ARRAY_ALG}.{_P}.{_S}",
        ["RS256"],
        None,
        JWKSError,
        "jws.header: not a JSON object",
    ),
    (
        "alg-not-str",
        f"{ALG_NUMBER}.{_P}.{_S}",
        ["RS256"],
        None,
        JWKSError,
        "jws.header: 'alg' is missing",
    ),
    ("bad-base64-payload", f"{_H}.!!!.{_S}", ["RS256"], None, JWKSError, "jws: malformed"),
    (
        "b64-false-no-crit",
        f"{B64_FALSE}.{_P}.{_S}",
        ["RS256"],
        None,
        JWKSError,
        "jws: malformed",
    ),
    ("typ-number", f"{TYP_NUMBER}.{_P}.{_S}", ["RS256"], None, JWKSError, "jws.header: a header"),
    ("alg-not-allowed", GOOD, ["ES256"], None, JWKSError, "jws.alg: 'RS256' is not allowed"),
    (
        "alg-unknown",
        f"{ALG_UNKNOWN}.{_P}.{_S}",
        ["XY999"],
        None,
        JWKSError,
        "jws.alg: 'XY999' is not sup",
    ),
    ("nothing-allowed", GOOD, [], None, JWKSError, "jws.alg"),
    ("alg-none-refused", unsigned(id_token_claims()), ["RS256"], None, JWKSError, "jws.alg"),
    (
        "alg-none-with-signature",
        unsigned(id_token_claims()) + _S,
        ["none"],
        None,
        JWKSError,
        "jws.signature",
    ),
    ("corrupted-signature", corrupt(GOOD), ["RS256"], None, JWKSError, "jws.signature"),
    ("bad-base64-signature", f"{_H}.{_P}.!!!", ["RS256"], None, JWKSError, "jws.signature"),
    ("empty-signature", f"{_H}.{_P}.", ["RS256"], None, JWKSError, "jws.signature"),
    (
        "signed-by-other-key",
        sign(id_token_claims(), key=RSA_KEY_2, header={"kid": "rsa-1"}),
        ["RS256"],
        None,
        JWKSError,
        "jws.signature",
    ),
    (
        "corrupted-es256",
        corrupt(sign(id_token_claims(), "ES256")),
        ["ES256"],
        None,
        JWKSError,
        "jws.signature",
    ),
    (
        "crit",
        sign(id_token_claims(), header={"crit": ["kid"]}),
        ["RS256"],
        None,
        JWKSError,
        "jws.header: 'crit'",
    ),
    ("crit-unknown", f"{CRIT_UNKNOWN}.{_P}.{_S}", ["RS256"], None, JWKSError, "jws.header: 'crit'"),
    (
        "rfc7797-unencoded",
        sign(b"payload", header={"b64": False, "crit": ["b64"]}),
        ["RS256"],
        None,
        JWKSError,
        "jws.header: 'crit'",
    ),
    (
        "jku",
        sign(id_token_claims(), header={"jku": "https://evil.example/jwks"}),
        ["RS256"],
        None,
        JWKSError,
        "jws.header: 'jku'",
    ),
    (
        "x5u",
        sign(id_token_claims(), header={"x5u": "https://evil.example/cert"}),
        ["RS256"],
        None,
        JWKSError,
        "jws.header: 'x5u'",
    ),
    (
        "embedded-jwk",
        sign(id_token_claims(), key=RSA_KEY_2, header={"jwk": public_jwk(RSA_KEY_2)}),
        ["RS256"],
        None,
        JWKSError,
        "jws.header: 'jwk'",
    ),
    (
        "unknown-kid",
        sign(id_token_claims(), header={"kid": "rotated"}),
        ["RS256"],
        None,
        KeyNotFoundError,
        "jwks",
    ),
    (
        "hs256-wrong-secret",
        mac(id_token_claims(), b"another-secret-of-some-length"),
        ["HS256"],
        CLIENT_SECRET,
        JWKSError,
        "jws.signature",
    ),
    (
        "hs256-corrupted",
        corrupt(mac(id_token_claims(), CLIENT_SECRET.encode())),
        ["HS256"],
        CLIENT_SECRET,
        JWKSError,
        "jws.signature",
    ),
    ("hs256-no-secret", mac(id_token_claims(), b"x" * 32), ["HS256"], None, JWKSError, "jws.alg"),
    # Algorithm confusion: HS256 MACed with the OP's public key (PEM or JWK bytes).
    ("confusion-pem", mac(id_token_claims(), PEM), ["RS256"], None, JWKSError, "jws.alg"),
    ("confusion-jwk", mac(id_token_claims(), JWK_BYTES), ["RS256"], None, JWKSError, "jws.alg"),
    (
        "confusion-pem-hs-allowed",
        mac(id_token_claims(), PEM),
        RS_HS,
        CLIENT_SECRET,
        JWKSError,
        "jws.signature",
    ),
    (
        "confusion-no-secret",
        mac(id_token_claims(), PEM, header={"kid": "rsa-1"}),
        RS_HS,
        None,
        JWKSError,
        "jws.alg",
    ),
    (
        "confusion-pem-as-secret",
        mac(id_token_claims(), PEM),
        RS_HS,
        PEM.decode(),
        JWKSError,
        "jws.alg: the client secret cannot key",
    ),
    ("payload-not-json", sign(b"not json"), ["RS256"], None, JWKSError, "jws.payload: not JSON"),
    ("payload-too-deep", sign(b"[" * 5000), ["RS256"], None, JWKSError, "jws.payload: not JSON"),
    (
        "none-payload-too-deep",
        f"{NONE_HEADER}.{b64(b'[' * 5000)}.",
        ["none"],
        None,
        JWKSError,
        "jws.payload: not JSON",
    ),
    (
        "header-too-deep",
        f"{DEEP_HEADER}.{_P}.{_S}",
        ["RS256"],
        None,
        JWKSError,
        "jws: malformed compact JWS",
    ),
    ("payload-array", sign([1, 2]), ["RS256"], None, JWKSError, "jws.payload: not a JSON object"),
    ("payload-string", sign(b'"text"'), ["RS256"], None, JWKSError, "jws.payload: not a JSON obj"),
]


@pytest.mark.parametrize(
    ("token", "allowed", "secret", "error_class", "rule"),
    [pytest.param(*row[1:], id=str(row[0])) for row in VERIFY_REJECTS],
)
def test_verify_jws_rejects(
    token: str, allowed: list[str], secret: str | None, error_class: type[JWKSError], rule: str
) -> None:
    with pytest.raises(JWKSError) as info:
        verify_jws(token, ALL, allowed_algs=allowed, client_secret=secret)
    assert_error(info.value, error_class, rule)


def test_verify_jws_rejects_non_string() -> None:
    with pytest.raises(JWKSError) as info:
        verify_jws(cast(str, b"a.b.c"), ALL, allowed_algs=["RS256"])
    assert_error(info.value, JWKSError, "jws: not a compact JWS")


def test_registry_refuses_algorithms_not_allowed() -> None:
    """Defence in depth: joserfc never runs an algorithm outside the allow-list."""
    with pytest.raises(UnsupportedAlgorithmError):
        _Registry(algorithms=["RS256"]).get_alg("ES256")
    with pytest.raises(UnsupportedAlgorithmError):
        _Registry(algorithms=[]).get_alg("RS256")
    assert _Registry(algorithms=["ES256"]).get_alg("ES256").name == "ES256"
