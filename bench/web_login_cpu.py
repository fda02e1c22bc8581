"""Benchmark 3: server CPU per login through the web app (uvicorn + Starlette + RP).

The app from :func:`oidc_rp.web.create_app` is served by uvicorn in a thread of this
process; node-oidc-provider runs in its own process. The CPU clock of the server thread
alone (``time.pthread_getcpuclockid``) is read around each request the browser makes to
the app, so the browser side (httpx2 in the main thread) and the OP are not counted:
what remains is uvicorn's HTTP parsing, Starlette, the session store (AES-GCM records),
the RP and its requests to the OP, and the templates.

One login = ``GET /start-login`` (302 to the OP) -> the OP's pages (harness, not
counted) -> ``GET /callback?code=...`` (303 to /) -> ``GET /`` (the logged-in page).
Baseline in the same run: the server CPU of ``GET /healthz`` (the framework's floor for
one request), three of them right after each login; the ratio is the median of the
per-login ratios.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import uvicorn

from oidc_rp.settings import Settings
from oidc_rp.web import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.node_op import NodeOP, login_via_dev_interactions

__all__ = ["WebLoginResult", "run_web_login_benchmark", "web_client"]

CLIENT_ID = "bench-web"
SECRET = "bench-web-secret-0123456789abcdef0123456789abcdef"
SCOPE = "openid profile email"
#: Seconds to let the server thread finish a response before its CPU clock is read.
SETTLE = 0.003


def web_client(port: int) -> dict[str, Any]:
    """The OP's static registration of the web app served on ``port``."""
    return {
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
    }


@dataclass(frozen=True)
class WebLoginResult:
    """Server-thread CPU milliseconds (medians of the warm logins unless said otherwise)."""

    cold_ms: float
    warm_ms: float
    start_login_ms: float
    callback_ms: float
    index_ms: float
    healthz_ms: float
    ratio: float
    warm_logins: int


class _ServerThread:
    """uvicorn serving the app in a thread whose CPU clock can be read from outside."""

    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> _ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        assert self.thread.ident is not None
        self._clock = time.pthread_getcpuclockid(self.thread.ident)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def cpu_ms(self) -> float:
        """CPU milliseconds the server thread has used so far."""
        return time.clock_gettime(self._clock) * 1000

    async def get(self, browser: httpx2.AsyncClient, url: str) -> tuple[httpx2.Response, float]:
        """GET ``url`` as the browser; the response and the server CPU ms it took."""
        before = self.cpu_ms()
        response = await browser.get(url)
        await asyncio.sleep(SETTLE)
        return response, self.cpu_ms() - before


def _settings(op: NodeOP, port: int, data_dir: Path) -> Settings:
    return Settings.model_validate(
        {
            "issuer": op.issuer,
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "base_url": f"http://127.0.0.1:{port}",
            "scope": SCOPE,
            "session_store": "memory",
            "data_dir": str(data_dir),
        }
    )


async def _login(
    server: _ServerThread, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> tuple[float, float, float]:
    """One login through the app: server CPU ms of /start-login, /callback and /."""
    response, start_ms = await server.get(browser, "/start-login")
    assert response.status_code == 302, response.text[:200]
    result = await login_via_dev_interactions(
        response.headers["location"], cookies_client=op_browser
    )
    parts = urlsplit(result.url)
    response, callback_ms = await server.get(browser, f"{parts.path}?{parts.query}")
    assert response.status_code == 303, response.text[:300]
    response, index_ms = await server.get(browser, "/")
    assert response.status_code == 200 and "alice" in response.text, "not logged in"
    return start_ms, callback_ms, index_ms


async def run_web_login_benchmark(
    op: NodeOP, port: int, tmp_dir: Path, *, warm_logins: int = 20
) -> WebLoginResult:
    """Serve the app on ``port`` (``web_client(port)`` registered at ``op``) and time logins."""
    app = create_app(_settings(op, port, tmp_dir / "web"))
    with _ServerThread(app, port) as server:
        async with (
            httpx2.AsyncClient(base_url=server.url, timeout=10.0) as browser,
            httpx2.AsyncClient(timeout=10.0) as op_browser,
        ):
            cold = sum(await _login(server, browser, op_browser))
            logins: list[tuple[float, float, float]] = []
            floors: list[float] = []
            for _ in range(warm_logins):
                logins.append(await _login(server, browser, op_browser))
                # Right after each login, under the same load: 3 requests to the floor.
                floors.append(sum([(await server.get(browser, "/healthz"))[1] for _ in "abc"]))
    totals = [sum(login) for login in logins]
    ratios = [t / f for t, f in zip(totals, floors, strict=True) if f > 0]
    return WebLoginResult(
        cold_ms=cold,
        warm_ms=statistics.median(totals),
        start_login_ms=statistics.median(login[0] for login in logins),
        callback_ms=statistics.median(login[1] for login in logins),
        index_ms=statistics.median(login[2] for login in logins),
        healthz_ms=statistics.median(floors) / 3,
        ratio=statistics.median(ratios),
        warm_logins=warm_logins,
    )
