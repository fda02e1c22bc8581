"""DPoP (RFC 9449): proofs checked as an authorization server (§4.3, §5, §8, §10) and as a
resource server (§7, §9).

A proof is a JWS in the ``DPoP`` header: ``typ: dpop+jwt``, an asymmetric ``alg``, the public
``jwk`` that signs it, and claims ``jti`` (unique per test id), ``htm``, ``htu`` (the endpoint URL
without query or fragment), ``iat`` (within :data:`IAT_WINDOW` seconds of now), ``nonce`` (when
the case demands one: the AS and the RS each have their own) and, at the resource, ``ath`` (the
base64url SHA-256 of the access token). A failed check is an :class:`OPFailure`: at the AS a 400
``invalid_dpop_proof`` (or ``use_dpop_nonce`` with a ``DPoP-Nonce`` header), at the RS a 401 with
a ``WWW-Authenticate`` challenge in the DPoP scheme, spelled as the case says.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry
from joserfc.jws import extract_compact

from .context import Context
from .errors import OPFailure
from .keys import QuietRegistry

DPOP_ALGS = ("ES256", "ES384", "PS256", "RS256", "EdDSA")
IAT_WINDOW = 60
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
DEFAULT_PORTS = {"http": 80, "https": 443}
Server = Literal["as", "rs"]


class ProofRegistry(QuietRegistry):
    """The DPoP algs, with room in the header for an RSA ``jwk`` (joserfc's limit is 512 bytes)."""

    max_header_length = 4096


REGISTRY = ProofRegistry(algorithms=list(DPOP_ALGS))


@dataclass(frozen=True)
class Proof:
    """A verified DPoP proof: the JWK SHA-256 thumbprint of its key (RFC 7638) and its claims."""

    jkt: str
    claims: dict[str, Any]


def access_token_hash(access_token: str) -> str:
    """RFC 9449 §4.2 ``ath``: base64url of the SHA-256 of the ASCII access token."""
    digest = hashlib.sha256(access_token.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def normalize_uri(uri: str) -> str:
    """RFC 9449 §4.3 / RFC 3986 §6.2.2-6.2.3: lower-case scheme and host, no default port."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        return uri
    netloc = host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{scheme}://{netloc}{parts.path or '/'}{query}{fragment}"


def server_nonce(ctx: Context, server: Server, *, renew: bool = False) -> str:
    """The nonce the AS or the RS of this test id hands out (RFC 9449 §8, §9), made once
    (or anew, when the case makes every AS nonce stale at once)."""
    with ctx.registry.lock:
        if renew:
            ctx.state.dpop_nonces.pop(server, None)
        return ctx.state.dpop_nonces.setdefault(server, secrets.token_urlsafe(16))


def failure(ctx: Context, server: Server, error: str, description: str) -> OPFailure:
    """A DPoP failure as the AS (400 JSON) or the RS (401, DPoP challenge) answers it."""
    headers: dict[str, str] = {}
    if error == "use_dpop_nonce":
        renew = server == "as" and ctx.state.case.dpop_nonce_stale
        headers["DPoP-Nonce"] = server_nonce(ctx, server, renew=renew)
    if server == "as":
        return OPFailure(error, description, 400, headers)
    # RFC 9449 §7.1: the challenge names the DPoP scheme and the supported algs.
    scheme = ctx.state.case.dpop_scheme
    challenge = f'{scheme} error="{error}", error_description="{description}"'
    headers["WWW-Authenticate"] = f'{challenge}, algs="{" ".join(DPOP_ALGS)}"'
    return OPFailure(error, description, 401, headers)


def check_proof(
    ctx: Context,
    headers: dict[str, str],
    method: str,
    endpoint: str,
    server: Server,
    *,
    access_token: str | None = None,
) -> Proof | None:
    """Verify the request's DPoP proof per RFC 9449 §4.3; ``None`` when it carries none."""
    value = headers.get("dpop")
    if value is None:
        return None
    header, key = _header_and_key(ctx, server, value)
    alg = str(header["alg"])
    try:
        claims = dict(jwt.decode(value, key, algorithms=[alg], registry=REGISTRY).claims)
    except (JoseError, ValueError) as exc:
        # RFC 9449 §4.3 (6): the JWT signature verifies with the public key in the jwk header.
        raise failure(ctx, server, "invalid_dpop_proof", "signature does not verify") from exc
    _check_claims(ctx, server, claims, method, ctx.url(endpoint))
    if access_token is not None:
        # RFC 9449 §4.3 (12): the ath claim equals the hash of the access token.
        ath, expected = claims.get("ath"), access_token_hash(access_token)
        if not isinstance(ath, str) or not hmac.compare_digest(ath, expected):
            raise failure(ctx, server, "invalid_dpop_proof", "ath is not the access token hash")
    _check_nonce(ctx, server, claims)
    _remember_jti(ctx, server, str(claims["jti"]))
    return Proof(key.thumbprint(), claims)


def _header_and_key(ctx: Context, server: Server, value: str) -> tuple[dict[str, Any], Any]:
    """RFC 9449 §4.3 (2)-(7): a well-formed JWS with typ, an asymmetric alg and a public jwk."""
    try:
        header = dict(extract_compact(value.encode("ascii"), registry=REGISTRY).protected)
    except (JoseError, ValueError, UnicodeError) as exc:
        raise failure(ctx, server, "invalid_dpop_proof", "not a well-formed JWT") from exc
    # RFC 9449 §4.3 (4): the typ JOSE Header Parameter has the value dpop+jwt.
    if header.get("typ") != "dpop+jwt":
        raise failure(ctx, server, "invalid_dpop_proof", "typ must be dpop+jwt")
    # RFC 9449 §4.3 (5): alg is an asymmetric digital signature algorithm, is not none.
    if header.get("alg") not in DPOP_ALGS:
        raise failure(ctx, server, "invalid_dpop_proof", "alg must be an asymmetric one")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise failure(ctx, server, "invalid_dpop_proof", "jwk header missing")
    # RFC 9449 §4.3 (7): the jwk JOSE Header Parameter does not contain a private key.
    if PRIVATE_MEMBERS & set(jwk):
        raise failure(ctx, server, "invalid_dpop_proof", "jwk must be a public key")
    try:
        key = JWKRegistry.import_key(jwk)
    except (JoseError, ValueError, TypeError) as exc:
        raise failure(ctx, server, "invalid_dpop_proof", "jwk is not a usable key") from exc
    return header, key


def _check_claims(
    ctx: Context, server: Server, claims: dict[str, Any], method: str, url: str
) -> None:
    """RFC 9449 §4.3 (3), (8), (9), (11): jti, htm, htu and a recent iat."""
    for name, kind in (("jti", str), ("htm", str), ("htu", str), ("iat", int | float)):
        # RFC 9449 §4.3 (3): all required claims per Section 4.2 are contained in the JWT.
        if not isinstance(claims.get(name), kind):
            raise failure(ctx, server, "invalid_dpop_proof", f"{name} claim missing")
    # RFC 9449 §4.3 (8): the htm claim matches the HTTP method of the current request.
    if claims["htm"] != method:
        raise failure(ctx, server, "invalid_dpop_proof", "htm is not the request method")
    # RFC 9449 §4.3 (9): htu matches the request URI, ignoring query and fragment parts.
    if normalize_uri(claims["htu"]) != normalize_uri(url):
        raise failure(ctx, server, "invalid_dpop_proof", "htu is not the endpoint URL")
    # RFC 9449 §4.3 (11): the creation time is within an acceptable window.
    if abs(claims["iat"] - time.time()) > IAT_WINDOW:
        raise failure(ctx, server, "invalid_dpop_proof", "iat is not recent")


def _check_nonce(ctx: Context, server: Server, claims: dict[str, Any]) -> None:
    """RFC 9449 §4.3 (10): when the server provided a nonce, the nonce claim matches it."""
    if not ctx.state.case.dpop_nonce:
        return
    nonce = claims.get("nonce")
    stale = server == "as" and ctx.state.case.dpop_nonce_stale
    if (
        stale
        or not isinstance(nonce, str)
        or not hmac.compare_digest(nonce, server_nonce(ctx, server))
    ):
        raise failure(ctx, server, "use_dpop_nonce", "a DPoP nonce from this server is required")


def _remember_jti(ctx: Context, server: Server, jti: str) -> None:
    """RFC 9449 §11.1: a proof is used once (jti unique per test id)."""
    with ctx.registry.lock:
        if jti in ctx.state.dpop_jtis:
            raise failure(ctx, server, "invalid_dpop_proof", "jti already used")
        ctx.state.dpop_jtis.add(jti)
