"""Server-side sessions of the web app: the cookie, timeouts, CSRF tokens, pending logins.

The browser's cookie holds only an opaque random id (256 bits); everything else lives in
the :class:`~oidc_rp.sessions.SessionStore`, sealed with AES-GCM at rest. The cookie is
HttpOnly and SameSite=Lax; under HTTPS it is also Secure and named with the ``__Host-``
prefix (RFC 6265bis §4.1.3.2), so no other host can set or read it.

A session record is a JSON object::

    {"created_at", "last_seen", "csrf_token", "browser_id",
     "user": {"sub", "sid", "logged_in_at", "tags"} | None, "trace": [...],
     "result": {...} | None, "logout_state": str | None, "fragment_login": bool}

It is written back by every request (``last_seen``, the trace, the one-time result). The
user's tokens and claims are NOT in it: they live in a separate *tokens record*::

    {"tokens", "id_token_claims", "userinfo", "userinfo_error", "revoked"}

under ``tokens:<digest of the session id>``, written only by login and the refresh,
revoke and userinfo actions (in this process one at a time per session, each re-reading
the record first). A page that loaded the session before a refresh finished therefore
cannot write the old (rotated) tokens back. The session record carries the user's
``sub:``/``sid:`` tags and the tokens record the same tags prefixed ``tokens:``;
:meth:`SessionManager.end_tagged` deletes both. The tokens record is only ever read
through a live session record, so a ``delete_tagged`` of the session tags alone also
ends the login, and a session whose tokens record is gone is logged out. The tokens
record lives until the absolute timeout (it is reached only through the session record,
whose idle timeout still applies) and is deleted with the session.

``browser_id`` identifies the browser across the id rotation at login (session fixation
defence), so a pending login started in one tab still completes after another tab logged
in. Idle and absolute timeouts are checked on every read, on top of the store's TTL.

Pending logins (``PendingLogin.to_dict()``) are stored under ``login:<state>``, bound to
the browser by a digest of its ``browser_id``, taken once (single use) and accepted for
10 minutes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import re
import secrets
import weakref
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from oidc_rp.core.transaction import DEFAULT_TTL, PendingLogin
from oidc_rp.errors import LoginStateError
from oidc_rp.http import Exchange
from oidc_rp.sessions import SessionStore
from oidc_rp.web.errors import CSRFError, SessionRequired

__all__ = ["SessionManager", "WebSession", "new_token"]

SESSION_PREFIX = "session:"
TOKENS_PREFIX = "tokens:"
LOGIN_PREFIX = "login:"
REQUEST_OBJECT_PREFIX = "request-object:"
TRACE_LIMIT = 60
_ID = re.compile(r"[A-Za-z0-9_-]{43,86}")


def new_token() -> str:
    """A fresh random identifier of 256 bits, base64url (session ids, CSRF tokens)."""
    return secrets.token_urlsafe(32)


def _digest(value: str) -> str:
    return hashlib.sha256(b"oidc-rp browser\x00" + value.encode()).hexdigest()


def tokens_key(session_id: str) -> str:
    """The store key of a session's tokens record (derived from the session id)."""
    return TOKENS_PREFIX + hashlib.sha256(b"oidc-rp tokens\x00" + session_id.encode()).hexdigest()


@dataclasses.dataclass
class WebSession:
    """One browser session: its cookie id and its record (mutable until saved)."""

    id: str
    data: dict[str, Any]
    cookie_needed: bool = False
    #: The tokens record (tokens, claims, userinfo, revoked) of a logged-in session.
    tokens: dict[str, Any] | None = None

    @property
    def csrf_token(self) -> str:
        """The session's CSRF token (synchroniser token pattern)."""
        return str(self.data["csrf_token"])

    @property
    def user(self) -> dict[str, Any] | None:
        """The logged-in user (sub, sid, tags), or None for an anonymous session."""
        user = self.data.get("user")
        return user if isinstance(user, dict) else None

    def add_trace(self, exchanges: list[Exchange]) -> None:
        """Append redacted HTTP exchanges to the session's bounded protocol trace."""
        trace = list(self.data.get("trace") or [])
        for exchange in exchanges:
            record = dataclasses.asdict(exchange)
            record["request_headers"] = dict(exchange.request_headers)
            record["response_headers"] = dict(exchange.response_headers)
            trace.append(record)
        self.data["trace"] = trace[-TRACE_LIMIT:]


