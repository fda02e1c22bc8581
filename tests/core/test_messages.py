"""core/messages.py: the HTTP request and response values exchanged with ``http.py``."""

from __future__ import annotations

from typing import Any

import pytest

from oidc_rp.core.messages import HttpRequest, HttpResponse, form_request, json_object, parse_json
from oidc_rp.errors import DiscoveryError

SECRET = "SECRET-client-secret"
REFRESH = "SECRET-refresh-token"


def test_request_repr_shows_no_credential() -> None:
    request = form_request(
        "https://op.example/token",
        {"grant_type": "refresh_token", "refresh_token": REFRESH, "client_secret": SECRET},
        {"authorization": f"Basic {SECRET}", "dpop": f"proof-{SECRET}"},
    )
    text = repr(request)
    assert SECRET not in text and REFRESH not in text
    assert "https://op.example/token" in text and "POST" in text


def test_response_repr_shows_no_token() -> None:
    response = HttpResponse(200, {"content-type": "application/json"}, b'{"access_token":"tok-X"}')
    assert "tok-X" not in repr(response)
    assert "200" in repr(response)


def test_header_names_are_lower_case_and_frozen() -> None:
    request = HttpRequest("GET", "https://op.example/", {"Accept": "application/json"})
    assert dict(request.headers) == {"accept": "application/json"}
    response = HttpResponse(200, {"Content-Type": "Application/JSON; charset=utf-8"})
    assert response.media_type == "application/json"


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(b'{"a": [1, "x"]}', {"a": [1, "x"]}, id="bytes"),
        pytest.param('{"a": null}', {"a": None}, id="str"),
        pytest.param(b"[" * 500 + b"]" * 500, None, id="deep-but-allowed"),
    ],
)
def test_parse_json_decodes(text: str | bytes, expected: Any) -> None:
    value = parse_json(text)
    if expected is not None:
        assert value == expected
    else:
        assert isinstance(value, list)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(b"{", id="truncated"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(DEEP, id="nested-too-deep-array"),
        pytest.param(b'{"a":' * 100_000, id="nested-too-deep-object"),
    ],
)
def test_parse_json_raises_only_value_error(text: bytes) -> None:
    with pytest.raises(ValueError):
        parse_json(text)


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        pytest.param(b"<html>", "discovery: response body is not JSON", id="not-json"),
        pytest.param(DEEP, "discovery: response body is not JSON", id="nested-too-deep"),
        pytest.param(b"[]", "discovery: response body is not a JSON object", id="array"),
    ],
)
def test_json_object_raises_the_callers_protocol_error(body: bytes, rule: str) -> None:
    with pytest.raises(DiscoveryError) as info:
        json_object(HttpResponse(200, {}, body), "discovery", DiscoveryError)
    assert type(info.value) is DiscoveryError
    assert str(info.value).startswith(rule)


def test_json_object_returns_the_object() -> None:
    assert json_object(HttpResponse(200, {}, b'{"a": 1}'), "x") == {"a": 1}
