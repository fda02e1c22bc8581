"""The state-changing routes: POST only, each with a CSRF token; and back-channel logout.

``/refresh`` (RFC 6749 §6, OIDC Core §12), ``/revoke`` (RFC 7009), ``/introspect``
(RFC 7662), ``/userinfo`` (OIDC Core §5.3), ``/call-api``, ``/register`` (RFC 7591),
``/clean-registration`` and ``/logout`` (RP-Initiated Logout 1.0) need the session's
CSRF token in the form field ``csrf_token`` or the ``X-CSRF-Token`` header (compared in
constant time): no session -> 401, bad token -> 403. The result is stored in the session
and shown once on the home page (303 to ``/``), or returned as JSON when the request
prefers it. A failed action changes no stored token.

``/backchannel-logout`` (Back-Channel Logout 1.0 §2.5-§2.8) is called by the OP, so it
takes no CSRF token: the logout token itself is validated.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from oidc_rp.client import TokenSet
from oidc_rp.core.random import generate_state
from oidc_rp.errors import LogoutTokenError, OIDCError
from oidc_rp.http import TraceSink
from oidc_rp.tokens import stored_id_token_claims
from oidc_rp.web.errors import (
    BadRequest,
    Forbidden,
    SessionRequired,
    backchannel_error,
    wants_json,
)
from oidc_rp.web.sessions import WebSession
from oidc_rp.web.state import WebState, read_form, web_state

__all__ = ["routes"]

T = TypeVar("T")
TOKEN_KINDS = {"access": "access_token", "refresh": "refresh_token"}
LOGOUT_JTI_PREFIX = "logout-jti:"
LOGOUT_JTI_TTL = 900


async def _form(request: Request) -> dict[str, str]:
    return dict(await read_form(request))


async def _authorized(
    request: Request, *, logged_in: bool = True
) -> tuple[WebState, WebSession, dict[str, str]]:
    """The session (401 without), the CSRF check (403), then logged in (401).

    The session is loaded once: the CSRF token and the login are checked on that record.
    """
    web = web_state(request)
    session = await web.sessions.require(request, logged_in=False)
    form = await _form(request)
    web.sessions.check_csrf(session, request.headers.get("x-csrf-token") or form.get("csrf_token"))
    if logged_in and session.user is None:
        raise SessionRequired("session: not logged in; sign in first")
    return web, session, form


async def _traced(
    web: WebState, session: WebSession, call: Callable[[TraceSink | None], Awaitable[T]]
) -> T:
    """Run one call to the OP, keeping its exchanges in the session's trace (debug)."""
    trace, sink = web.tracer()
    try:
        return await call(sink)
    finally:
        if trace:
            session.add_trace(trace)
            await web.sessions.save(session, Response())


async def _done(
    request: Request, web: WebState, session: WebSession, action: str, title: str, data: Any
) -> Response:
    """Show the result once on the home page (303), or answer it as JSON."""
    result = {"action": action, "title": title, "data": data}
    response: Response
    if wants_json(request):
        response = JSONResponse(result)
    else:
        session.data["result"] = result
        response = RedirectResponse("/", status_code=303)
    await web.sessions.save(session, response)
    return response


def _tokens(session: WebSession) -> TokenSet:
    return TokenSet.from_dict((session.tokens or {}).get("tokens") or {})


def _chosen_token(session: WebSession, form: dict[str, str]) -> tuple[str, str]:
    """(token value, token_type_hint) for the form field ``token`` (access | refresh)."""
    kind = form.get("token", "access")
    hint = TOKEN_KINDS.get(kind)
    if hint is None:
        raise BadRequest("token: must be 'access' or 'refresh'")
    value = getattr(_tokens(session), hint)
    if not value:
        raise BadRequest(f"token: this session has no {kind} token")
    return value, hint


async def refresh(request: Request) -> Response:
    """Use the refresh token; on any error the stored tokens stay as they were."""
    web, session, _ = await _authorized(request)
    # One writer of the tokens record at a time, from its latest version: a second
    # refresh waits and uses the rotated refresh token (RFC 9700 §4.14.2).
    async with web.sessions.tokens_lock(session):
        record = await web.sessions.reload_tokens(session)
        old = _tokens(session)
        new = await _traced(web, session, lambda sink: web.rp.refresh(old, trace=sink))
        record = {**record, "tokens": new.to_dict(), "revoked": {}}
        if new.id_token and new.id_token != old.id_token:
            # Validated by rp.refresh (OIDC Core §12.2) before it was returned.
            record["id_token_claims"] = stored_id_token_claims(new.id_token)
        await web.sessions.save_tokens(session, record)
    data = {
        "access_token_changed": new.access_token != old.access_token,
        "refresh_token_changed": new.refresh_token != old.refresh_token,
        "id_token_changed": new.id_token != old.id_token,
        "access_token_expires_at": new.expires_at,
    }
    return await _done(request, web, session, "refresh", "Tokens refreshed", data)


async def revoke(request: Request) -> Response:
    """Revoke the access or the refresh token (RFC 7009 §2.1)."""
    web, session, form = await _authorized(request)
    async with web.sessions.tokens_lock(session):
        record = await web.sessions.reload_tokens(session)
        value, hint = _chosen_token(session, form)
        await _traced(web, session, lambda sink: web.rp.revoke(value, hint, trace=sink))
        record = {**record, "revoked": {**(record.get("revoked") or {}), hint: True}}
        await web.sessions.save_tokens(session, record)
    data = {"revoked": hint}
    return await _done(request, web, session, "revoke", f"Revoked the {hint}", data)


