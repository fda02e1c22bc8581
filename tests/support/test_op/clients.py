"""Client registration (RFC 7591 §2-3) and client authentication (RFC 6749 §2.3, OIDC Core §9).

Clients are registered statically by the test (``TestOP.register_client``) or dynamically at the
registration endpoint; both go through :func:`register`. Authentication accepts exactly the
method the client registered (or the case forces), verifying JWT assertions with joserfc.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from typing import Any
from urllib.parse import unquote_plus

import httpx2
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey

from .cases import Case
from .edits import unverified_header
from .encryption import check_encryption_metadata
from .errors import OPFailure
from .keys import ALG_KTY, registry_for

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
)
ASYMMETRIC_ALGS = ("RS256", "PS256", "ES256", "EdDSA", "Ed25519")


def register(case: Case, metadata: dict[str, Any]) -> dict[str, Any]:
    """Validate client metadata and return the registration response (RFC 7591 §3.2.1)."""
    uris = metadata.get("redirect_uris")
    # RFC 7591 §2: redirect_uris is required for redirect-based flows.
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise OPFailure("invalid_redirect_uri", "redirect_uris must be a non-empty list of URIs")
    for uri in uris:
        if "#" in uri:
            raise OPFailure("invalid_redirect_uri", "a redirect_uri must not have a fragment")
    method = metadata.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise OPFailure(
            "invalid_client_metadata", f"unsupported token_endpoint_auth_method {method}"
        )
    client = dict(metadata)
    client.setdefault("token_endpoint_auth_method", method)
    client.setdefault("response_types", ["code"])
    client.setdefault("grant_types", ["authorization_code", "refresh_token"])
    client.setdefault("id_token_signed_response_alg", "RS256")
    _apply_case_metadata(case, client)
    check_encryption_metadata(client)
    _check_case_encryption(case, client)
    client["client_id"] = metadata.get("client_id") or "client-" + secrets.token_urlsafe(9)
    if client["token_endpoint_auth_method"] != "none" or case.id_token_alg == "HS256":
        client["client_secret"] = metadata.get("client_secret") or secrets.token_urlsafe(32)
        client["client_secret_expires_at"] = 0
    client["client_id_issued_at"] = int(time.time())
    return client


def _apply_case_metadata(case: Case, client: dict[str, Any]) -> None:
    """Values the case insists on, echoed back so the RP can see them (RFC 7591 §3.2.1)."""
    if case.id_token_alg:
        client["id_token_signed_response_alg"] = case.id_token_alg
    if case.userinfo_alg:
        client["userinfo_signed_response_alg"] = case.userinfo_alg
    if case.token_auth_method:
        client["token_endpoint_auth_method"] = case.token_auth_method
    if case.request_object == "request_uri_none":
        client["request_object_signing_alg"] = "none"
    elif case.request_object in ("request_uri_rs256", "request_rs256"):
        client["request_object_signing_alg"] = "RS256"


def _check_case_encryption(case: Case, client: dict[str, Any]) -> None:
    """The encryption cases need the client to have registered their key management alg."""
    for kind, alg in (
        ("id_token", case.id_token_encryption),
        ("userinfo", case.userinfo_encryption),
    ):
        if alg and client.get(f"{kind}_encrypted_response_alg") != alg:
            raise OPFailure(
                "invalid_client_metadata", f"this test needs {kind}_encrypted_response_alg={alg}"
            )


async def client_keys(client: dict[str, Any]) -> KeySet:
    """The client's public keys: its ``jwks`` value, else a fetch of its ``jwks_uri``."""
    value = client.get("jwks")
    if value is None and client.get("jwks_uri"):
        async with httpx2.AsyncClient(timeout=5.0) as http:
            response = await http.get(client["jwks_uri"])
        if response.status_code != 200:
            raise OPFailure("invalid_client", f"jwks_uri answered {response.status_code}", 401)
        value = response.json()
    if not isinstance(value, dict):
        raise OPFailure("invalid_client", "the client registered no jwks or jwks_uri", 401)
    return KeySet.import_key_set(value)  # type: ignore[arg-type]


def verify_client_jwt(
    token: str, keys: KeySet | None, secret: str | None, algs: tuple[str, ...]
) -> dict[str, Any]:
    """Verify a JWT from the client with its keys (or its secret for HS*); return the claims."""
    try:
        alg = str(unverified_header(token).get("alg"))
    except ValueError as exc:
        raise OPFailure("invalid_request", "not a JWT") from exc
    if alg not in algs:
        raise OPFailure("invalid_request", f"JWT alg {alg} not allowed here")
    if alg.startswith("HS"):
        if not secret:
            raise OPFailure("invalid_client", "HS* JWT but the client has no secret", 401)
        key: Any = OctKey.import_key(secret)
    elif alg == "none":
        key = OctKey.import_key(secrets.token_bytes(32))
    else:
        if keys is None:
            raise OPFailure("invalid_client", "no client keys to verify the JWT", 401)
        key = _pick_client_key(keys, token, alg)
    try:
        return dict(jwt.decode(token, key, algorithms=[alg], registry=registry_for(alg)).claims)
    except (JoseError, ValueError) as exc:
        raise OPFailure("invalid_client", f"JWT signature does not verify ({alg})", 401) from exc


