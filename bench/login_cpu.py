"""Benchmarks 2 and 4: RP CPU per complete login against node-oidc-provider, and the
"one pooled client, nothing repeated" rule checked by counting requests and connections.

The OP runs in its own process (node), so ``time.process_time`` of this process counts
only what the RP does. It is read around ``RelyingParty.start_login`` and
``RelyingParty.finish_login`` (which includes the UserInfo request) and nothing else:
driving the OP's login pages is the test harness playing the End-User.

Baseline, measured interleaved with the RP logins in the same run: the same HTTP round
trips done bare with one pooled ``httpx2.AsyncClient`` (POST the code to the
token_endpoint, GET the userinfo_endpoint, ``response.json()`` each), with nothing
checked. RP / bare says how much the RP adds on top of raw HTTP.
"""

from __future__ import annotations

import base64
import cProfile
import gc
import io
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx2

from oidc_rp.client import RelyingParty
from oidc_rp.core.authorize import AuthorizationOptions
from oidc_rp.http import Exchange, OPHttpClient
from oidc_rp.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.node_op import NodeOP, login_via_dev_interactions

__all__ = [
    "LoginResult",
    "RequestCount",
    "bench_client",
    "count_requests",
    "profile_rp_logins",
    "time_logins",
]

CLIENT_ID = "bench-rp"
SECRET = "bench-rp-secret-0123456789abcdef0123456789abcdef"
REDIRECT_URI = "http://127.0.0.1:9/callback"
SCOPE = "openid profile email"
OPTIONS = AuthorizationOptions(scope=SCOPE)
T = TypeVar("T")


def bench_client(redirect_uri: str = REDIRECT_URI) -> dict[str, Any]:
    """The OP's static registration of the benchmark client (client_secret_basic)."""
    return {
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
    }


@dataclass(frozen=True)
class LoginResult:
    """CPU milliseconds of this process per login (medians unless said otherwise)."""

    cold_ms: float
    cold_start_ms: float
    cold_finish_ms: float
    new_rp_ms: float
    warm_ms: float
    warm_start_ms: float
    warm_finish_ms: float
    warm_p90_ms: float
    bare_ms: float
    ratio: float
    warm_logins: int


@dataclass
class RequestCount:
    """What the RP sent to the OP during one login, and what it opened to send it."""

    requests: list[str] = field(default_factory=list)
    connections: int = 0


def _settings(op: NodeOP, data_dir: Path) -> Settings:
    return Settings.model_validate(
        {
            "issuer": op.issuer,
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPE,
            "data_dir": str(data_dir),
        }
    )


def _params(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return dict(parse_qsl(parts.query or parts.fragment))


async def _cpu(call: Awaitable[T]) -> tuple[T, float]:
    """Await ``call``; return its result and the CPU ms this process spent meanwhile."""
    started = time.process_time()
    result = await call
    return result, (time.process_time() - started) * 1000


async def _rp_login(rp: RelyingParty, browser: httpx2.AsyncClient) -> tuple[float, float]:
    """One login; CPU ms inside start_login and inside finish_login."""
    gc.collect()
    (url, pending), start_ms = await _cpu(rp.start_login(OPTIONS))
    result = await login_via_dev_interactions(url, cookies_client=browser)
    params = _params(result.url)
    login, finish_ms = await _cpu(rp.finish_login(pending, params))
    assert login.sub == "alice" and login.userinfo is not None, "login incomplete"
    return start_ms, finish_ms


async def _bare_login(
    rp: RelyingParty, browser: httpx2.AsyncClient, bare: httpx2.AsyncClient
) -> float:
    """The same token and userinfo round trips done bare; CPU ms of the two requests."""
    meta = await rp.metadata()
    url, pending = await rp.start_login(OPTIONS)
    result = await login_via_dev_interactions(url, cookies_client=browser)
    code = _params(result.url)["code"]
    assert meta.token_endpoint and meta.userinfo_endpoint
    token_endpoint, userinfo_endpoint = meta.token_endpoint, meta.userinfo_endpoint
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": pending.code_verifier,
    }

    async def round_trips() -> None:
        token = await bare.post(
            token_endpoint, data=form, headers={"authorization": f"Basic {basic}"}
        )
        access_token = token.json()["access_token"]
        userinfo = await bare.get(
            userinfo_endpoint, headers={"authorization": f"Bearer {access_token}"}
        )
        assert userinfo.json()["sub"] == "alice"

    gc.collect()
    _, ms = await _cpu(round_trips())
    return ms


