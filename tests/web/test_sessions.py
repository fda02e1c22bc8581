"""Server-side sessions of the web app: timeouts, pending-login expiry, SQLite persistence
and encryption at rest, with a clock the test moves."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from oidc_rp.sessions import generate_key
from oidc_rp.web.sessions import tokens_key
from support.node_op import NodeOP, login_via_dev_interactions
from web.conftest import (
    PUBLIC_CLIENT_ID,
    GatedStore,
    ServedApp,
    logout_token,
    session_json,
    sign_in,
)

pytestmark = pytest.mark.integration


class Clock:
    """Real time plus an offset the test sets."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


async def test_idle_and_absolute_timeouts(
    aux_app: Callable[..., ServedApp], op_browser: httpx2.AsyncClient
) -> None:
    clock = Clock()
    app = aux_app(clock=clock, session_idle_timeout=100, session_absolute_timeout=150)
    async with httpx2.AsyncClient() as browser:
        assert (await sign_in(browser, op_browser, app.url)).status_code == 303
        for offset in (60, 120):  # each read is within the idle timeout of the last one
            clock.offset = offset
            assert (await session_json(browser, app.url))["authenticated"] is True
        clock.offset = 151
        assert (await session_json(browser, app.url))["authenticated"] is False
    async with httpx2.AsyncClient() as browser:
        assert (await sign_in(browser, op_browser, app.url)).status_code == 303
        clock.offset += 101
        assert (await session_json(browser, app.url))["authenticated"] is False


async def test_pending_login_expires_after_ten_minutes(
    aux_app: Callable[..., ServedApp], op_browser: httpx2.AsyncClient
) -> None:
    clock = Clock()
    app = aux_app(clock=clock)
    async with httpx2.AsyncClient() as browser:
        start = await browser.get(f"{app.url}/start-login")
        result = await login_via_dev_interactions(
            start.headers["location"], cookies_client=op_browser
        )
        clock.offset = 601
        late = await browser.get(result.url, headers={"accept": "application/json"})
    assert late.status_code == 400
    assert late.json()["error"] == "invalid_state"


async def test_sqlite_sessions_survive_a_restart_and_are_encrypted(
    aux_app: Callable[..., ServedApp], op_browser: httpx2.AsyncClient, tmp_path: Path
) -> None:
    database = tmp_path / "sessions.db"
    settings = {
        "session_store": f"sqlite://{database}",
        "session_encryption_key": base64.urlsafe_b64encode(generate_key()).decode(),
    }
    app = aux_app(**settings)
    async with httpx2.AsyncClient() as browser:
        assert (await sign_in(browser, op_browser, app.url)).status_code == 303
        page = (await browser.get(f"{app.url}/")).text
        tokens = re.findall(r'<pre class="raw">([^<]+)</pre>', page)
        assert tokens
        app = aux_app(**settings)  # a restart: a new process would see the same file
        assert (await session_json(browser, app.url))["authenticated"] is True
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("sessions.db*"))
    assert stored
    for token in tokens:
        assert token.encode() not in stored
    assert b"alice" not in stored


def _raw_tokens(page: str) -> list[str]:
    return re.findall(r'<pre class="raw">([^<]+)</pre>', page)


#: A public client: the OP rotates its refresh token at each use and, on the reuse of a
#: rotated one, revokes the grant (RFC 9700 §4.14.2).
PUBLIC_CLIENT = {"client_id": PUBLIC_CLIENT_ID, "client_secret": None}


async def _refresh(browser: httpx2.AsyncClient, app: ServedApp, csrf: str) -> httpx2.Response:
    return await browser.post(
        f"{app.url}/refresh", data={"csrf_token": csrf}, headers={"accept": "application/json"}
    )


async def test_a_slow_page_cannot_write_back_the_tokens_a_refresh_replaced(
    aux_app: Callable[..., ServedApp], op_browser: httpx2.AsyncClient
) -> None:
    store = GatedStore()
    app = aux_app(store=store, **PUBLIC_CLIENT)
    async with httpx2.AsyncClient(timeout=10) as browser:
        assert (await sign_in(browser, op_browser, app.url)).status_code == 303
        csrf = (await session_json(browser, app.url))["csrf_token"]
        before = _raw_tokens((await browser.get(f"{app.url}/")).text)
        # GET / loads the session, then its write of the session record is held...
        store.hold_next_write("session:")
        slow_page = asyncio.create_task(browser.get(f"{app.url}/"))
        try:
            assert await asyncio.to_thread(store.held.wait, 10)
            # ... while a refresh runs to completion (the OP rotates the refresh token) ...
            refreshed = await _refresh(browser, app, csrf)
            assert refreshed.status_code == 200, refreshed.text
            assert refreshed.json()["data"]["refresh_token_changed"] is True
        finally:
            # ... and only then does the slow page write back what it loaded.
            store.release.set()
        assert (await slow_page).status_code == 200
        after = _raw_tokens((await browser.get(f"{app.url}/")).text)
        assert after[0] != before[0] and after[1] != before[1]  # the refreshed tokens stayed
        # The rotated refresh token is the one used next: the OP accepts it.
        again = await _refresh(browser, app, csrf)
        assert again.status_code == 200, again.text


