"""Provider metadata (OIDC Discovery 1.0 §3-4), the JWK set, registration (RFC 7591) and
WebFinger (Discovery §2) of the test OP.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from .cases import edits_for
from .clients import AUTH_METHODS, register
from .context import Context
from .dpop import DPOP_ALGS
from .edits import apply_edits
from .encryption import CONTENT_ENCRYPTION, ENCRYPTION_ALGS
from .errors import OPFailure

DEFAULT_ID_TOKEN_ALGS = ["RS256", "ES256", "EdDSA", "HS256"]
CLAIMS_SUPPORTED = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "sid",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "locale",
    "updated_at",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "address",
]
RESPONSE_TYPES = [
    "code",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
]


def _id_token_algs(forced: str | None) -> list[str]:
    """The forced alg first; RS256 always listed (Discovery §3: RS256 MUST be included)."""
    if forced is None:
        return DEFAULT_ID_TOKEN_ALGS
    return [forced] if forced == "RS256" else [forced, "RS256"]


def provider_metadata(ctx: Context) -> dict[str, Any]:
    """The configuration document, with the case's discovery edits applied."""
    case = ctx.state.case
    metadata: dict[str, Any] = {
        "issuer": ctx.issuer,
        "authorization_endpoint": ctx.url("authorization"),
        "token_endpoint": ctx.url("token"),
        "userinfo_endpoint": ctx.url("userinfo"),
        "jwks_uri": ctx.url("jwks"),
        "registration_endpoint": ctx.url("registration"),
        "end_session_endpoint": ctx.url("end_session"),
        "revocation_endpoint": ctx.url("revocation"),
        "introspection_endpoint": ctx.url("introspection"),
        "pushed_authorization_request_endpoint": ctx.url("par"),
        "scopes_supported": ["openid", "profile", "email", "phone", "address", "offline_access"],
        "response_types_supported": RESPONSE_TYPES,
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "implicit", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": _id_token_algs(case.id_token_alg),
        "userinfo_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "id_token_encryption_alg_values_supported": list(ENCRYPTION_ALGS),
        "id_token_encryption_enc_values_supported": list(CONTENT_ENCRYPTION),
        "userinfo_encryption_alg_values_supported": list(ENCRYPTION_ALGS),
        "userinfo_encryption_enc_values_supported": list(CONTENT_ENCRYPTION),
        "request_object_signing_alg_values_supported": ["none", "RS256", "ES256"],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256", "HS256"],
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": list(DPOP_ALGS),
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claims_parameter_supported": True,
        "request_parameter_supported": True,
        "request_uri_parameter_supported": True,
        "require_request_uri_registration": False,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }
    return apply_edits(metadata, edits_for(case, "discovery"), now=0)


def handle_discovery(ctx: Context) -> Response:
    """GET /.well-known/openid-configuration (Discovery §4)."""
    return JSONResponse(provider_metadata(ctx))


def handle_jwks(ctx: Context) -> Response:
    """The current public JWK set (RFC 7517 §5)."""
    with ctx.registry.lock:
        jwks = ctx.state.keys.jwks()
    return JSONResponse(jwks, media_type="application/jwk-set+json")


def handle_registration(ctx: Context, headers: dict[str, str], body: Any) -> Response:
    """RFC 7591 §3: register a client from a JSON body; 201 with its metadata.

    RFC 7591 §3: an initial access token, when sent, must be valid: here an access token
    of this test id issued by the client_credentials grant with the scope ``dcr`` (the way
    Curity protects registration).
    """
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme or token:
        with ctx.registry.lock:
            grant = ctx.state.access_tokens.get(token) if scheme.lower() == "bearer" else None
        if grant is None or "dcr" not in grant.scope.split():
            raise OPFailure("invalid_token", "the initial access token is not valid", 401)
    if not isinstance(body, dict):
        raise OPFailure("invalid_client_metadata", "the body must be a JSON object")
    client = register(ctx.state.case, body)
    with ctx.registry.lock:
        ctx.state.clients[client["client_id"]] = client
    return JSONResponse(client, status_code=201, headers={"Cache-Control": "no-store"})


def webfinger_test_id(resource: str, host: str) -> str | None:
    """The test id named by a WebFinger resource: ``acct:<alias>.<test_id>@<host>`` or the
    issuer URL ``http(s)://<host>/<test_id>`` (Discovery §2.1)."""
    if resource.startswith("acct:"):
        user, _, at_host = resource[len("acct:") :].rpartition("@")
        if at_host != host or not user:
            return None
        return user.rpartition(".")[2]
    for scheme in ("https://", "http://"):
        prefix = f"{scheme}{host}/"
        if resource.startswith(prefix):
            return resource[len(prefix) :].split("/")[0].split("?")[0] or None
    return None
