"""OPHttpClient against real loopback servers (uvicorn + Starlette, plain and TLS)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from oidc_rp import __version__
from oidc_rp.core.messages import HttpRequest, form_request
from oidc_rp.errors import OPUnreachableError, ProtocolError
from oidc_rp.http import MAX_RESPONSE_BYTES, Exchange, OPHttpClient, redact_body, redact_url
from oidc_rp.tls import ensure_self_signed_certificate
from support.loopback import start_server

ACCESS = "AT-4f8c2a-access-token-value"
REFRESH = "RT-91b7e0-refresh-token-value"
CLIENT_SECRET = "CS-0c1d2e-client-secret-value"
CODE = "CODE-77aa-authorization-code"
VERIFIER = "VERIFIER-5b5b-code-verifier-value-0123456789abcdef"
SUBSCRIPTION = "SUB-KEY-3e3e-subscription-key"
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl"
ALL_SECRETS = (ACCESS, REFRESH, CLIENT_SECRET, CODE, VERIFIER, SUBSCRIPTION, ID_TOKEN)


async def _slow(request: Request) -> Response:
    await asyncio.sleep(3)
    return PlainTextResponse("late")


async def _drip(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(100):
            await asyncio.sleep(0.1)
            yield b"x"

    return StreamingResponse(body(), media_type="text/plain")


async def _big(request: Request) -> Response:
    return PlainTextResponse("x" * (MAX_RESPONSE_BYTES + 1))


async def _big_stream(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(17):
            yield b"y" * 65536

    return StreamingResponse(body(), media_type="text/plain")


async def _exact_limit(request: Request) -> Response:
    return PlainTextResponse("z" * MAX_RESPONSE_BYTES)


async def _redirect(request: Request) -> Response:
    return Response(status_code=302, headers={"location": "/elsewhere"})


async def _echo(request: Request) -> Response:
    client = request.client
    return JSONResponse(
        {
            "user_agent": request.headers.get("user-agent"),
            "client_port": client.port if client else None,
        }
    )


async def _token(request: Request) -> Response:
    return JSONResponse(
        {
            "access_token": ACCESS,
            "refresh_token": REFRESH,
            "id_token": ID_TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "nested": [{"client_secret": CLIENT_SECRET}],
        },
        headers={"set-cookie": f"sid={ACCESS}"},
    )


async def _html_error(request: Request) -> Response:
    return Response(f"<p>bad token {ID_TOKEN}</p>", status_code=400, media_type="text/html")


def _app() -> Starlette:
    return Starlette(
        routes=[
            Route("/slow", _slow),
            Route("/drip", _drip),
            Route("/big", _big),
            Route("/big-stream", _big_stream),
            Route("/exact-limit", _exact_limit),
            Route("/redirect", _redirect),
            Route("/echo", _echo, methods=["GET", "POST"]),
            Route("/token", _token, methods=["POST"]),
            Route("/html-error", _html_error),
        ]
    )


@dataclass(frozen=True)
class Served:
    base: str
    cert: Path | None = None


@contextlib.contextmanager
def _serve(tls: tuple[Path, Path] | None = None, host: str = "127.0.0.1") -> Iterator[str]:
    """Run the test app on a free loopback port in a thread; yield its base URL (at ``host``).

    No grace at exit: the slow and dripping responses a test gave up on are cut off.
    """
    served = start_server(_app(), tls=tls, host_for_url=host, graceful_timeout=0)
    try:
        yield served.base_url
    finally:
        served.stop()


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with _serve() as url:
        yield url


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    cert, key = ensure_self_signed_certificate(tmp_path_factory.mktemp("tls"))
    with _serve((cert, key), host="localhost") as url:  # localhost: the certificate's name
        yield Served(url, cert)


@pytest.fixture
async def http() -> AsyncIterator[OPHttpClient]:
    client = OPHttpClient(timeout=0.5)
    yield client
    await client.aclose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_timeout_is_op_unreachable(base: str, http: OPHttpClient) -> None:
    started = time.monotonic()
    with pytest.raises(
        OPUnreachableError, match=r"^http: 127\.0\.0\.1:\d+ did not answer in time$"
    ):
        await http.send(HttpRequest("GET", f"{base}/slow"))
    assert time.monotonic() - started < 2


async def test_a_dripping_server_hits_the_overall_deadline(base: str, http: OPHttpClient) -> None:
    started = time.monotonic()
    with pytest.raises(OPUnreachableError, match="did not answer in time"):
        await http.send(HttpRequest("GET", f"{base}/drip"))
    assert time.monotonic() - started < 2.5


async def test_connection_refused_is_op_unreachable(http: OPHttpClient) -> None:
    port = _free_port()
    with pytest.raises(OPUnreachableError, match=rf"^http: cannot reach 127\.0\.0\.1:{port} \("):
        await http.send(HttpRequest("GET", f"http://127.0.0.1:{port}/"))


async def test_messages_never_show_credentials_of_a_url(http: OPHttpClient) -> None:
    with pytest.raises(OPUnreachableError) as caught:
        await http.send(HttpRequest("GET", "http://alice:s3cret@127.0.0.1:1/x"))
    assert "s3cret" not in caught.value.message and "alice" not in caught.value.message
    assert "127.0.0.1:1" in caught.value.message


async def test_a_header_http_cannot_carry_is_op_unreachable_not_a_crash(
    base: str, http: OPHttpClient
) -> None:
    request = HttpRequest("GET", f"{base}/echo", {"authorization": "Bearer t\u00e9"})
    with pytest.raises(OPUnreachableError):
        await http.send(request)


async def test_redirects_are_not_followed(base: str, http: OPHttpClient) -> None:
    response = await http.send(HttpRequest("GET", f"{base}/redirect"))
    assert response.status == 302
    assert response.headers["location"] == "/elsewhere"


async def test_user_agent_is_sent(base: str, http: OPHttpClient) -> None:
    response = await http.send(HttpRequest("GET", f"{base}/echo"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert b'"user_agent":"oidc-rp/' + __version__.encode() + b'"' in response.body


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
async def test_response_over_1_mib_is_a_protocol_error(
    base: str, http: OPHttpClient, path: str
) -> None:
    with pytest.raises(ProtocolError, match=r"exceeds 1048576 bytes$"):
        await http.send(HttpRequest("GET", base + path))


async def test_response_of_exactly_1_mib_is_accepted(base: str, http: OPHttpClient) -> None:
    response = await http.send(HttpRequest("GET", f"{base}/exact-limit"))
    assert len(response.body) == MAX_RESPONSE_BYTES


async def test_one_pooled_connection_is_reused(base: str, http: OPHttpClient) -> None:
    ports = set()
    for _ in range(3):
        response = await http.send(HttpRequest("GET", f"{base}/echo"))
        ports.add(response.body.split(b'"client_port":')[1].rstrip(b"}"))
    assert len(ports) == 1


async def test_tls_trusts_ca_file(tls_server: Served) -> None:
    client = OPHttpClient(timeout=2, ca_file=str(tls_server.cert))
    try:
        response = await client.send(HttpRequest("GET", f"{tls_server.base}/echo"))
    finally:
        await client.aclose()
    assert response.status == 200


async def test_tls_without_ca_file_fails_verification(tls_server: Served) -> None:
    client = OPHttpClient(timeout=2)
    try:
        with pytest.raises(OPUnreachableError, match=r"^http: cannot reach localhost:\d+ \("):
            await client.send(HttpRequest("GET", f"{tls_server.base}/echo"))
    finally:
        await client.aclose()


async def test_tls_verify_false_accepts_any_certificate(tls_server: Served) -> None:
    client = OPHttpClient(timeout=2, verify=False)
    try:
        response = await client.send(HttpRequest("GET", f"{tls_server.base}/echo"))
    finally:
        await client.aclose()
    assert response.status == 200


def _assert_no_secret(text: str) -> None:
    for secret in ALL_SECRETS:
        assert secret not in text, f"secret {secret[:8]}... leaked"


async def test_trace_and_debug_log_are_redacted(
    base: str, caplog: pytest.LogCaptureFixture
) -> None:
    exchanges: list[Exchange] = []
    client = OPHttpClient(timeout=2, debug=True, trace=exchanges.append)
    form = {
        "grant_type": "authorization_code",
        "code": CODE,
        "code_verifier": VERIFIER,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH,
        "redirect_uri": "https://rp.example/callback",
    }
    headers = {"authorization": f"Bearer {ACCESS}", "ocp-apim-subscription-key": SUBSCRIPTION}
    request = form_request(f"{base}/token?access_token={ACCESS}&x=1", form, headers)
    with caplog.at_level(logging.DEBUG, logger="oidc_rp.http"):
        try:
            response = await client.send(request)
            await client.send(HttpRequest("GET", f"{base}/html-error"))
        finally:
            await client.aclose()
    assert ACCESS.encode() in response.body  # the caller gets the real values
    token, html = exchanges
    _assert_no_secret(repr(exchanges))
    _assert_no_secret(caplog.text)
    assert token.status == 200
    assert token.url == f"{base}/token?access_token=[redacted]&x=1"
    assert "grant_type=authorization_code" in token.request_body
    assert "redirect_uri=https%3A%2F%2Frp.example%2Fcallback" in token.request_body
    assert "code_verifier=[redacted]" in token.request_body
    assert token.request_headers["authorization"] == "[redacted]"
    assert token.request_headers["ocp-apim-subscription-key"] == "[redacted]"
    assert token.response_headers["set-cookie"] == "[redacted]"
    assert '"token_type": "Bearer"' in token.response_body
    assert '"access_token": "[redacted]"' in token.response_body
    assert html.response_body == "<p>bad token [redacted]</p>"
    assert "POST " + token.url + " -> 200" in caplog.text


async def test_failures_reach_the_trace(base: str) -> None:
    exchanges: list[Exchange] = []
    client = OPHttpClient(timeout=0.3, trace=exchanges.append)
    per_call: list[Exchange] = []
    try:
        with pytest.raises(OPUnreachableError):
            await client.send(HttpRequest("GET", f"{base}/slow"), trace=per_call.append)
        with pytest.raises(ProtocolError):
            await client.send(HttpRequest("GET", f"{base}/big"))
    finally:
        await client.aclose()
    assert [(e.status, e.error) for e in exchanges] == [
        (None, "timeout"),
        (None, "response too large"),
    ]
    assert per_call == exchanges[:1]


async def test_no_debug_no_log(base: str, caplog: pytest.LogCaptureFixture) -> None:
    client = OPHttpClient(timeout=2)
    with caplog.at_level(logging.DEBUG, logger="oidc_rp.http"):
        try:
            await client.send(HttpRequest("GET", f"{base}/echo"))
        finally:
            await client.aclose()
    assert caplog.records == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://op.example/a", "https://op.example/a"),
        ("https://op.example/a?code=c&state=s", "https://op.example/a?code=[redacted]&state=s"),
        ("https://u:pw@op.example/", "https://[redacted]@op.example/"),
        (
            "https://op.example/cb#id_token=x&state=s",
            "https://op.example/cb#id_token=[redacted]&state=s",
        ),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redacted_bodies_are_bounded_whatever_their_type() -> None:
    big_json = json.dumps({"claims": ["x" * 100] * 500}).encode()
    assert len(redact_body(big_json, "application/json", limit=1000)) == 1001
    assert redact_body(b"[" * 100_000 + b"]" * 100_000, "application/json") == (
        "[unparseable JSON]"
    )
    form = b"&".join(b"f%d=v" % i for i in range(5000))
    assert len(redact_body(form, "application/x-www-form-urlencoded", limit=500)) == 501
