"""Fixtures for the end-to-end tests: a real headless Chromium driven by Playwright.

One node-oidc-provider, one app and one browser serve the whole e2e run:

- node-oidc-provider (tests/op_node) on http://127.0.0.1:<port> with two clients: ``rp-e2e``
  (the app: client_secret_basic, a registered ``jwks`` for RS256 request objects) and ``api``
  (the test API, which introspects bearer tokens with its own credentials, RFC 7662 §2.1);
- the app, ``oidc_rp.web.create_app``, served by uvicorn (``support.loopback``) over HTTPS on
  https://localhost:<port> with the self-signed certificate of
  ``oidc_rp.tls.ensure_self_signed_certificate``, sessions in a real SQLite file;
- the test API, a Starlette app on loopback that answers 200 JSON when the OP says the bearer
  token is active and 401 otherwise, and remembers each bearer token it saw;
- Debian's Chromium (/usr/bin/chromium) through Playwright's sync API. No browser download:
  ``executable_path`` points at the system Chromium. The contexts use
  ``ignore_https_errors=True`` because the app's certificate is self-signed (a developer
  clicking through Chromium's warning does the same); nothing else about TLS is relaxed.

Chromium missing is a failure with a clear message, never a skip.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from joserfc.jwk import RSAKey
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from oidc_rp.settings import Settings
from oidc_rp.tls import ensure_self_signed_certificate
from oidc_rp.web import create_app
from support.loopback import bind_loopback, port_of, start_server
from support.node_op import NodeOP, start_node_op

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the tests may run as root (containers)
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium phones home, which a closed network refuses (slow, noisy).
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}

CLIENT_ID = "rp-e2e"
CLIENT_SECRET = "rp-e2e-secret-0123456789abcdef0123456789abcdef"
API_CLIENT_ID = "api"
API_CLIENT_SECRET = "api-secret-0123456789abcdef0123456789abcdef"
REQUEST_OBJECT_KEY = RSAKey.generate_key(
    2048, parameters={"kid": "rp-e2e-ro-1", "use": "sig", "alg": "RS256"}
)


# The OP ----------------------------------------------------------------------------------


def rp_client_metadata(app_url: str) -> dict[str, Any]:
    """The app's static registration at the OP (RFC 7591 names)."""
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [f"{app_url}/callback"],
        "post_logout_redirect_uris": [f"{app_url}/logged-out"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code", "code id_token"],
        "token_endpoint_auth_method": "client_secret_basic",
        # RFC 9101: request objects signed with the app's request_object_key.
        "jwks": {"keys": [REQUEST_OBJECT_KEY.as_dict(private=False)]},
        "request_object_signing_alg": "RS256",
    }


API_CLIENT_METADATA: dict[str, Any] = {
    "client_id": API_CLIENT_ID,
    "client_secret": API_CLIENT_SECRET,
    "redirect_uris": [],
    "response_types": [],
    "grant_types": ["client_credentials"],
    "token_endpoint_auth_method": "client_secret_basic",
}


@pytest.fixture(scope="session")
def app_socket() -> Iterator[socket.socket]:
    """The app's socket, bound first: its URL is registered at the OP before the app starts."""
    sock = bind_loopback()
    yield sock
    sock.close()


@pytest.fixture(scope="session")
def app_url(app_socket: socket.socket) -> str:
    """https://localhost:<port> (localhost: the certificate's name; cookies get __Host-)."""
    return f"https://localhost:{port_of(app_socket)}"


@pytest.fixture(scope="session")
def op(app_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeOP]:
    """node-oidc-provider with the clients rp-e2e and api."""
    node_op = start_node_op(
        [rp_client_metadata(app_url), API_CLIENT_METADATA],
        tmp_dir=tmp_path_factory.mktemp("e2e-op"),
    )
    yield node_op
    node_op.stop()


@pytest.fixture(scope="session")
def op_metadata(op: NodeOP) -> dict[str, Any]:
    """The OP's discovery document."""
    metadata: dict[str, Any] = httpx2.get(f"{op.issuer}/.well-known/openid-configuration").json()
    return metadata


# The test API ----------------------------------------------------------------------------


@dataclass
class TestApi:
    """The resource server: its URL and the bearer tokens it was called with."""

    __test__ = False  # not a pytest test class

    url: str
    seen_tokens: list[str] = field(default_factory=list)


def api_app(introspection_endpoint: str, api: TestApi) -> Starlette:
    """GET /hello: 200 JSON when the OP says the bearer token is active, else 401."""

    async def hello(request: Request) -> JSONResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return JSONResponse({"error": "invalid_request"}, status_code=401)
        api.seen_tokens.append(token)
        async with httpx2.AsyncClient(timeout=5) as client:
            answer = await client.post(
                introspection_endpoint,
                data={"token": token, "token_type_hint": "access_token"},
                auth=(API_CLIENT_ID, API_CLIENT_SECRET),
            )
        claims = answer.json()
        if answer.status_code != 200 or claims.get("active") is not True:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"message": "hello from the test API", "sub": claims.get("sub")})

    return Starlette(routes=[Route("/hello", hello, methods=["GET"])])


@pytest.fixture(scope="session")
def test_api(op_metadata: dict[str, Any]) -> Iterator[TestApi]:
    """The test API on http://127.0.0.1:<port>/hello."""
    sock = bind_loopback()
    api = TestApi(url=f"http://127.0.0.1:{port_of(sock)}/hello")
    served = start_server(api_app(op_metadata["introspection_endpoint"], api), sock)
    yield api
    served.stop()


# The app ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def app(
    app_socket: socket.socket,
    app_url: str,
    op: NodeOP,
    test_api: TestApi,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The web app over HTTPS with its self-signed certificate; yields its URL."""
    data_dir = tmp_path_factory.mktemp("e2e-app")
    settings = Settings.model_validate(
        {
            "issuer": op.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "base_url": app_url,
            "port": port_of(app_socket),
            "data_dir": str(data_dir),
            "session_store": f"sqlite:///{data_dir / 'sessions.sqlite3'}",
            "scope": "openid profile email",
            "api_endpoint": test_api.url,
            "request_object_key": json.dumps(REQUEST_OBJECT_KEY.as_dict(private=True)),
        }
    )
    served = start_server(
        create_app(settings), app_socket, tls=ensure_self_signed_certificate(data_dir / "tls")
    )
    yield app_url
    served.stop()


# The browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver (sync API), per module.

    While it runs, the sync API keeps its own asyncio loop registered as running in this
    thread, so it must stop before any async test (pytest-asyncio) runs: module scope.
    """
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's headless Chromium; missing Chromium fails the tests (never skips)."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's 'chromium' package "
            "(make test runs scripts/ensure-system-deps); the browser tests never skip"
        )
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile per test (no cookies at the app or at the OP).

    ignore_https_errors: the app's certificate is self-signed (docs above).
    """
    ctx = browser.new_context(ignore_https_errors=True, viewport=VIEWPORT)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab in the fresh profile."""
    return context.new_page()
