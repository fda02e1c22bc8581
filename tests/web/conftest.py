"""Fixtures for the web app's tests: the app served by uvicorn on loopback, node-oidc-provider,
a small API that checks bearer tokens, and browser-like httpx2 clients (cookies kept, no
redirects followed). Nothing of oidc-rp is mocked: requests go over real sockets.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette

from oidc_rp.sessions import MemoryStore, SessionStore
from oidc_rp.settings import Settings
from oidc_rp.web import create_app
from support.loopback import LoopbackServer, bind_loopback, start_server
from support.node_op import NodeOP, free_port, login_via_dev_interactions, start_node_op

CLIENT_ID = "rp-web"
#: A public client (no secret): node-oidc-provider rotates its refresh tokens at each use.
PUBLIC_CLIENT_ID = "rp-web-public"
CLIENT_SECRET = "rp-web-secret-0123456789abcdef0123456789abcdef"
OP_KEY = RSAKey.generate_key(2048, parameters={"kid": "op-rsa-1", "use": "sig", "alg": "RS256"})


@dataclass
class ServedApp(LoopbackServer):
    """The web app running in uvicorn on a loopback port, in a background thread."""

    app: Starlette = field(kw_only=True)

    @property
    def url(self) -> str:
        """The app's base URL, http://127.0.0.1:<port>."""
        return self.base_url


def serve(app: Starlette, port: int) -> ServedApp:
    """Run ``app`` on 127.0.0.1:port (lifespan on); return once it accepts connections."""
    served = start_server(app, bind_loopback(port))
    return ServedApp(served.base_url, served.server, served.thread, served.sock, app=app)


class GatedStore:
    """A test double of the SessionStore plug-in point: a MemoryStore that records the keys
    read and written and, once armed, holds the next write of a key with a given prefix
    until the test releases it (to interleave two requests deterministically).

    The app runs in uvicorn's thread, so the gate is made of threading events; the held
    write waits with asyncio.sleep, and the app's event loop keeps serving meanwhile.
    """

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.reads: list[str] = []
        self.writes: list[str] = []
        self.held = threading.Event()
        self.release = threading.Event()
        self._armed: str | None = None

    def hold_next_write(self, prefix: str) -> None:
        """Hold the next ``set`` of a key starting with ``prefix`` until :attr:`release`."""
        self.held.clear()
        self.release.clear()
        self._armed = prefix

    async def get(self, key: str) -> dict[str, Any] | None:
        self.reads.append(key)
        return await self.inner.get(key)

    async def set(
        self, key: str, value: dict[str, Any], ttl: int, *, tags: Iterable[str] = ()
    ) -> None:
        if self._armed is not None and key.startswith(self._armed):
            self._armed = None
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.005)
        self.writes.append(key)
        await self.inner.set(key, value, ttl, tags=tags)

    async def take(self, key: str) -> dict[str, Any] | None:
        return await self.inner.take(key)

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def delete_tagged(self, tag: str) -> int:
        return await self.inner.delete_tagged(tag)

    async def close(self) -> None:
        await self.inner.close()


@dataclass(frozen=True)
class Ports:
    """Ports reserved for the apps (their URLs are registered at the OP in advance)."""

    main: int
    aux: int


@pytest.fixture(scope="session")
def ports() -> Ports:
    return Ports(free_port(), free_port())


def client_metadata(ports: Ports) -> dict[str, Any]:
    """The static client rp-web, registered for both app URLs."""
    urls = [f"http://127.0.0.1:{p}" for p in (ports.main, ports.aux)]
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [f"{u}/callback" for u in urls],
        "post_logout_redirect_uris": [f"{u}/logged-out" for u in urls],
        "backchannel_logout_uri": f"{urls[0]}/backchannel-logout",
        "backchannel_logout_session_required": True,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code", "code id_token"],
        "token_endpoint_auth_method": "client_secret_basic",
    }


