"""The Starlette application factory: settings + RelyingParty + session store -> ASGI app.

``create_app`` builds everything without contacting the OP (``GET /healthz`` answers at
once); the OP's metadata is fetched on first use. The lifespan closes the RelyingParty
and the session store that the factory created itself. Every response carries the
security headers of :class:`SecurityHeaders`; :class:`BodyLimit` refuses request bodies
over 256 KiB with 413 before any route reads them. See docs/web.md.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oidc_rp.client import RelyingParty
from oidc_rp.sessions import (
    SessionStore,
    generate_key,
    key_from_text,
    load_or_create_key,
    open_store,
)
from oidc_rp.settings import Settings
from oidc_rp.web import routes_actions, routes_login, routes_pages
from oidc_rp.web.errors import PayloadTooLarge, exception_handlers, render_error
from oidc_rp.web.sessions import SessionManager
from oidc_rp.web.state import WebState

__all__ = ["MAX_BODY_SIZE", "BodyLimit", "SecurityHeaders", "create_app"]

HERE = Path(__file__).resolve().parent


#: The largest request body the app reads (its forms are small; an ID token fits many times).
MAX_BODY_SIZE = 256 * 1024

#: RFC 6797 §6.1: one year, this host only.
HSTS = "max-age=31536000"

#: The one page the OP may frame: Front-Channel Logout 1.0 §2 loads it in an iframe.
FRONTCHANNEL_LOGOUT_PATH = "/frontchannel-logout"


def _content_security_policy(nonce: str, frame_ancestors: str) -> str:
    # No inline script runs except the one carrying this response's nonce (callback-js).
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            f"frame-ancestors {frame_ancestors}",
        )
    )


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


class SecurityHeaders:
    """ASGI middleware adding CSP (with a per-response nonce) and the other page headers.

    Referrer-Policy no-referrer: the callback URL carries the authorization code.
    Cache-Control no-store on everything but /static (pages show tokens and CSRF tokens).
    With ``hsts`` (the effective base URL is https) every response also carries
    ``Strict-Transport-Security: max-age=31536000`` (RFC 6797 §6.1; no includeSubDomains,
    as other hosts of the domain are not ours to pin).
    """

    def __init__(self, app: ASGIApp, *, op_origin: str | None = None, hsts: bool = False) -> None:
        self.app = app
        self.op_origin = op_origin
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        path = str(scope.get("path", ""))
        cacheable = path.startswith("/static/")
        # Only the OP may frame the front-channel logout page; nobody frames anything else.
        framed_by_op = path == FRONTCHANNEL_LOGOUT_PATH and self.op_origin is not None
        ancestors = self.op_origin if framed_by_op and self.op_origin else "'none'"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["content-security-policy"] = _content_security_policy(nonce, ancestors)
                headers["x-content-type-options"] = "nosniff"
                headers["referrer-policy"] = "no-referrer"
                if not framed_by_op:
                    headers["x-frame-options"] = "DENY"
                headers["cross-origin-opener-policy"] = "same-origin"
                if not cacheable:
                    headers["cache-control"] = "no-store"
                if self.hsts:
                    headers["strict-transport-security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_body_size`` bytes with 413.

    A declared ``Content-Length`` over the limit is refused before anything is read; a
    body without one (chunked) is counted as it streams in, and the read that crosses
    the limit raises :class:`PayloadTooLarge`, mapped by web/errors.py like any error.
    """

    def __init__(self, app: ASGIApp, *, max_body_size: int = MAX_BODY_SIZE) -> None:
        self.app = app
        self.max_body_size = max_body_size

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"request: the body is over {self.max_body_size} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_size:
            response = render_error(Request(scope), self._too_large())
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_size:
                    raise self._too_large()
            return message

        await self.app(scope, limited_receive, send)


def _encryption_key(settings: Settings) -> bytes:
    text = settings.secret("session_encryption_key")
    if text:
        return key_from_text(text)
    return load_or_create_key(settings.data_path / "session.key")


def _open_store(settings: Settings, clock: Callable[[], float]) -> SessionStore:
    url = settings.session_store
    if url == "memory":
        # Nothing outlives the process, so a key of its own is enough.
        return open_store(url, encryption_key=generate_key(), clock=clock)
    if url == "sqlite":
        url = f"sqlite://{(settings.data_path / 'sessions.sqlite3').resolve()}"
    return open_store(url, encryption_key=_encryption_key(settings), clock=clock)


def _templates(settings: Settings) -> Jinja2Templates:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        # Every OP-provided string is escaped: autoescaping on for all templates.
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Every page's header names the OP, error pages included.
    environment.globals["issuer"] = settings.issuer
    return Jinja2Templates(env=environment)


def create_app(
    settings: Settings,
    *,
    rp: RelyingParty | None = None,
    store: SessionStore | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """Build the web app. Nothing here contacts the OP.

    ``rp`` and ``store`` default to ones built from ``settings``; those the factory
    builds are closed by the app's lifespan.
    """
    own_rp, own_store = rp is None, store is None
    https = settings.effective_base_url.startswith("https://")
    the_rp = rp if rp is not None else RelyingParty(settings, clock=clock)
    the_store = store if store is not None else _open_store(settings, clock)
    sessions = SessionManager(
        the_store,
        secure=https,
        idle_timeout=settings.session_idle_timeout,
        absolute_timeout=settings.session_absolute_timeout,
        clock=clock,
    )
    state = WebState(settings, the_rp, the_store, sessions, _templates(settings), clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if own_rp:
                await the_rp.aclose()
            if own_store:
                await the_store.close()

    routes = [
        *routes_pages.routes(),
        *routes_login.routes(),
        *routes_actions.routes(),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        debug=False,
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders, op_origin=_origin(settings.issuer), hsts=https),
            Middleware(BodyLimit),
        ],
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
    app.state.web = state
    return app