async def introspect(request: Request) -> Response:
    """Introspect the access or the refresh token (RFC 7662 §2.1)."""
    web, session, form = await _authorized(request)
    value, hint = _chosen_token(session, form)
    data = await _traced(web, session, lambda sink: web.rp.introspect(value, hint, trace=sink))
    return await _done(request, web, session, "introspect", f"Introspection of the {hint}", data)


async def userinfo(request: Request) -> Response:
    """Fetch the UserInfo claims again (OIDC Core §5.3)."""
    web, session, _ = await _authorized(request)
    async with web.sessions.tokens_lock(session):
        record = await web.sessions.reload_tokens(session)
        tokens = _tokens(session)
        claims = await _traced(web, session, lambda sink: web.rp.userinfo(tokens, trace=sink))
        await web.sessions.save_tokens(
            session, {**record, "userinfo": claims, "userinfo_error": None}
        )
    return await _done(request, web, session, "userinfo", "UserInfo", claims)


async def call_api(request: Request) -> Response:
    """Call api_endpoint with the access token; its answer (or failure) is shown."""
    web, session, _ = await _authorized(request)
    tokens = _tokens(session)
    api = await _traced(web, session, lambda sink: web.rp.call_api(tokens, trace=sink))
    body: Any = api.body
    with contextlib.suppress(ValueError):
        body = json.loads(api.body) if api.body else ""
    data = {"status": api.status, "headers": api.headers, "body": body, "error": api.error}
    title = f"API answered {api.status}" if api.status is not None else "API call failed"
    return await _done(request, web, session, "call-api", title, data)


def _check_no_static_client(web: WebState) -> None:
    """Registration is for an app without a static client: with one, 403.

    /register and /clean-registration work logged out (the first login needs a client),
    so any visitor could otherwise replace or wipe the app-wide registration.
    """
    if web.settings.client_id is not None:
        raise Forbidden(
            "registration: a static client_id is configured; dynamic registration "
            "is only for an app without one"
        )


async def register(request: Request) -> Response:
    """Register this client dynamically (RFC 7591 §3.1)."""
    web, session, _ = await _authorized(request, logged_in=False)
    _check_no_static_client(web)
    registration = await _traced(web, session, lambda sink: web.rp.register(trace=sink))
    data = {
        "client_id": registration.client_id,
        "client_id_issued_at": registration.client_id_issued_at,
        "client_secret_expires_at": registration.client_secret_expires_at,
    }
    return await _done(request, web, session, "register", "Client registered", data)


async def clean_registration(request: Request) -> Response:
    """Forget the dynamic registration."""
    web, session, _ = await _authorized(request, logged_in=False)
    _check_no_static_client(web)
    await web.rp.clean_registration()
    data = {"client_id": web.rp.client_id}
    return await _done(request, web, session, "clean-registration", "Registration removed", data)


async def logout(request: Request) -> Response:
    """End the local session, then RP-Initiated Logout at the OP when it offers it."""
    web, session, _ = await _authorized(request)
    state = generate_state()
    try:
        url = await web.rp.end_session_url(_tokens(session), state)
    except OIDCError:
        url = None  # the OP cannot be asked now: log out locally
    await web.sessions.destroy(session, Response())
    after = web.sessions.create(browser_id=str(session.data.get("browser_id")))
    after.data["logout_state"] = state if url else None
    after.data["logout_local"] = url is None
    response = RedirectResponse(url or "/logged-out", status_code=302)
    await web.sessions.save(after, response)
    return response


async def backchannel_logout(request: Request) -> Response:
    """Back-Channel Logout 1.0 §2.5-§2.8: validate the logout token, end its sessions."""
    web = web_state(request)
    try:
        form = await _form(request)
        token = form.get("logout_token")
        if not token:
            raise LogoutTokenError("logout_token: missing")
        claims = await web.rp.validate_logout_token(token)
        # §2.6 (optional): refuse a logout token whose jti was recently received.
        jti_key = LOGOUT_JTI_PREFIX + claims.jti
        if await web.store.get(jti_key) is not None:
            raise LogoutTokenError("logout_token.jti: replayed")
        await web.store.set(jti_key, {"iat": claims.iat}, LOGOUT_JTI_TTL)
    except (OIDCError, BadRequest) as exc:
        return backchannel_error(exc)
    if claims.sid:
        await web.sessions.end_tagged(f"sid:{claims.sid}")
    elif claims.sub:
        await web.sessions.end_tagged(f"sub:{claims.sub}")
    # §2.8: "The RP's response SHOULD include a Cache-Control HTTP response header ... no-store".
    return Response(status_code=200, headers={"cache-control": "no-store"})


def routes() -> list[BaseRoute]:
    """The POST routes."""
    post = ["POST"]
    return [
        Route("/refresh", refresh, methods=post),
        Route("/revoke", revoke, methods=post),
        Route("/introspect", introspect, methods=post),
        Route("/userinfo", userinfo, methods=post),
        Route("/call-api", call_api, methods=post),
        Route("/register", register, methods=post),
        Route("/clean-registration", clean_registration, methods=post),
        Route("/logout", logout, methods=post),
        Route("/backchannel-logout", backchannel_logout, methods=post),
    ]