def public_client_metadata(ports: Ports) -> dict[str, Any]:
    """The public client rp-web-public (token_endpoint_auth_method none), on the aux app."""
    url = f"http://127.0.0.1:{ports.aux}"
    return {
        "client_id": PUBLIC_CLIENT_ID,
        "redirect_uris": [f"{url}/callback"],
        "post_logout_redirect_uris": [f"{url}/logged-out"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }


@pytest.fixture(scope="session")
def op(ports: Ports, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeOP]:
    """node-oidc-provider with the clients rp-web and rp-web-public, and a key the tests know."""
    jwks = {"keys": [OP_KEY.as_dict(private=True)]}
    node_op = start_node_op(
        [client_metadata(ports), public_client_metadata(ports)],
        tmp_dir=tmp_path_factory.mktemp("op"),
        extra={"jwks": jwks},
    )
    yield node_op
    node_op.stop()


class _ApiHandler(BaseHTTPRequestHandler):
    """A resource server: accepts a bearer token the OP's introspection says is active."""

    introspection_endpoint = ""

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        active: dict[str, Any] = {"active": False}
        if auth.startswith("Bearer "):
            active = httpx2.post(
                self.introspection_endpoint,
                data={"token": auth.removeprefix("Bearer ")},
                auth=(CLIENT_ID, CLIENT_SECRET),
            ).json()
        status = 200 if active.get("active") else 401
        body = {"message": "hello from the API", "sub": active.get("sub")} if status == 200 else {}
        payload = json.dumps(body or {"error": "invalid_token"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Test-Api", "yes")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence stderr logging."""


@pytest.fixture(scope="session")
def api(op: NodeOP) -> Iterator[str]:
    """The test API's URL."""
    metadata = httpx2.get(f"{op.issuer}/.well-known/openid-configuration").json()
    _ApiHandler.introspection_endpoint = metadata["introspection_endpoint"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ApiHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/hello"
    server.shutdown()
    server.server_close()
    thread.join()


def make_settings(port: int, data_dir: Path, **overrides: Any) -> Settings:
    """Settings for an app on 127.0.0.1:port (plain HTTP), overridable key by key."""
    values: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "base_url": f"http://127.0.0.1:{port}",
        "port": port,
        "disable_https": True,
        "data_dir": str(data_dir),
        "session_store": "memory",
        "scope": "openid profile email",
        **overrides,
    }
    return Settings.model_validate(values)


@pytest.fixture(scope="session")
def main_app(
    ports: Ports, op: NodeOP, api: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedApp]:
    """The app most tests use: node OP, debug trace on, the test API, memory sessions."""
    settings = make_settings(
        ports.main,
        tmp_path_factory.mktemp("main-app"),
        issuer=op.issuer,
        debug=True,
        api_endpoint=api,
    )
    served = serve(create_app(settings), ports.main)
    yield served
    served.stop()


@pytest.fixture
def aux_app(ports: Ports, op: NodeOP, tmp_path: Path) -> Iterator[Callable[..., ServedApp]]:
    """Start an app with special settings on the second registered port (one at a time)."""
    started: list[ServedApp] = []

    def start(
        clock: Callable[[], float] = time.time,
        store: SessionStore | None = None,
        **overrides: Any,
    ) -> ServedApp:
        for app in started:
            app.stop()
        overrides.setdefault("issuer", op.issuer)
        settings = make_settings(ports.aux, tmp_path / "data", **overrides)
        started.append(serve(create_app(settings, clock=clock, store=store), ports.aux))
        return started[-1]

    yield start
    for app in started:
        if app.thread.is_alive():
            app.stop()


@pytest.fixture
async def browser() -> AsyncIterator[httpx2.AsyncClient]:
    """A browser at the app: keeps cookies, follows no redirects."""
    async with httpx2.AsyncClient(follow_redirects=False, timeout=10) as client:
        yield client


@pytest.fixture
async def op_browser() -> AsyncIterator[httpx2.AsyncClient]:
    """The same browser's cookies at the OP (kept apart: cookies ignore ports)."""
    async with httpx2.AsyncClient(follow_redirects=False, timeout=10) as client:
        yield client


async def sign_in(
    browser: httpx2.AsyncClient,
    op_browser: httpx2.AsyncClient,
    app_url: str,
    *,
    username: str = "alice",
    **options: str,
) -> httpx2.Response:
    """Start a login with ``options``, play the user at the OP, deliver the response.

    Returns the app's answer to the callback (303 to / on success).
    """
    start = await browser.get(f"{app_url}/start-login", params=options)
    assert start.status_code == 302, start.text
    result = await login_via_dev_interactions(
        start.headers["location"], username=username, cookies_client=op_browser
    )
    if result.form is not None:
        return await browser.post(result.url, data=result.form)
    return await browser.get(result.url)


async def session_json(browser: httpx2.AsyncClient, app_url: str) -> dict[str, Any]:
    """GET /api/session as JSON (any status)."""
    response = await browser.get(f"{app_url}/api/session")
    body: dict[str, Any] = response.json()
    return body


def query_of(url: str) -> dict[str, str]:
    """Single-valued query parameters of a URL."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def logout_token(op: NodeOP, **claims: Any) -> str:
    """A logout token signed with the OP's key (Back-Channel Logout 1.0 §2.4)."""
    now = int(time.time())
    body = {
        "iss": op.issuer,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "jti": f"jti-{time.monotonic_ns()}",
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        **claims,
    }
    body = {k: v for k, v in body.items() if v is not None}
    header = {"alg": "RS256", "kid": "op-rsa-1", "typ": "logout+jwt"}
    return jwt.encode(header, body, OP_KEY)
