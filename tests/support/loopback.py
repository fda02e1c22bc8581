"""Serve an ASGI app with uvicorn on a loopback socket, in a background thread.

The one helper every test that needs a real server over real sockets uses: the test OP
(``support.test_op``), the web app (tests/web), the e2e app and test API (tests/e2e), the
conformance harness and the HTTP client tests (tests/test_http.py).

- :func:`bind_loopback` binds the socket first, so that a test can learn (and register) the
  URL before the app exists;
- :func:`start_server` runs an app on such a socket and returns a :class:`LoopbackServer` once
  uvicorn serves; :func:`start_app` does both for an app that needs its own base URL;
- :func:`serve_app` is the context-manager form: it yields the base URL and stops at exit.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

#: How long uvicorn may take to start, and to stop.
START_TIMEOUT = 10.0

Lifespan = Literal["auto", "on", "off"]


def bind_loopback(port: int = 0) -> socket.socket:
    """A TCP socket bound to 127.0.0.1:``port`` (0: a free port), ready for uvicorn to listen on.

    SO_REUSEADDR lets a test rebind a port it just used (TIME_WAIT) for a restarted app.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit TCP_NODELAY. Without it Nagle's algorithm holds back the small
    # second write of a response (body after headers) until the client's delayed ACK, and every
    # request on a keep-alive connection stalls ~40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def port_of(sock: socket.socket) -> int:
    """The port a socket is bound to."""
    port: int = sock.getsockname()[1]
    return port


def url_of(sock: socket.socket, *, scheme: str = "http", host: str = "127.0.0.1") -> str:
    """The base URL of a bound socket: ``{scheme}://{host}:{port}`` (no trailing slash)."""
    return f"{scheme}://{host}:{port_of(sock)}"


@dataclass
class LoopbackServer:
    """An ASGI app in uvicorn on a loopback socket, in a daemon thread."""

    base_url: str
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket

    def signal_exit(self) -> None:
        """Ask uvicorn to stop (with lifespan on, the app's shutdown then runs).

        Separate from :meth:`join` so that several servers stop in parallel.
        """
        self.server.should_exit = True

    def join(self) -> None:
        """Wait for the thread, close the socket; fails when uvicorn did not stop."""
        self.thread.join(timeout=START_TIMEOUT)
        self.sock.close()
        assert not self.thread.is_alive(), "uvicorn did not stop"

    def stop(self) -> None:
        """:meth:`signal_exit` then :meth:`join`."""
        self.signal_exit()
        self.join()


def start_server(
    app: ASGIApp,
    sock: socket.socket | None = None,
    *,
    lifespan: Lifespan = "on",
    tls: tuple[Path, Path] | None = None,
    host_for_url: str = "127.0.0.1",
    graceful_timeout: int | None = None,
) -> LoopbackServer:
    """Run ``app`` with uvicorn on ``sock`` (default: a fresh :func:`bind_loopback`) in a thread.

    Over HTTPS when ``tls`` = (certificate file, key file) is given. ``host_for_url`` names the
    host in :attr:`LoopbackServer.base_url` (``localhost`` to match a certificate's name);
    ``graceful_timeout`` bounds how long uvicorn waits for open requests at exit (None: no
    bound). Returns once uvicorn serves; raises RuntimeError when it did not start in time.
    """
    sock = sock if sock is not None else bind_loopback()
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        ws="none",
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
        timeout_graceful_shutdown=graceful_timeout,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the loopback server did not start")
        time.sleep(0.005)
    base_url = url_of(sock, scheme="https" if tls else "http", host=host_for_url)
    return LoopbackServer(base_url, server, thread, sock)


def start_app(
    app_factory: Callable[[str], ASGIApp], *, lifespan: Lifespan = "on"
) -> LoopbackServer:
    """Serve ``app_factory(base_url)`` over HTTP on a free loopback port (see start_server)."""
    sock = bind_loopback()
    return start_server(app_factory(url_of(sock)), sock, lifespan=lifespan)


@contextmanager
def serve_app(
    app_factory: Callable[[str], ASGIApp], *, lifespan: Lifespan = "off"
) -> Iterator[str]:
    """Serve ``app_factory(base_url)`` on a free loopback port; yield the base URL; stop at exit."""
    served = start_app(app_factory, lifespan=lifespan)
    try:
        yield served.base_url
    finally:
        served.stop()
