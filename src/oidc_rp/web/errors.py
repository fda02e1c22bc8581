"""The one place where errors become HTTP statuses, error pages and JSON error bodies.

Mapping (docs/web.md, "Errors"):

- the OP said no (``OPErrorResponse``: authorization or token endpoint error) -> 400
- ``LoginStateError`` (no such pending login, replay, other browser) -> 400
- ``ConfigurationError`` met by a request (no client_id yet, no signing key) -> 400
- ``NotSupportedError`` and bad user input (:class:`BadRequest`) -> 400
- no session (:class:`SessionRequired`) -> 401; bad or missing CSRF token
  (:class:`CSRFError`) -> 403; refused by this app's configuration (:class:`Forbidden`) -> 403
- a request body over the app's limit (:class:`PayloadTooLarge`) -> 413
- ``ProtocolError`` (the OP broke a rule) and ``OPUnreachableError`` -> 502
- Starlette's ``HTTPException`` (404, 405) keeps its status
- anything else -> 500, a generic page; the log line names the exception class only.

The response is JSON ``{"error": code, "error_description": message}`` when the request's
``Accept`` header prefers ``application/json``, else the HTML error page. OP-provided
strings (``error``, ``error_description``, ``error_uri``) are rendered as escaped text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

from oidc_rp.errors import (
    ConfigurationError,
    LoginStateError,
    NotSupportedError,
    OIDCError,
    OPErrorResponse,
    OPUnreachableError,
    ProtocolError,
)

__all__ = [
    "BadRequest",
    "CSRFError",
    "ErrorView",
    "Forbidden",
    "PayloadTooLarge",
    "SessionRequired",
    "WebError",
    "backchannel_error",
    "error_view",
    "exception_handlers",
    "wants_json",
]

log = logging.getLogger("oidc_rp.web")


class WebError(Exception):
    """An error of the web layer itself (not of the protocol), with its HTTP status."""

    status = 400
    code = "invalid_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(WebError):
    """The browser sent unusable input (a form field, a query parameter)."""


class SessionRequired(WebError):
    """The request carries no valid session, or the session is not logged in."""

    status = 401
    code = "login_required"


class CSRFError(WebError):
    """The CSRF token is missing or does not match the session's."""

    status = 403
    code = "invalid_csrf_token"


class Forbidden(WebError):
    """The request is well formed, but this app's configuration does not allow it."""

    status = 403
    code = "forbidden"


class PayloadTooLarge(WebError):
    """The request body is larger than the app accepts (RFC 9110 §15.5.14)."""

    status = 413
    code = "payload_too_large"


@dataclass(frozen=True)
class ErrorView:
    """What the error page and the JSON error body show."""

    status: int
    code: str
    description: str
    title: str
    error_uri: str | None = None

    def as_json(self) -> dict[str, str]:
        """The JSON error body: ``{"error": code, "error_description": message}``."""
        return {"error": self.code, "error_description": self.description}


def _status_of(exc: OIDCError) -> tuple[int, str]:
    if isinstance(exc, OPErrorResponse):
        return 400, "The OpenID Provider refused the request"
    if isinstance(exc, LoginStateError):
        return 400, "This login cannot be completed"
    if isinstance(exc, NotSupportedError):
        return 400, "Not supported"
    if isinstance(exc, ProtocolError):
        return 502, "The OpenID Provider broke a rule of the protocol"
    if isinstance(exc, OPUnreachableError):
        return 502, "The OpenID Provider cannot be reached"
    if isinstance(exc, ConfigurationError):
        # E.g. no client_id yet (register first), no key for request objects.
        return 400, "The application is not configured for this"
    return 500, "Unexpected error"


def error_view(exc: Exception) -> ErrorView:
    """Map any exception to its status, code and text (the one mapping of the app)."""
    if isinstance(exc, OPErrorResponse):
        status, title = _status_of(exc)
        return ErrorView(
            status, exc.error, exc.error_description or exc.message, title, exc.error_uri
        )
    if isinstance(exc, OIDCError):
        status, title = _status_of(exc)
        return ErrorView(status, exc.code, exc.message, title)
    if isinstance(exc, WebError):
        titles = {401: "Not logged in", 403: "Forbidden", 413: "Request too large"}
        title = titles.get(exc.status, "Bad request")
        return ErrorView(exc.status, exc.code, exc.message, title)
    if isinstance(exc, HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return ErrorView(exc.status_code, code, str(exc.detail), str(exc.detail))
    return ErrorView(500, "server_error", "An unexpected error occurred.", "Unexpected error")


def wants_json(request: Request) -> bool:
    """True when the ``Accept`` header prefers application/json over text/html."""
    best: dict[str, float] = {}
    for item in request.headers.get("accept", "").split(","):
        media, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best[media.strip().lower()] = quality
    json_q = best.get("application/json", 0.0)
    html_q = max(best.get("text/html", 0.0), best.get("*/*", 0.0) - 0.001)
    return json_q > 0 and json_q >= html_q


def render_error(request: Request, exc: Exception) -> Response:
    """The error page (or JSON body) for ``exc``, with the mapped status."""
    view = error_view(exc)
    if view.status == 500:
        # Class name and rule only: messages of unexpected exceptions may carry anything.
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    elif isinstance(exc, ProtocolError | OPUnreachableError):
        log.warning("%s on %s: %s", view.code, request.url.path, view.description)
    headers = {"cache-control": "no-store"}
    if isinstance(exc, HTTPException) and exc.headers:
        headers.update(exc.headers)
    if wants_json(request):
        return JSONResponse(view.as_json(), status_code=view.status, headers=headers)
    templates: Jinja2Templates = request.app.state.web.templates
    context: dict[str, Any] = {"error": view}
    return templates.TemplateResponse(
        request, "error.html", context, status_code=view.status, headers=headers
    )


async def _handle(request: Request, exc: Exception) -> Response:
    return render_error(request, exc)


def exception_handlers() -> dict[Any, Any]:
    """Starlette exception handlers: every error goes through :func:`render_error`."""
    return {HTTPException: _handle, OIDCError: _handle, WebError: _handle, Exception: _handle}


def backchannel_error(exc: Exception) -> Response:
    """Back-Channel Logout 1.0 §2.8: "If the logout failed, the RP MUST respond with HTTP 400".

    The body is a JSON error; Cache-Control no-store as for every logout response.
    """
    view = error_view(exc)
    log.warning("backchannel logout refused: %s", view.description)
    body = {"error": "invalid_request", "error_description": view.description}
    return JSONResponse(body, status_code=400, headers={"cache-control": "no-store"})
