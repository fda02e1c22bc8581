"""core/jwe.py: encrypted ID tokens and UserInfo responses (OIDC Core §10.2, RFC 7516)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from joserfc import jwe
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, OctKey, RSAKey
from joserfc.registry import HeaderParameter

from oidc_rp.core.jwe import (
    JWEDecryption,
    decrypt_jwe,
    derive_symmetric_key,
    is_compact_jwe,
    parse_json_claims,
    unwrap_nested_jwt,
)
from oidc_rp.errors import IDTokenError, ProtocolError, UserInfoError

from .tokens import CLIENT_ID, CLIENT_SECRET, ISSUER, assert_error, b64, id_token_claims, sign

RP_RSA = RSAKey.generate_key(2048, parameters={"kid": "rp-enc-rsa"}, private=True)
OTHER_RSA = RSAKey.generate_key(2048, parameters={"kid": "rp-enc-rsa"}, private=True)
RP_EC = ECKey.generate_key("P-256", parameters={"kid": "rp-enc-ec"}, private=True)
SIGNED = sign(id_token_claims())
#: What node-oidc-provider puts in the header of an encrypted ID token.
NODE_HEADER = {"cty": "JWT", "iss": ISSUER, "aud": CLIENT_ID}


def _secret_key(secret: str, bits: int) -> OctKey:
    """OIDC Core §10.2 written out again here, independently of the code under test."""
    digest = {256: hashlib.sha256, 384: hashlib.sha384, 512: hashlib.sha512}
    size = 256 if bits <= 256 else 384 if bits <= 384 else 512
    return OctKey.import_key(digest[size](secret.encode("utf-8")).digest()[: bits // 8])


def _encrypt(
    plaintext: str | bytes,
    alg: str,
    enc: str,
    key: Key,
    header: dict[str, Any] | None = None,
) -> str:
    registry = jwe.JWERegistry(
        # An extension header the test OP understands, to mint a `crit` JWE.
        header_registry={"x-ext": HeaderParameter("extension", "int")},
        algorithms=[alg, enc, "DEF"],
        strict_check_header=False,
    )
    protected = {"alg": alg, "enc": enc, **(header or {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # RSA1_5, minted on purpose
        return jwe.encrypt_compact(protected, plaintext, key, registry=registry)


def _public(key: RSAKey | ECKey) -> Key:
    return type(key).import_key(key.as_dict(private=False))


def _decryption(alg: str, enc: str, secret: str = CLIENT_SECRET) -> JWEDecryption:
    key = RP_RSA if alg.startswith("RSA") else RP_EC
    return JWEDecryption.from_settings(alg, enc, private_key=key, client_secret=secret)


GOOD = [
    ("RSA-OAEP", "A128CBC-HS256", _public(RP_RSA)),
    ("RSA-OAEP-256", "A128CBC-HS256", _public(RP_RSA)),
    ("RSA-OAEP-256", "A256GCM", _public(RP_RSA)),
    ("ECDH-ES", "A128CBC-HS256", _public(RP_EC)),
    ("ECDH-ES", "A256GCM", _public(RP_EC)),
    ("ECDH-ES+A128KW", "A128GCM", _public(RP_EC)),
    ("ECDH-ES+A256KW", "A256CBC-HS512", _public(RP_EC)),
    ("A128KW", "A128CBC-HS256", _secret_key(CLIENT_SECRET, 128)),
    ("A256KW", "A256GCM", _secret_key(CLIENT_SECRET, 256)),
    ("A192GCMKW", "A128GCM", _secret_key(CLIENT_SECRET, 192)),
    ("dir", "A128CBC-HS256", _secret_key(CLIENT_SECRET, 256)),
    ("dir", "A128GCM", _secret_key(CLIENT_SECRET, 128)),
    ("dir", "A192CBC-HS384", _secret_key(CLIENT_SECRET, 384)),
    ("dir", "A256CBC-HS512", _secret_key(CLIENT_SECRET, 512)),
]


@pytest.mark.parametrize(("alg", "enc", "key"), GOOD, ids=[f"{a}/{e}" for a, e, _ in GOOD])
def test_decrypts_the_nested_jwt(alg: str, enc: str, key: Key) -> None:
    token = _encrypt(SIGNED, alg, enc, key, NODE_HEADER)
    assert is_compact_jwe(token)
    decryption = _decryption(alg, enc)
    assert decrypt_jwe(token, decryption, prefix="id_token", error=IDTokenError) == SIGNED
    unwrapped = unwrap_nested_jwt(token, decryption, prefix="id_token", error=IDTokenError)
    assert unwrapped == SIGNED


def _tamper(part: int) -> Callable[[str], str]:
    def change(token: str) -> str:
        parts = token.split(".")
        segment = parts[part]
        parts[part] = ("B" if segment[0] == "A" else "A") + segment[1:]
        return ".".join(parts)

    return change


def _reheader(token: str, **members: Any) -> str:
    """The same JWE under an altered protected header (the header is the AAD)."""
    head, rest = token.split(".", 1)
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return b64(json.dumps({**header, **members}).encode()) + "." + rest


GOOD_TOKEN = _encrypt(SIGNED, "RSA-OAEP-256", "A128CBC-HS256", _public(RP_RSA), NODE_HEADER)
PAYLOAD = "id_token.jwe.payload"
FAILED = "id_token.jwe: decryption failed"
REJECTS: list[tuple[str, str, str, str]] = [
    # (id, token, configured alg, rule)
    ("wrong-key", _encrypt(SIGNED, "RSA-OAEP-256", "A128CBC-HS256", _public(OTHER_RSA)), "",
     FAILED),
    ("wrong-secret", _encrypt(SIGNED, "A128KW", "A128CBC-HS256", _secret_key("x" * 32, 128)),
     "A128KW", FAILED),
    ("encrypted-key", _tamper(1)(GOOD_TOKEN), "", FAILED),
    ("iv", _tamper(2)(GOOD_TOKEN), "", FAILED),
    ("ciphertext", _tamper(3)(GOOD_TOKEN), "", FAILED),
    ("tag", _tamper(4)(GOOD_TOKEN), "", FAILED),
    ("header-altered", _reheader(GOOD_TOKEN, aud="someone-else"), "", FAILED),
    ("other-alg", _encrypt(SIGNED, "RSA-OAEP", "A128CBC-HS256", _public(RP_RSA)), "",
     "id_token.jwe.alg: 'RSA-OAEP' is not the negotiated 'RSA-OAEP-256'"),
    ("other-enc", _encrypt(SIGNED, "RSA-OAEP-256", "A256GCM", _public(RP_RSA)), "",
     "id_token.jwe.enc: 'A256GCM' is not the negotiated 'A128CBC-HS256'"),
    ("RSA1_5", _encrypt(SIGNED, "RSA1_5", "A128CBC-HS256", _public(RP_RSA)), "",
     "id_token.jwe.alg: RSA1_5 is insecure"),
    ("symmetric-instead", _encrypt(SIGNED, "A128KW", "A128CBC-HS256", _secret_key(CLIENT_SECRET,
     128)), "", "id_token.jwe.alg: 'A128KW' is not the negotiated"),
    ("zip", _encrypt(SIGNED, "RSA-OAEP-256", "A128CBC-HS256", _public(RP_RSA), {"zip": "DEF"}),
     "", "id_token.jwe.zip: compressed content is refused"),
    ("unknown-crit", _encrypt(SIGNED, "RSA-OAEP-256", "A128CBC-HS256", _public(RP_RSA),
     {"crit": ["x-ext"], "x-ext": 1}), "", FAILED),
    ("not-utf8", _encrypt(b"\xff\xfe", "RSA-OAEP-256", "A128CBC-HS256", _public(RP_RSA)), "",
     f"{PAYLOAD}: not UTF-8"),
    ("garbage", "a.b.c.d.e", "", "id_token.jwe.header: not base64url-encoded JSON"),
    ("header-array", f"{b64(b'[]')}.b.c.d.e", "", "id_token.jwe.header: not a JSON object"),
    ("header-too-deep", f"{b64(b'[' * 100_000)}.b.c.d.e", "",
     "id_token.jwe.header: not base64url-encoded JSON"),
    ("no-alg", f"{b64(b'{}')}.b.c.d.e", "", "id_token.jwe.alg: 'None' is not the negotiated"),
    ("bad-segments", f"{b64(json.dumps({'alg': 'RSA-OAEP-256', 'enc': 'A128CBC-HS256'}).encode())}"
     ".!!.c.d.e", "", FAILED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("token", "alg", "rule"), [r[1:] for r in REJECTS], ids=[r[0] for r in REJECTS]
)
def test_rejects(token: str, alg: str, rule: str) -> None:
    decryption = _decryption(alg or "RSA-OAEP-256", "A128CBC-HS256")
    with pytest.raises(IDTokenError) as info:
        decrypt_jwe(token, decryption, prefix="id_token", error=IDTokenError)
    assert_error(info.value, IDTokenError, rule)


def test_errors_name_no_plaintext_and_no_key() -> None:
    secret_claims = sign(id_token_claims(sub="very-secret-subject"))
    token = _encrypt(secret_claims, "RSA-OAEP-256", "A128CBC-HS256", _public(OTHER_RSA))
    with pytest.raises(IDTokenError) as info:
        decrypt_jwe(token, _decryption("RSA-OAEP-256", "A128CBC-HS256"), prefix="id_token",
                    error=IDTokenError)  # fmt: skip
    assert "very-secret-subject" not in str(info.value)
    assert CLIENT_SECRET not in str(info.value) and token not in str(info.value)


@pytest.mark.parametrize(
    ("decryption", "secret"),
    [
        pytest.param(
            JWEDecryption("RSA-OAEP-256", "A128CBC-HS256", RP_RSA),
            str(RP_RSA.as_dict(private=True)["d"]),
            id="rsa-private-key",
        ),
        pytest.param(
            _decryption("A128KW", "A128CBC-HS256"),
            str(_decryption("A128KW", "A128CBC-HS256").key.as_dict(private=True)["k"]),
            id="derived-secret-key",
        ),
    ],
)
def test_repr_shows_no_key(decryption: JWEDecryption, secret: str) -> None:
    text = repr(decryption)
    assert secret not in text
    # joserfc's own key repr hides the private part today; the key stays out regardless.
    assert "key=" not in text and repr(decryption.key) not in text
    assert "A128CBC-HS256" in text


UNWRAP: list[tuple[str, str, JWEDecryption | None, type[ProtocolError], str, str]] = [
    # (id, token, decryption, error class, prefix, rule)
    ("plain-jws-when-encryption-expected", SIGNED, _decryption("RSA-OAEP-256", "A128CBC-HS256"),
     IDTokenError, "id_token", "id_token.jwe: not encrypted, although encryption was negotiated"),
    ("jwe-when-no-encryption-configured", GOOD_TOKEN, None, IDTokenError, "id_token",
     "id_token.jwe: encrypted, but no encryption is configured"),
    ("userinfo-plain-jws", SIGNED, _decryption("A128KW", "A128CBC-HS256"), UserInfoError,
     "userinfo", "userinfo.jwe: not encrypted"),
    ("userinfo-wrong-key", _encrypt(SIGNED, "RSA-OAEP-256", "A128CBC-HS256", _public(OTHER_RSA)),
     _decryption("RSA-OAEP-256", "A128CBC-HS256"), UserInfoError, "userinfo",
     "userinfo.jwe: decryption failed"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("token", "decryption", "error", "prefix", "rule"),
    [r[1:] for r in UNWRAP],
    ids=[r[0] for r in UNWRAP],
)
def test_unwrap_refuses_what_was_not_negotiated(
    token: str,
    decryption: JWEDecryption | None,
    error: type[ProtocolError],
    prefix: str,
    rule: str,
) -> None:
    with pytest.raises(error) as info:
        unwrap_nested_jwt(token, decryption, prefix=prefix, error=error)
    assert_error(info.value, error, rule)


def test_unwrap_without_encryption_returns_the_jws_unchanged() -> None:
    assert unwrap_nested_jwt(SIGNED, None, prefix="id_token", error=IDTokenError) == SIGNED


# OIDC Core §10.2 key derivation ---------------------------------------------------------

DERIVATIONS = [
    # (alg, enc, hash the spec names, key bits)
    ("A128KW", "A256GCM", hashlib.sha256, 128),
    ("A192KW", "A128GCM", hashlib.sha256, 192),
    ("A256KW", "A128CBC-HS256", hashlib.sha256, 256),
    ("A128GCMKW", "A128GCM", hashlib.sha256, 128),
    ("A256GCMKW", "A128GCM", hashlib.sha256, 256),
    ("dir", "A128GCM", hashlib.sha256, 128),
    ("dir", "A192GCM", hashlib.sha256, 192),
    ("dir", "A256GCM", hashlib.sha256, 256),
    ("dir", "A128CBC-HS256", hashlib.sha256, 256),
    ("dir", "A192CBC-HS384", hashlib.sha384, 384),
    ("dir", "A256CBC-HS512", hashlib.sha512, 512),
]


@pytest.mark.parametrize("secret", ["rp-secret", "sécret-ünïcode-✓"])
@pytest.mark.parametrize(("alg", "enc", "digest", "bits"), DERIVATIONS)
def test_symmetric_key_is_the_left_truncated_sha2_of_the_secret(
    secret: str, alg: str, enc: str, digest: Callable[[bytes], Any], bits: int
) -> None:
    expected = digest(secret.encode("utf-8")).digest()[: bits // 8]
    assert derive_symmetric_key(secret, alg, enc).raw_value == expected


def test_symmetric_key_known_vector() -> None:
    # SHA-256("secret") = 2bb80d53...; A128KW takes its first 16 octets.
    key = derive_symmetric_key("secret", "A128KW", "A128CBC-HS256")
    assert key.raw_value.hex() == "2bb80d537b1da3e38bd30361aa855686"


CONFIG_ERRORS = [
    # (id, call, message)
    ("RSA1_5", lambda: _decryption("RSA1_5", "A128CBC-HS256"), "'RSA1_5' is refused"),
    ("PBES2", lambda: _decryption("PBES2-HS256+A128KW", "A128CBC-HS256"), "'PBES2-HS256+A128KW'"),
    ("unknown-alg", lambda: _decryption("ROT13", "A128CBC-HS256"), "unsupported key management"),
    ("unknown-enc", lambda: _decryption("RSA-OAEP", "A128CBC"), "unsupported content encryption"),
    ("no-secret", lambda: JWEDecryption.from_settings("A128KW", "A128GCM"), "'A128KW' needs a"),
    ("no-key", lambda: JWEDecryption.from_settings("RSA-OAEP", "A128GCM"), "'RSA-OAEP' needs"),
    ("ec-for-rsa", lambda: JWEDecryption("RSA-OAEP", "A128GCM", RP_EC), "the key does not fit"),
    ("rsa-for-ecdh", lambda: JWEDecryption("ECDH-ES", "A128GCM", RP_RSA), "the key does not fit"),
    ("public-rsa", lambda: JWEDecryption("RSA-OAEP", "A128GCM", _public(RP_RSA)), "the key does"),
    ("oct-for-rsa", lambda: JWEDecryption("RSA-OAEP", "A128GCM", _secret_key("s", 128)), "the key"),
    ("rsa-for-kw", lambda: JWEDecryption("A128KW", "A128GCM", RP_RSA), "the key does not fit"),
    ("derive-asymmetric", lambda: derive_symmetric_key("s", "RSA-OAEP", "A128GCM"), "'RSA-OAEP'"),
]


@pytest.mark.parametrize(("call", "message"), [c[1:] for c in CONFIG_ERRORS],
                         ids=[c[0] for c in CONFIG_ERRORS])  # fmt: skip
def test_configuration_mistakes_are_value_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        call()


JSON_CLAIMS = [
    ('{"sub": "u"}', None),
    ("not json", "userinfo.jwe.payload: neither a signed JWT nor a JSON object"),
    ("[1]", "userinfo.jwe.payload: not a JSON object"),
    ("[" * 100_000, "userinfo.jwe.payload: neither a signed JWT nor a JSON object"),
]


@pytest.mark.parametrize(("plaintext", "rule"), JSON_CLAIMS)
def test_parse_json_claims(plaintext: str, rule: str | None) -> None:
    if rule is None:
        assert parse_json_claims(plaintext, prefix="userinfo", error=UserInfoError) == {"sub": "u"}
        return
    with pytest.raises(UserInfoError) as info:
        parse_json_claims(plaintext, prefix="userinfo", error=UserInfoError)
    assert_error(info.value, UserInfoError, rule)
