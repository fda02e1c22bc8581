"""Client authentication at the OP's back-channel endpoints.

RFC 6749 §2.3 (client_secret_basic, client_secret_post), OpenID Connect Core §9
(client_secret_jwt, private_key_jwt, none) and RFC 7523 §2.2, §3 (JWT client
assertions). :func:`client_auth_parameters` returns the headers and form fields that
a token, revocation, introspection or PAR request adds.
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, OctKey, OKPKey, RSAKey
from joserfc.jws import serialize_compact

from oidc_rp.core.jwa import EC_ALG_FOR_CURVE

__all__ = [
    "CLIENT_ASSERTION_TYPE",
    "METHODS",
    "ClientAuthentication",
    "basic_authorization",
    "client_auth_parameters",
    "default_signing_alg",
    "secret_key",
    "sign_jwt",
]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
)
#: Lifetime of a client assertion, in seconds.
ASSERTION_LIFETIME = 60


@dataclass(frozen=True)
class ClientAuthentication:
    """How this client authenticates to the OP (OIDC Core §9, ``token_endpoint_auth_method``).

    ``client_secret`` is needed by the ``client_secret_*`` methods, ``private_key`` (a
    joserfc key with its private part) by ``private_key_jwt``. ``signing_alg`` picks the
    JWS algorithm of the assertion; by default HS256, or the one that fits the key.
    """

    method: str
    client_id: str
    client_secret: str | None = None
    private_key: Key | None = None
    signing_alg: str | None = None

    def __repr__(self) -> str:
        # Never show the secret or the key.
        return f"ClientAuthentication(method={self.method!r}, client_id={self.client_id!r})"


def client_auth_parameters(
    auth: ClientAuthentication, *, audience: str, now: int, jti: str
) -> tuple[dict[str, str], dict[str, str]]:
    """The ``(headers, form fields)`` that authenticate ``auth`` to an endpoint.

    ``audience`` is the ``aud`` of a JWT assertion (the token endpoint URL, or the issuer
    for PAR, RFC 9126 §2); ``now`` and ``jti`` fill its ``iat``/``exp`` and ``jti``.
    Raises ValueError when the method is unknown or lacks its secret or key.
    """
    if auth.method not in METHODS:
        raise ValueError(f"client_auth.method: unknown method {auth.method!r}")
    if auth.method == "none":
        return {}, {"client_id": auth.client_id}
    if auth.method == "private_key_jwt":
        return {}, _assertion_form(_private_key_assertion(auth, audience, now, jti))
    secret = auth.client_secret
    if not secret:
        raise ValueError(f"client_auth.client_secret: required by {auth.method}")
    if auth.method == "client_secret_basic":
        return {"authorization": basic_authorization(auth.client_id, secret)}, {}
    if auth.method == "client_secret_post":
        return {}, {"client_id": auth.client_id, "client_secret": secret}
    alg = auth.signing_alg or "HS256"
    if not alg.startswith("HS"):
        raise ValueError(f"client_auth.signing_alg: client_secret_jwt needs HS*, not {alg!r}")
    claims = _assertion_claims(auth.client_id, audience, now, jti)
    return {}, _assertion_form(sign_jwt(claims, secret_key(secret), alg))


def basic_authorization(client_id: str, client_secret: str) -> str:
    """``Basic base64(urlencode(client_id) ":" urlencode(client_secret))`` (RFC 6749 §2.3.1).

    RFC 6749 §2.3.1: the id and secret are "encoded using the
    application/x-www-form-urlencoded encoding algorithm" before Basic encoding.
    """
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode("ascii")).decode("ascii")


def secret_key(client_secret: str) -> OctKey:
    """The client secret as an HMAC key (OIDC Core §10.1: its UTF-8 octets are the key)."""
    with warnings.catch_warnings():
        # joserfc warns about secrets under 112 bits; the OP chose the secret, not us.
        warnings.simplefilter("ignore", SecurityWarning)
        return OctKey.import_key(client_secret.encode("utf-8"))


def default_signing_alg(key: Key) -> str:
    """The JWS algorithm that fits ``key``: RSA->RS256, EC by curve, OKP by curve, oct->HS256.

    OKP keys get the fully specified names of RFC 9864 §2, ``Ed25519`` or ``Ed448``
    (the polymorphic ``EdDSA`` is deprecated there; ask for it through ``signing_alg``).
    """
    if isinstance(key, RSAKey):
        return "RS256"
    if isinstance(key, ECKey):
        alg = EC_ALG_FOR_CURVE.get(key.curve_name)
        if alg is None:
            raise ValueError(f"client_auth.private_key: unsupported curve {key.curve_name!r}")
        return alg
    if isinstance(key, OKPKey):
        if key.curve_name not in ("Ed25519", "Ed448"):
            raise ValueError(f"client_auth.private_key: {key.curve_name!r} is not a signing curve")
        return key.curve_name
    if isinstance(key, OctKey):
        return "HS256"
    raise ValueError(f"client_auth.private_key: unsupported key type {key.key_type!r}")


def sign_jwt(
    claims: Mapping[str, Any],
    key: Key | None,
    alg: str,
    header: Mapping[str, Any] | None = None,
) -> str:
    """A compact JWS of ``claims`` signed with ``key`` and ``alg`` (joserfc does the JOSE).

    ``alg="none"`` gives an unsigned JWT and needs ``key=None``; any other alg needs a key.
    The header gets ``kid`` from the key when it has one.
    """
    full_header: dict[str, Any] = {"typ": "JWT", "alg": alg, **(header or {})}
    if alg == "none":
        if key is not None:
            raise ValueError("jwt.alg: 'none' takes no key")
    elif key is None:
        raise ValueError(f"jwt.key: a key is required to sign with {alg!r}")
    elif key.kid:
        full_header.setdefault("kid", key.kid)
    with warnings.catch_warnings():
        # joserfc warns about "none" and "EdDSA" (deprecated by RFC 9864); both are
        # used here on purpose, because the configuration asks for them.
        warnings.simplefilter("ignore", SecurityWarning)
        return serialize_compact(full_header, _compact_json(claims), key, algorithms=[alg])


def _compact_json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(value), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _private_key_assertion(auth: ClientAuthentication, audience: str, now: int, jti: str) -> str:
    key = auth.private_key
    if key is None:
        raise ValueError("client_auth.private_key: required by private_key_jwt")
    if isinstance(key, OctKey) or not key.is_private:
        raise ValueError("client_auth.private_key: private_key_jwt needs an asymmetric private key")
    alg = auth.signing_alg or default_signing_alg(key)
    return sign_jwt(_assertion_claims(auth.client_id, audience, now, jti), key, alg)


def _assertion_claims(client_id: str, audience: str, now: int, jti: str) -> dict[str, Any]:
    # RFC 7523 §3 / OIDC Core §9: iss and sub MUST be the client_id; aud the endpoint.
    return {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": jti,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
    }


def _assertion_form(assertion: str) -> dict[str, str]:
    return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion}
