"""Read-only routes: the home page, health check, session JSON and the RP's public keys.

They write back only the session record (``last_seen``, the one-time result), never the
tokens record, so a page that was slow cannot undo a refresh (web/sessions.py).

``GET /`` shows, logged out, the OP (its discovery document, which features it lacks),
the client's registration and the login forms; logged in, the claims, the tokens (raw
and, for JWTs, decoded for display) and a form (with the CSRF token) for every action.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from oidc_rp.errors import OIDCError
from oidc_rp.web.sessions import WebSession
from oidc_rp.web.state import web_state
from oidc_rp.web.views import decode_for_display, pretty_json, time_claims

__all__ = ["routes"]

FEATURE_LABELS = {
    "userinfo": "UserInfo",
    "refresh": "Refresh",
    "revocation": "Revocation (RFC 7009)",
    "introspection": "Introspection (RFC 7662)",
    "registration": "Dynamic registration (RFC 7591)",
    "end_session": "RP-Initiated Logout",
    "par": "Pushed authorization requests (RFC 9126)",
    "request_object": "Request objects (RFC 9101)",
    "request_uri": "request_uri (RFC 9101)",
    "call_api": "Call API (api_endpoint)",
}


async def healthz(request: Request) -> Response:
    """200 once the app can serve; never contacts the OP."""
    return PlainTextResponse("ok")


async def _provider(request: Request) -> dict[str, Any]:
    """The OP's metadata and features, or the error met fetching them (still a 200 page)."""
    rp = web_state(request).rp
    try:
        metadata = await rp.metadata()
        features = await rp.features()
    except OIDCError as exc:
        return {"discovery": None, "discovery_error": exc.message, "features": None}
    return {
        "discovery": pretty_json(dict(metadata.raw)) if metadata.raw else None,
        "discovery_error": None,
        "issuer": metadata.issuer,
        "features": features,
    }


def _user_context(session: WebSession, now: float) -> dict[str, Any]:
    user = session.user or {}
    record = session.tokens or {}
    tokens = record.get("tokens") or {}
    revoked = record.get("revoked") or {}
    shown = []
    for name, key in (("Access token", "access_token"), ("Refresh token", "refresh_token")):
        if tokens.get(key):
            shown.append((decode_for_display(name, tokens[key], now), revoked.get(key, False)))
    if tokens.get("id_token"):
        shown.append((decode_for_display("ID token", tokens["id_token"], now), False))
    expires_at = tokens.get("expires_at")
    return {
        "sub": user.get("sub"),
        "id_token_claims": pretty_json(record.get("id_token_claims") or {}),
        "userinfo": pretty_json(record["userinfo"]) if record.get("userinfo") else None,
        "userinfo_error": record.get("userinfo_error"),
        "tokens": shown,
        "token_type": tokens.get("token_type"),
        "scope": tokens.get("scope"),
        "expiry": time_claims({"exp": expires_at}, now) if expires_at else (),
    }


async def index(request: Request) -> Response:
    """The home page, logged out or logged in."""
    web = web_state(request)
    session = await web.sessions.load_or_create(request)
    result = session.data.get("result")
    session.data["result"] = None
    context: dict[str, Any] = {
        "settings": web.settings,
        "issuer": web.settings.issuer,
        "client_id": web.rp.client_id,
        "is_registered": web.rp.is_registered,
        "is_dynamic": web.rp.is_dynamic,
        # Registration is refused (403) when a static client is configured.
        "registration_allowed": web.settings.client_id is None,
        "csrf_token": session.csrf_token,
        "result": result,
        "result_json": pretty_json(result.get("data")) if result else None,
        "feature_labels": FEATURE_LABELS,
        "trace": session.data.get("trace") if web.settings.debug else None,
        **await _provider(request),
    }
    if session.user is not None:
        context.update(_user_context(session, web.clock()))
        template = "index_logged_in.html"
    else:
        template = "index_logged_out.html"
    response = web.templates.TemplateResponse(request, template, context)
    await web.sessions.save(session, response)
    return response


async def api_session(request: Request) -> Response:
    """JSON view of the session for a front end: never any token value."""
    web = web_state(request)
    session = await web.sessions.load(request)
    if session is None or session.user is None:
        return JSONResponse({"authenticated": False}, status_code=401)
    user, record = session.user, session.tokens or {}
    tokens = record.get("tokens") or {}
    body = {
        "authenticated": True,
        "sub": user.get("sub"),
        "claims": {**(record.get("userinfo") or {}), **(record.get("id_token_claims") or {})},
        "csrf_token": session.csrf_token,
        "tokens": {
            "access_token_expires_at": tokens.get("expires_at"),
            "has_refresh_token": bool(tokens.get("refresh_token")),
        },
    }
    response = JSONResponse(body)
    await web.sessions.save(session, response)
    return response


async def jwks(request: Request) -> Response:
    """The RP's public keys (private_key_jwt, signed request objects)."""
    return JSONResponse(web_state(request).rp.public_jwks())


def routes() -> list[BaseRoute]:
    """The read-only routes."""
    return [
        Route("/", index, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/api/session", api_session, methods=["GET"]),
        Route("/jwks", jwks, methods=["GET"]),
    ]