async def test_concurrent_refreshes_of_one_session_use_the_rotated_refresh_token(
    aux_app: Callable[..., ServedApp], op_browser: httpx2.AsyncClient
) -> None:
    app = aux_app(**PUBLIC_CLIENT)
    async with httpx2.AsyncClient(timeout=10) as browser:
        assert (await sign_in(browser, op_browser, app.url)).status_code == 303
        csrf = (await session_json(browser, app.url))["csrf_token"]
        answers = await asyncio.gather(*(_refresh(browser, app, csrf) for _ in range(3)))
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert (await _refresh(browser, app, csrf)).status_code == 200


async def _back_channel_logout(app: ServedApp, op: NodeOP, sid: str) -> None:
    async with httpx2.AsyncClient() as op_server:
        token = logout_token(op, sid=sid)
        done = await op_server.post(f"{app.url}/backchannel-logout", data={"logout_token": token})
    assert done.status_code == 200, done.text


async def test_tokens_live_apart_from_the_session_and_logout_ends_both(
    aux_app: Callable[..., ServedApp], op: NodeOP, op_browser: httpx2.AsyncClient
) -> None:
    store = GatedStore()
    app = aux_app(store=store)
    async with httpx2.AsyncClient() as browser:
        assert (await sign_in(browser, op_browser, app.url)).status_code == 303
        session_id = browser.cookies["oidc-rp-session"]
        info = await session_json(browser, app.url)
        record = await store.inner.get(f"session:{session_id}")
        tokens = await store.inner.get(tokens_key(session_id))
        assert record is not None and tokens is not None
        assert "tokens" not in record["user"] and tokens["tokens"]["access_token"]
        # Pages write the session record only, never the tokens record.
        store.writes.clear()
        await browser.get(f"{app.url}/")
        await session_json(browser, app.url)
        assert store.writes == [f"session:{session_id}"] * 2
        await _back_channel_logout(app, op, info["claims"]["sid"])
        assert await store.inner.get(f"session:{session_id}") is None
        assert await store.inner.get(tokens_key(session_id)) is None


async def test_a_page_written_back_after_a_logout_does_not_log_the_user_in_again(
    aux_app: Callable[..., ServedApp], op: NodeOP, op_browser: httpx2.AsyncClient
) -> None:
    store = GatedStore()
    app = aux_app(store=store)
    async with httpx2.AsyncClient(timeout=10) as browser:
        assert (await sign_in(browser, op_browser, app.url)).status_code == 303
        sid = (await session_json(browser, app.url))["claims"]["sid"]
        store.hold_next_write("session:")
        slow_page = asyncio.create_task(browser.get(f"{app.url}/"))
        try:
            assert await asyncio.to_thread(store.held.wait, 10)
            await _back_channel_logout(app, op, sid)
        finally:
            store.release.set()
        assert (await slow_page).status_code == 200  # it rewrote the session record...
        # ... but the tokens record is gone with the logout: nobody is logged in.
        assert (await session_json(browser, app.url))["authenticated"] is False


async def test_an_action_loads_its_session_once(
    aux_app: Callable[..., ServedApp], op_browser: httpx2.AsyncClient
) -> None:
    store = GatedStore()
    app = aux_app(store=store)
    async with httpx2.AsyncClient() as browser:
        assert (await sign_in(browser, op_browser, app.url)).status_code == 303
        session_id = browser.cookies["oidc-rp-session"]
        csrf = (await session_json(browser, app.url))["csrf_token"]
        store.reads.clear()
        answer = await browser.post(
            f"{app.url}/introspect",
            data={"csrf_token": csrf, "token": "access"},
            headers={"accept": "application/json"},
        )
    assert answer.status_code == 200, answer.text
    assert store.reads.count(f"session:{session_id}") == 1
