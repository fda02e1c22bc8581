"""Server-side sessions of the web app: timeouts, pending-login expiry, SQLite persistence
and encryption at rest, with a clock the test moves."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from oidc_rp.sessions import generate_key
from support.node_op import login_via_dev_interactions
from web.conftest import ServedApp, session_json, sign_in

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