async def time_logins(op: NodeOP, data_dir: Path, warm_logins: int = 40) -> LoginResult:
    """Time a cold login, then ``warm_logins`` logins interleaved with bare baselines.

    ``op`` must have :func:`bench_client` registered.
    """
    rp = RelyingParty(_settings(op, data_dir / "timed"))
    async with (
        httpx2.AsyncClient(timeout=10.0) as browser,
        httpx2.AsyncClient(timeout=10.0) as bare,
    ):
        cold_start, cold_finish = await _rp_login(rp, browser)
        await _bare_login(rp, browser, bare)  # warms the bare client's pool likewise
        rp_ms: list[float] = []
        starts: list[float] = []
        finishes: list[float] = []
        bare_ms: list[float] = []
        for _ in range(warm_logins):
            start_ms, finish_ms = await _rp_login(rp, browser)
            starts.append(start_ms)
            finishes.append(finish_ms)
            rp_ms.append(start_ms + finish_ms)
            bare_ms.append(await _bare_login(rp, browser, bare))
        # A second RelyingParty in the now warm process: its own discovery and JWKS fetch,
        # without the process's one-off costs (lazy imports, first connection setup).
        fresh = RelyingParty(_settings(op, data_dir / "fresh"))
        new_rp_ms = sum(await _rp_login(fresh, browser))
        await fresh.aclose()
    await rp.aclose()
    ratios = [r / b for r, b in zip(rp_ms, bare_ms, strict=True) if b > 0]
    return LoginResult(
        cold_ms=cold_start + cold_finish,
        cold_start_ms=cold_start,
        cold_finish_ms=cold_finish,
        new_rp_ms=new_rp_ms,
        warm_ms=statistics.median(rp_ms),
        warm_start_ms=statistics.median(starts),
        warm_finish_ms=statistics.median(finishes),
        warm_p90_ms=statistics.quantiles(rp_ms, n=10)[-1],
        bare_ms=statistics.median(bare_ms),
        ratio=statistics.median(ratios),
        warm_logins=warm_logins,
    )


class _Recorder:
    """Trace sink and audit hook: requests sent and TCP connections opened while on."""

    def __init__(self) -> None:
        self.current: RequestCount | None = None
        sys.addaudithook(self._audit)

    def trace(self, exchange: Exchange) -> None:
        if self.current is not None:
            path = urlsplit(exchange.url).path
            self.current.requests.append(f"{exchange.method} {path}")

    def _audit(self, event: str, _args: tuple[Any, ...]) -> None:
        if event == "socket.connect" and self.current is not None:
            self.current.connections += 1


async def count_requests(op: NodeOP, data_dir: Path, logins: int = 3) -> list[RequestCount]:
    """OP requests and new connections per login: a cold one, then ``logins`` warm ones.

    The RP gets an OPHttpClient whose client-wide trace sink sees every request the RP
    sends, whichever method sent it. Only the RP's calls are recorded, not the harness.
    Installs an audit hook for the rest of the process: run it after the timed parts.
    """
    recorder = _Recorder()
    rp = RelyingParty(_settings(op, data_dir / "counted"), http=OPHttpClient(trace=recorder.trace))
    counts: list[RequestCount] = []
    async with httpx2.AsyncClient(timeout=10.0) as browser:
        for _ in range(1 + logins):
            count = RequestCount()
            recorder.current = count
            url, pending = await rp.start_login(OPTIONS)
            recorder.current = None
            result = await login_via_dev_interactions(url, cookies_client=browser)
            recorder.current = count
            await rp.finish_login(pending, _params(result.url))
            recorder.current = None
            counts.append(count)
    await rp.aclose()
    return counts


async def profile_rp_logins(op: NodeOP, tmp_dir: Path, logins: int = 30, top: int = 25) -> str:
    """cProfile of the RP's calls only (warm logins), sorted by own time: where CPU goes."""
    profiler = cProfile.Profile(time.process_time)
    rp = RelyingParty(_settings(op, tmp_dir / "profiled"))
    try:
        async with httpx2.AsyncClient(timeout=10.0) as browser:
            await _rp_login(rp, browser)
            for _ in range(logins):
                url, pending = await _profiled(profiler, rp.start_login(OPTIONS))
                result = await login_via_dev_interactions(url, cookies_client=browser)
                params = _params(result.url)
                await _profiled(profiler, rp.finish_login(pending, params))
    finally:
        await rp.aclose()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    print("oidc_rp's own functions by cumulative CPU:", file=out)
    # strip_dirs() dropped the package path; our modules' names identify them instead.
    ours = r"\b(client|http|id_token|jwks|token|userinfo|callback|authorize|random|transaction)\.py"
    stats.sort_stats("cumulative").print_stats(ours, top)
    return out.getvalue()


async def _profiled(profiler: cProfile.Profile, call: Awaitable[T]) -> T:
    profiler.enable()
    try:
        return await call
    finally:
        profiler.disable()
