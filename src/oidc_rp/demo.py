"""`oidc-rp demo`: a development OP, a small protected API and the app, on loopback.

The OP is the PyPI package ``oidc-provider-mock`` (a real OpenID Provider whose login
form accepts any user name), run in a child process (``python -m oidc_rp.demo``) so
that its deprecated authlib calls cannot disturb the app. The API answers ``GET /hello``
only with a bearer token that the OP's userinfo endpoint accepts. Nothing here is
special-cased in the app: features the demo OP lacks (revocation, introspection) are read
from its discovery document and shown as unavailable.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import subprocess
import sys
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from oidc_rp.core.messages import HttpRequest, json_object
from oidc_rp.errors import OIDCError
from oidc_rp.http import OPHttpClient

__all__ = ["DemoServers", "create_demo_api", "run_demo_servers"]

log = logging.getLogger("oidc_rp.demo")


@dataclass(frozen=True)
class DemoServers:
    """Where the demo OP and the demo API listen."""

    issuer: str
    api_endpoint: str


def _op_main(port: int) -> None:
    """Serve the demo OP in this process (a child of ``oidc-rp demo``); print its port."""
    # oidc-provider-mock drives deprecated authlib APIs, which warn at import and on each
    # token request; in a process of its own they cannot disturb the app (or a test run).
    # authlib installs an "always" filter for its own warning class when imported, so the
    # ignore filter goes in after that import.
    import authlib.deprecate  # noqa: F401

    warnings.simplefilter("ignore", DeprecationWarning)
    import oidc_provider_mock
    import werkzeug.serving

    app = oidc_provider_mock.app(require_nonce=True, issue_refresh_token=True)
    # init_app wraps the app in werkzeug's interactive debugger; a demo needs no console.
    app.wsgi_app = getattr(app.wsgi_app, "app", app.wsgi_app)
    app.debug = False
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = werkzeug.serving.make_server("127.0.0.1", port, app, threaded=True)
    # Stop with the parent: its end closes our stdin.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    print(server.server_port, flush=True)
    server.serve_forever()


@contextlib.contextmanager
def _demo_op(port: int) -> Iterator[str]:
    command = [sys.executable, "-W", "ignore::DeprecationWarning", "-m", "oidc_rp.demo"]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no user input
        [*command, "--op-port", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    try:
        if not line.isdigit():
            raise OSError(f"the demo OP did not start (exit code {process.poll()})")
        yield f"http://127.0.0.1:{line}"
    finally:
        process.terminate()
        process.communicate(timeout=5)


def create_demo_api(issuer: str) -> Starlette:
    """A protected API: ``GET /hello`` checks the bearer token at the OP's userinfo endpoint."""
    http = OPHttpClient(timeout=5)

    async def hello(request: Request) -> JSONResponse:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value:
            return JSONResponse(
                {"error": "invalid_request", "error_description": "bearer token required"},
                status_code=401,
                headers={"www-authenticate": 'Bearer error="invalid_request"'},
            )
        check = HttpRequest("GET", f"{issuer}/userinfo", {"authorization": f"Bearer {value}"})
        try:
            answer = await http.send(check)
        except OIDCError:
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
        if answer.status != 200:
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={"www-authenticate": 'Bearer error="invalid_token"'},
            )
        try:
            claims = json_object(answer, "demo_api.userinfo")
        except OIDCError:
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
        return JSONResponse({"message": "Hello from the demo API", "sub": claims.get("sub")})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await http.aclose()

    return Starlette(routes=[Route("/hello", hello)], lifespan=lifespan)


@contextlib.contextmanager
def _demo_api(issuer: str, port: int) -> Iterator[str]:
    config = uvicorn.Config(
        create_demo_api(issuer), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="demo-api", daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.02)
    sock = server.servers[0].sockets[0] if server.servers else None
    bound = sock.getsockname()[1] if sock else port
    try:
        yield f"http://127.0.0.1:{bound}/hello"
    finally:
        server.should_exit = True
        thread.join(5)


@contextlib.contextmanager
def run_demo_servers(op_port: int = 0, api_port: int = 0) -> Iterator[DemoServers]:
    """Start the demo OP and API in background threads; stop them on exit."""
    with _demo_op(op_port) as issuer, _demo_api(issuer, api_port) as api:
        yield DemoServers(issuer=issuer, api_endpoint=api)


def demo_settings(servers: DemoServers, *, port: int, https: bool) -> dict[str, Any]:
    """Settings for the app, pointed at the demo OP (a random client secret per run)."""
    scheme = "https" if https else "http"
    return {
        "issuer": servers.issuer,
        "client_id": "oidc-rp-demo",
        "client_secret": secrets.token_urlsafe(32),
        "scope": "openid profile email",
        "api_endpoint": servers.api_endpoint,
        "port": port,
        "disable_https": not https,
        "base_url": f"{scheme}://localhost:{port}",
        "data_dir": ".oidc-rp/demo",
        "session_store": "memory",
        "debug": True,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m oidc_rp.demo")
    parser.add_argument("--op-port", type=int, default=0)
    _op_main(parser.parse_args().op_port)
