"""Test helper: mint OP keys, JWK sets and JWTs (good and deliberately broken) with joserfc.

The broken variants reproduce the OpenID certification suite's edits: append ``1`` to a
claim, drop a claim, XOR every signature byte with 0x5A, sign with ``alg: none``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from collections.abc import Mapping
from typing import Any

from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, KeySet, OKPKey, RSAKey
from joserfc.jws import JWSRegistry, serialize_compact

from oidc_rp.core.jwks import parse_jwks
from oidc_rp.core.messages import HttpResponse

ISSUER = "https://op.example.com"
CLIENT_ID = "client-123"
CLIENT_SECRET = "a-client-secret-of-sufficient-length"
NOW = 1_700_000_000

RSA_KEY = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
RSA_KEY_2 = RSAKey.generate_key(2048, parameters={"kid": "rsa-2"})
EC256_KEY = ECKey.generate_key("P-256", parameters={"kid": "ec-256"})
EC384_KEY = ECKey.generate_key("P-384", parameters={"kid": "ec-384"})
EC521_KEY = ECKey.generate_key("P-521", parameters={"kid": "ec-521"})
ED_KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1"})
ALL_KEYS: tuple[Key, ...] = (RSA_KEY, EC256_KEY, EC384_KEY, EC521_KEY, ED_KEY)

#: Which private key signs each algorithm in the tests.
KEY_FOR_ALG: dict[str, Key] = {
    "RS256": RSA_KEY,
    "RS384": RSA_KEY,
    "RS512": RSA_KEY,
    "PS256": RSA_KEY,
    "PS384": RSA_KEY,
    "PS512": RSA_KEY,
    "ES256": EC256_KEY,
    "ES384": EC384_KEY,
    "ES512": EC521_KEY,
    "EdDSA": ED_KEY,
    "Ed25519": ED_KEY,
}


def b64(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: Key, **extra: Any) -> dict[str, Any]:
    """The public JWK of ``key`` as a dict, with extra members."""
    return {**key.as_dict(private=False), **extra}


def jwks_response(entries: list[Any], status: int = 200) -> HttpResponse:
    """An HTTP response carrying ``{"keys": entries}``."""
    body = json.dumps({"keys": entries}).encode()
    return HttpResponse(status, {"content-type": "application/json"}, body)


def key_set(*keys: Key) -> KeySet:
    """The OP's public JWK set for ``keys`` (default: every test key), parsed by our code."""
    return parse_jwks(jwks_response([public_jwk(k) for k in keys or ALL_KEYS]))


def id_token_claims(**changes: Any) -> dict[str, Any]:
    """A valid ID token claim set; a change to ``None`` removes that claim."""
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": CLIENT_ID,
        "exp": NOW + 300,
        "iat": NOW,
        "nonce": "n-0S6_WzA2Mj",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def sign(
    payload: Mapping[str, Any] | list[Any] | bytes,
    alg: str = "RS256",
    *,
    key: Key | None = None,
    header: Mapping[str, Any] | None = None,
    kid: bool = True,
) -> str:
    """Sign ``payload`` (a claim set, any JSON, or raw bytes) as a compact JWS."""
    key = key or KEY_FOR_ALG[alg]
    protected: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if kid:
        protected["kid"] = key.kid
    protected.update(header or {})
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    registry = JWSRegistry(algorithms=[alg], strict_check_header=False)
    registry.max_header_length = 8192
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return serialize_compact(protected, body, key, registry=registry)


def unsigned(payload: Mapping[str, Any], header: Mapping[str, Any] | None = None) -> str:
    """An Unsecured JWS (``alg: none``, empty signature, RFC 7518 §3.6)."""
    protected = {"alg": "none", **(header or {})}
    return f"{b64(json.dumps(protected).encode())}.{b64(json.dumps(payload).encode())}."


def mac(
    payload: Mapping[str, Any],
    secret: bytes,
    alg: str = "HS256",
    header: Mapping[str, Any] | None = None,
) -> str:
    """An HMAC-signed JWS with any key bytes (also the attacker's: a public key's PEM)."""
    protected = {"alg": alg, "typ": "JWT", **(header or {})}
    signing_input = f"{b64(json.dumps(protected).encode())}.{b64(json.dumps(payload).encode())}"
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signature = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def corrupt(token: str) -> str:
    """XOR every signature byte with 0x5A (the certification suite's invalid-sig edit)."""
    head, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    return f"{head}.{payload}.{b64(bytes(b ^ 0x5A for b in raw))}"


def left_hash(value: str, name: str = "sha256") -> str:
    """The at_hash/c_hash of ``value``: left-most half of the hash, base64url (OIDC §3.3.2.11)."""
    digest = hashlib.new(name, value.encode()).digest()
    return b64(digest[: len(digest) // 2])


def assert_error(error: BaseException, error_class: type[Exception], rule: str) -> None:
    """``error`` is exactly ``error_class``, with that class's code, and its message starts
    with ``rule`` (e.g. ``id_token.nonce: does not match``)."""
    assert type(error) is error_class, f"{type(error).__name__}: {error}"
    assert getattr(error, "code", None) == getattr(error_class, "code", None)
    assert str(error).startswith(rule), str(error)
