"""What the routes of one app share (:class:`WebState`), and small helpers around it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.templating import Jinja2Templates

from oidc_rp.client import RelyingParty
from oidc_rp.http import Exchange, TraceSink
from oidc_rp.sessions import SessionStore
from oidc_rp.settings import Settings
from oidc_rp.web.sessions import SessionManager

__all__ = ["WebState", "web_state"]


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
