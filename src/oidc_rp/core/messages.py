"""Immutable HTTP request and response values exchanged between the core and ``http.py``.

The core builds :class:`HttpRequest` values and parses :class:`HttpResponse` values;
it never performs I/O. ``oidc_rp.http`` sends any request and returns the response.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

from oidc_rp.errors import ProtocolError

__all__ = ["HttpRequest", "HttpResponse", "form_request", "json_object", "parse_json"]

FORM = "application/x-www-form-urlencoded"


def _frozen(headers: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType({k.lower(): v for k, v in headers.items()})


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request to the OP. Header names are lower-case.

    The headers and body carry credentials (Authorization, DPoP, client_secret, code,
    refresh_token): never in the repr.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    body: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", _frozen(self.headers))


@dataclass(frozen=True)
class HttpResponse:
    """One HTTP response from the OP. Header names are lower-case.

    The body carries tokens and secrets (token, registration responses): never in the repr.
    """

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", _frozen(self.headers))

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-case (``application/json``)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def form_request(
    url: str, form: Mapping[str, str], headers: Mapping[str, str] | None = None
) -> HttpRequest:
    """A POST with an ``application/x-www-form-urlencoded`` body (RFC 6749 Appendix B)."""
    all_headers = {"content-type": FORM, "accept": "application/json", **(headers or {})}
    return HttpRequest("POST", url, all_headers, urlencode(dict(form)).encode())


def parse_json(text: str | bytes) -> Any:
    """``json.loads`` that fails only with ValueError, whatever the OP sent (RFC 8259).

    Bytes that are not UTF-8 raise UnicodeDecodeError (a ValueError); nesting deeper than
    the interpreter's recursion limit would raise RecursionError, turned into ValueError
    here so that every caller's ``except ValueError`` maps it to its ProtocolError.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def json_object(
    response: HttpResponse, rule: str, error: type[ProtocolError] = ProtocolError
) -> dict[str, Any]:
    """Decode the body as a JSON object or raise ``error`` naming ``rule``."""
    try:
        value = parse_json(response.body)
    except ValueError:
        raise error(f"{rule}: response body is not JSON (HTTP {response.status})") from None
    if not isinstance(value, dict):
        raise error(f"{rule}: response body is not a JSON object")
    return value
