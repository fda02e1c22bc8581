"""The only module that talks HTTP: sends the core's requests and returns its responses.

One pooled ``httpx2.AsyncClient`` (one TLS context) serves the whole process. Every call
has a timeout, verifies TLS (or trusts ``ca_file``), never follows redirects, sends a
User-Agent, and caps the response size. Network failures become
:class:`~oidc_rp.errors.OPUnreachableError`. With ``debug`` each exchange is logged with
secrets and token values redacted, and an optional trace sink receives the same record
(the web app's protocol trace).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx2

from oidc_rp import __version__
from oidc_rp.core.messages import HttpRequest, HttpResponse
from oidc_rp.errors import OPUnreachableError, ProtocolError

__all__ = ["Exchange", "OPHttpClient", "TraceSink", "redact_body", "redact_url"]

log = logging.getLogger("oidc_rp.http")

USER_AGENT = f"oidc-rp/{__version__}"
MAX_RESPONSE_BYTES = 1024 * 1024
REDACTED = "[redacted]"

# Names whose values are secrets or tokens wherever they appear (form, query, JSON, header).
SECRET_NAMES = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "code",
        "code_verifier",
        "client_secret",
        "client_assertion",
        "assertion",
        "password",
        "initial_access_token",
        "subscription_key",
        "api_key",
        "request",
        "logout_token",
        "registration_access_token",
        "id_token_hint",
        "authorization",
        "cookie",
        "set-cookie",
        "dpop",
        "proxy-authorization",
    }
)
# Header names compared lower-case; any name containing one of SECRET_HEADER_PARTS is
# redacted too (Ocp-Apim-Subscription-Key, X-Api-Key, X-Auth-Token, ...).
SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "dpop", "proxy-authorization"})
SECRET_HEADER_PARTS = ("key", "secret", "token", "password", "session")
# A compact JWS/JWE anywhere in free text (an error page echoing a token).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Exchange:
    """One redacted HTTP exchange with the OP, for logs and the protocol trace."""

    method: str
    url: str
    status: int | None
    request_headers: Mapping[str, str]
    request_body: str
    response_headers: Mapping[str, str] = field(default_factory=dict)
    response_body: str = ""
    elapsed_ms: float = 0.0
    error: str | None = None


TraceSink = Callable[[Exchange], None]


def _is_secret_name(name: str) -> bool:
    return name.lower() in SECRET_NAMES


def _redact_pairs(text: str) -> str:
    pairs = parse_qsl(text, keep_blank_values=True)
    return urlencode([(k, REDACTED if _is_secret_name(k) else v) for k, v in pairs], safe="[]")


def redact_url(url: str) -> str:
    """The URL with user:password and the values of secret query parameters replaced."""
    parts = urlsplit(url)
    if parts.password is not None:
        parts = parts._replace(netloc=f"{REDACTED}@{parts.netloc.rpartition('@')[2]}")
    if parts.query:
        parts = parts._replace(query=_redact_pairs(parts.query))
    if parts.fragment:
        parts = parts._replace(fragment=_redact_pairs(parts.fragment))
    return urlunsplit(parts)


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: REDACTED if _is_secret_name(k) and v is not None else _redact_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def redact_body(body: bytes | None, media_type: str, limit: int = 8192) -> str:
    """A printable, redacted form of a request or response body, at most ``limit`` characters.

    The bound keeps debug logs and the session's protocol trace small whatever the OP sent.
    """
    text = _redacted_text(body, media_type, limit)
    return text if len(text) <= limit else text[:limit] + "…"


def _redacted_text(body: bytes | None, media_type: str, limit: int) -> str:
    if not body:
        return ""
    if media_type == "application/x-www-form-urlencoded":
        return _redact_pairs(body.decode("utf-8", "replace"))
    if media_type.endswith("json"):
        try:
            return json.dumps(_redact_json(json.loads(body)), indent=2)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return "[unparseable JSON]"
    if media_type in ("application/jwt", "application/jose") or media_type.endswith("+jwt"):
        return REDACTED
    # Cut before redacting would split a JWT; redact the first part generously instead.
    return _JWT.sub(REDACTED, body[: limit * 2].decode("utf-8", "replace"))


def _is_secret_header(name: str) -> bool:
    lower = name.lower()
    return lower in SECRET_HEADERS or any(part in lower for part in SECRET_HEADER_PARTS)


def _redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: REDACTED if _is_secret_header(k) else v for k, v in headers.items()}


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _host(url: str) -> str:
    """host[:port] of a URL for messages: never the user:password part of the netloc."""
    return urlsplit(url).netloc.rpartition("@")[2]


class OPHttpClient:
    """Sends :class:`HttpRequest` values over one pooled connection pool."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        verify: bool = True,
        ca_file: str | None = None,
        debug: bool = False,
        trace: TraceSink | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        context: ssl.SSLContext | bool
        if ca_file:
            context = ssl.create_default_context(cafile=ca_file)
        elif verify:
            context = ssl.create_default_context()
        else:
            context = False
        self._client = httpx2.AsyncClient(
            timeout=httpx2.Timeout(timeout),
            verify=context,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
            transport=transport,
            limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20),
        )
        self._timeout = timeout
        self._debug = debug
        self._trace = trace

    async def send(self, request: HttpRequest, *, trace: TraceSink | None = None) -> HttpResponse:
        """Send one request; return the response or raise OPUnreachableError."""
        started = time.perf_counter()
        host = _host(request.url)
        try:
            # The per-read timeout alone would let a server drip bytes for ever.
            async with asyncio.timeout(self._timeout * 2):
                response = await self._exchange(request)
        except (httpx2.TimeoutException, TimeoutError):
            self._record(request, None, started, "timeout", trace)
            raise OPUnreachableError(f"http: {host} did not answer in time") from None
        except (httpx2.HTTPError, OSError, UnicodeError) as exc:
            # UnicodeError: a header value (say a token from the OP) that HTTP cannot carry.
            self._record(request, None, started, type(exc).__name__, trace)
            raise OPUnreachableError(f"http: cannot reach {host} ({type(exc).__name__})") from None
        except ProtocolError:
            self._record(request, None, started, "response too large", trace)
            raise
        self._record(request, response, started, None, trace)
        return response

    async def _exchange(self, request: HttpRequest) -> HttpResponse:
        async with self._client.stream(
            request.method, request.url, headers=dict(request.headers), content=request.body
        ) as raw:
            too_large = ProtocolError(
                f"http: response from {_host(request.url)} exceeds {MAX_RESPONSE_BYTES} bytes"
            )
            declared = raw.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
                raise too_large
            chunks: list[bytes] = []
            size = 0
            async for chunk in raw.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise too_large
                chunks.append(chunk)
            return HttpResponse(raw.status_code, dict(raw.headers), b"".join(chunks))

    def _record(
        self,
        request: HttpRequest,
        response: HttpResponse | None,
        started: float,
        error: str | None,
        trace: TraceSink | None,
    ) -> None:
        sinks = [s for s in (self._trace, trace) if s is not None]
        if not (self._debug or sinks):
            return
        exchange = Exchange(
            method=request.method,
            url=redact_url(request.url),
            status=response.status if response else None,
            request_headers=_redact_headers(request.headers),
            request_body=redact_body(request.body, _media_type(request.headers)),
            response_headers=_redact_headers(response.headers) if response else {},
            response_body=redact_body(response.body, response.media_type) if response else "",
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
            error=error,
        )
        if self._debug:
            log.debug(
                "%s %s -> %s (%.1f ms)%s",
                exchange.method,
                exchange.url,
                exchange.status if exchange.status is not None else exchange.error,
                exchange.elapsed_ms,
                f"\nrequest: {exchange.request_body}\nresponse: {exchange.response_body}",
            )
        for sink in sinks:
            sink(exchange)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