def _pick_client_key(keys: KeySet, token: str, alg: str) -> Any:
    kid = unverified_header(token).get("kid")
    matches = [k for k in keys if k.key_type == ALG_KTY.get(alg) and (kid is None or k.kid == kid)]
    if len(matches) != 1:
        raise OPFailure("invalid_client", f"{len(matches)} client keys match the JWT header", 401)
    return matches[0]


def _basic_credentials(authorization: str) -> tuple[str, str] | None:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OPFailure("invalid_client", "malformed Basic credentials", 401) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OPFailure("invalid_client", "malformed Basic credentials", 401)
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


def _used_method(basic: tuple[str, str] | None, form: dict[str, str]) -> str:
    present = [
        name
        for name, used in (
            ("client_secret_basic", basic is not None),
            ("client_secret_post", "client_secret" in form),
            ("jwt", "client_assertion" in form),
        )
        if used
    ]
    # RFC 6749 §2.3: the client MUST NOT use more than one authentication method per request.
    if len(present) > 1:
        raise OPFailure("invalid_request", "more than one client authentication method used")
    return present[0] if present else "none"


async def authenticate_client(
    clients: dict[str, dict[str, Any]],
    case: Case,
    headers: dict[str, str],
    form: dict[str, str],
    audiences: tuple[str, ...],
    used_jtis: set[str],
) -> dict[str, Any]:
    """Authenticate the client of a token/revocation/introspection request; return its metadata."""
    basic = _basic_credentials(headers.get("authorization", ""))
    used = _used_method(basic, form)
    client_id = basic[0] if basic else form.get("client_id")
    if used == "jwt":
        claims = _peek_claims(form.get("client_assertion", ""))
        client_id = client_id or str(claims.get("sub", ""))
    client = clients.get(client_id or "")
    if client is None:
        raise OPFailure("invalid_client", "unknown client_id", 401)
    if form.get("client_id") and form["client_id"] != client["client_id"]:
        raise OPFailure("invalid_client", "client_id does not match the credentials", 401)
    expected = case.token_auth_method or client["token_endpoint_auth_method"]
    if used == "jwt":
        used = "private_key_jwt" if expected == "private_key_jwt" else "client_secret_jwt"
    if used != expected:
        raise OPFailure("invalid_client", f"expected {expected}, got {used}", 401)
    if used in ("client_secret_basic", "client_secret_post"):
        secret = basic[1] if basic else form.get("client_secret", "")
        if not hmac.compare_digest(secret.encode(), str(client.get("client_secret", "")).encode()):
            raise OPFailure("invalid_client", "wrong client_secret", 401)
    elif used in ("client_secret_jwt", "private_key_jwt"):
        await _check_assertion(client, form, used, audiences, used_jtis)
    return client


def _peek_claims(token: str) -> dict[str, Any]:
    from .edits import unverified_claims

    try:
        return unverified_claims(token)
    except ValueError as exc:
        raise OPFailure("invalid_client", "client_assertion is not a JWT", 401) from exc


async def _check_assertion(
    client: dict[str, Any],
    form: dict[str, str],
    method: str,
    audiences: tuple[str, ...],
    used_jtis: set[str],
) -> None:
    """RFC 7523 §3 / OIDC Core §9: check a jwt-bearer client assertion."""
    if form.get("client_assertion_type") != JWT_BEARER:
        raise OPFailure("invalid_client", "client_assertion_type must be jwt-bearer", 401)
    token = form["client_assertion"]
    if method == "client_secret_jwt":
        claims = verify_client_jwt(
            token, None, client.get("client_secret"), ("HS256", "HS384", "HS512")
        )
    else:
        claims = verify_client_jwt(token, await client_keys(client), None, ASYMMETRIC_ALGS)
    client_id = client["client_id"]
    # OIDC Core §9: iss and sub MUST both be the client_id.
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise OPFailure("invalid_client", "assertion iss/sub must be the client_id", 401)
    aud = claims.get("aud")
    aud_list = aud if isinstance(aud, list) else [aud]
    if not any(value in audiences for value in aud_list):
        raise OPFailure("invalid_client", "assertion aud must be the token endpoint or issuer", 401)
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp < time.time():
        raise OPFailure("invalid_client", "assertion exp missing or expired", 401)
    jti = claims.get("jti")
    if not isinstance(jti, str) or jti in used_jtis:
        raise OPFailure("invalid_client", "assertion jti missing or replayed", 401)
    used_jtis.add(jti)