class SessionManager:
    """Loads, creates, rotates and saves :class:`WebSession` records for requests."""

    def __init__(
        self,
        store: SessionStore,
        *,
        secure: bool,
        idle_timeout: int,
        absolute_timeout: int,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.secure = secure
        self.cookie_name = "__Host-oidc-rp-session" if secure else "oidc-rp-session"
        self.idle_timeout = idle_timeout
        self.absolute_timeout = absolute_timeout
        self.clock = clock
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # Sessions -----------------------------------------------------------------------

    async def load(self, request: Request) -> WebSession | None:
        """The request's live session, or None (no cookie, unknown, or timed out)."""
        session_id = request.cookies.get(self.cookie_name, "")
        if not _ID.fullmatch(session_id):
            return None
        data = await self.store.get(SESSION_PREFIX + session_id)
        if data is None:
            return None
        now = self.clock()
        if (
            now - float(data.get("last_seen", 0)) >= self.idle_timeout
            or now - float(data.get("created_at", 0)) >= self.absolute_timeout
        ):
            await self._delete(session_id)
            return None
        data["last_seen"] = now
        session = WebSession(session_id, data)
        if session.user is not None:
            session.tokens = await self.store.get(tokens_key(session_id))
            if session.tokens is None:
                # Ended by a logout (delete_tagged) that raced with a write of this record.
                data["user"] = None
        return session

    async def require(self, request: Request, *, logged_in: bool = True) -> WebSession:
        """The live session (logged in unless told otherwise), else SessionRequired (401)."""
        session = await self.load(request)
        if session is None:
            raise SessionRequired("session: no session; open the home page and sign in")
        if logged_in and session.user is None:
            raise SessionRequired("session: not logged in; sign in first")
        return session

    async def load_or_create(self, request: Request) -> WebSession:
        """The live session, or a new anonymous one (its cookie set on save)."""
        return await self.load(request) or self.create()

    def create(self, *, browser_id: str | None = None) -> WebSession:
        """A new session with a new id and CSRF token (saved by :meth:`save`)."""
        now = self.clock()
        data: dict[str, Any] = {
            "created_at": now,
            "last_seen": now,
            "csrf_token": new_token(),
            "browser_id": browser_id or new_token(),
            "user": None,
            "trace": [],
            "result": None,
            "logout_state": None,
            "fragment_login": False,
        }
        return WebSession(new_token(), data, cookie_needed=True)

    async def rotate(self, session: WebSession) -> WebSession:
        """Replace the session by a new id and CSRF token, same browser (fixation defence)."""
        await self._delete(session.id)
        fresh = self.create(browser_id=str(session.data.get("browser_id") or new_token()))
        fresh.data["trace"] = session.data.get("trace") or []
        return fresh

    def _remaining(self, session: WebSession) -> float:
        return self.absolute_timeout - (self.clock() - float(session.data["created_at"]))

    async def save(self, session: WebSession, response: Response) -> None:
        """Write the session record (TTL: the sooner timeout), never the tokens record.

        Sets the cookie when the session is new.
        """
        ttl = max(1, int(min(self.idle_timeout, self._remaining(session))))
        tags = (session.user or {}).get("tags") or ()
        await self.store.set(SESSION_PREFIX + session.id, session.data, ttl, tags=tags)
        if session.cookie_needed:
            response.set_cookie(
                self.cookie_name,
                session.id,
                path="/",
                secure=self.secure,
                httponly=True,
                samesite="lax",
            )

    async def destroy(self, session: WebSession, response: Response) -> None:
        """Delete the session and tokens records and clear the cookie."""
        await self._delete(session.id)
        response.delete_cookie(
            self.cookie_name, path="/", secure=self.secure, httponly=True, samesite="lax"
        )

    async def _delete(self, session_id: str) -> None:
        await self.store.delete(SESSION_PREFIX + session_id)
        await self.store.delete(tokens_key(session_id))

    async def end_tagged(self, tag: str) -> int:
        """End every session tagged ``tag`` (``sid:...``, ``sub:...``); return how many."""
        ended = await self.store.delete_tagged(tag)
        await self.store.delete_tagged(TOKENS_PREFIX + tag)
        return ended

    # The tokens record -------------------------------------------------------------

    def tokens_lock(self, session: WebSession) -> asyncio.Lock:
        """The lock serialising this process's writers of the session's tokens record."""
        lock = self._locks.get(session.id)
        if lock is None:
            lock = self._locks[session.id] = asyncio.Lock()
        return lock

    async def reload_tokens(self, session: WebSession) -> dict[str, Any]:
        """The latest tokens record (hold :meth:`tokens_lock`), or SessionRequired (401)."""
        record = await self.store.get(tokens_key(session.id))
        if record is None or session.user is None:
            raise SessionRequired("session: not logged in (the session ended); sign in again")
        session.tokens = record
        return record

    async def save_tokens(self, session: WebSession, record: dict[str, Any]) -> None:
        """Write the tokens record, carrying the user's tags, until the absolute timeout.

        Only login, refresh, revoke and userinfo call this; an action first checks that
        the session was not ended meanwhile (a logout must not be undone by a late write).
        """
        if not session.cookie_needed and await self.store.get(SESSION_PREFIX + session.id) is None:
            raise SessionRequired("session: not logged in (the session ended); sign in again")
        tags = [TOKENS_PREFIX + tag for tag in (session.user or {}).get("tags") or ()]
        ttl = max(1, int(self._remaining(session)))
        await self.store.set(tokens_key(session.id), record, ttl, tags=tags)
        session.tokens = record

    # CSRF ---------------------------------------------------------------------------

    @staticmethod
    def check_csrf(session: WebSession, submitted: str | None) -> None:
        """Compare the submitted CSRF token with the session's in constant time (403)."""
        if not submitted:
            raise CSRFError("csrf_token: missing")
        if not hmac.compare_digest(submitted.encode(), session.csrf_token.encode()):
            raise CSRFError("csrf_token: does not match this session")

    # Pending logins -----------------------------------------------------------------

    async def save_pending(self, pending: PendingLogin, session: WebSession) -> None:
        """Store the pending login under its state, bound to this browser, for 10 minutes."""
        record = {
            "pending": pending.to_dict(),
            "browser": _digest(str(session.data["browser_id"])),
        }
        await self.store.set(LOGIN_PREFIX + pending.state, record, DEFAULT_TTL)

    async def take_pending(self, state: str | None, session: WebSession | None) -> PendingLogin:
        """Take (single use) the pending login for ``state`` started by this browser."""
        # RFC 6749 §10.12: the client MUST validate the state of the authorization response.
        if not state:
            raise LoginStateError("callback.state: missing")
        if len(state) > 512:
            raise LoginStateError("callback.state: unknown")
        record = await self.store.take(LOGIN_PREFIX + state)
        if record is None:
            raise LoginStateError(
                "callback.state: no pending login (unknown, expired or already used)"
            )
        if session is None or not hmac.compare_digest(
            str(record.get("browser", "")), _digest(str(session.data.get("browser_id", "")))
        ):
            raise LoginStateError("callback.state: this login was started in another browser")
        pending = PendingLogin.from_dict(record.get("pending") or {})
        if pending.is_expired(int(self.clock())):
            raise LoginStateError("callback.state: the login expired (10 minutes)")
        return pending
