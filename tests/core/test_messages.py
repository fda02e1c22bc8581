"""core/messages.py: the HTTP request and response values exchanged with ``http.py``."""

from __future__ import annotations

from oidc_rp.core.messages import HttpRequest, HttpResponse, form_request

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
