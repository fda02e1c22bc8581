"""What the routes of one app share (:class:`WebState`), and small helpers around it.

:func:`read_form` is the one way a route reads a form body: at most 64 fields of at most
64 KiB each and no file, so an anonymous POST cannot make the app parse a thousand fields
or spool uploads (the whole body is capped by ``app.BodyLimit`` before that).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from oidc_rp.client import RelyingParty
from oidc_rp.http import Exchange, TraceSink
from oidc_rp.sessions import SessionStore
from oidc_rp.settings import Settings
from oidc_rp.web.errors import BadRequest
from oidc_rp.web.sessions import SessionManager

__all__ = ["MAX_FIELDS", "MAX_FIELD_SIZE", "WebState", "read_form", "web_state"]

#: Form limits of every route (Starlette's defaults are 1000 fields of 1 MiB).
MAX_FIELDS = 64
MAX_FIELD_SIZE = 64 * 1024


@dataclass
class WebState:
    """Settings, the RelyingParty, the session store and manager, templates, clock."""

    settings: Settings
    rp: RelyingParty
    store: SessionStore
    sessions: SessionManager
    templates: Jinja2Templates
    clock: Callable[[], float]

    @property
    def base_url(self) -> str:
        """The app's public base URL, without a trailing slash."""
        return self.settings.effective_base_url

    def tracer(self) -> tuple[list[Exchange], TraceSink | None]:
        """A list collecting this request's HTTP exchanges, and its sink (debug only)."""
        records: list[Exchange] = []
        return records, (records.append if self.settings.debug else None)


def web_state(request: Request) -> WebState:
    """The :class:`WebState` of the app serving ``request``."""
    state: WebState = request.app.state.web
    return state


async def read_form(request: Request) -> list[tuple[str, str]]:
    """The request's form fields as (name, value) pairs, or BadRequest (400).

    Too many fields, a field over 64 KiB, any file or a malformed multipart body is a 400.
    """
    try:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_SIZE)
    except HTTPException as exc:  # Starlette's refusal of a form over the limits
        raise BadRequest(f"form: {exc.detail}") from None
    items = form.multi_items()
    await form.close()  # closes any uploaded file at once
    for name, value in items:
        if not isinstance(value, str):
            raise BadRequest(f"form: {name!r} is a file; no files are accepted")
    return [(name, value) for name, value in items if isinstance(value, str)]
