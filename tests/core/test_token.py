"""Tests for oidc_rp.core.token (RFC 6749 §4.1.3, §5, §6; RFC 7009; RFC 7662)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest

from oidc_rp.core.messages import HttpRequest, HttpResponse
from oidc_rp.core.token import (
    authorization_code_grant,
    build_introspection_request,
    build_revocation_request,
    build_token_request,
    client_credentials_grant,
    parse_introspection_response,
    parse_revocation_response,
    parse_token_response,
    refresh_token_grant,
)
from oidc_rp.errors import TokenErrorResponse, TokenResponseError

TOKEN_ENDPOINT = "https://op.example.com/token"
BASIC = {"authorization": "Basic Y2xpZW50OnNlY3JldA=="}
MISSING = object()
DEEP = b"[" * 100_000 + b"]" * 100_000
AT_SYNTAX = "token_response.access_token: has characters outside VSCHAR"
RT_SYNTAX = "token_response.refresh_token: has characters outside VSCHAR"
IDT_SYNTAX = "token_response.id_token: has characters outside compact JWT characters"


def form_of(request: HttpRequest) -> dict[str, str]:
    assert request.body is not None
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {"content-type": "application/json", **(headers or {})}, raw)


def check_form_post(request: HttpRequest, url: str) -> None:
    assert request.method == "POST"
    assert request.url == url
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["accept"] == "application/json"


@pytest.mark.parametrize(
    ("grant", "expected"),
    [
        pytest.param(
            authorization_code_grant("c0de", "https://rp.example/cb", "v" * 43),
            {
                "grant_type": "authorization_code",
                "code": "c0de",
                "redirect_uri": "https://rp.example/cb",
                "code_verifier": "v" * 43,
            },
            id="authorization-code",
        ),
        pytest.param(
            authorization_code_grant("c0de", "https://rp.example/cb", None),
            {
                "grant_type": "authorization_code",
                "code": "c0de",
                "redirect_uri": "https://rp.example/cb",
            },
            id="authorization-code-no-pkce",
        ),
        pytest.param(
            refresh_token_grant("rt"),
            {"grant_type": "refresh_token", "refresh_token": "rt"},
            id="refresh",
        ),
        pytest.param(
            refresh_token_grant("rt", "openid email"),
            {"grant_type": "refresh_token", "refresh_token": "rt", "scope": "openid email"},
            id="refresh-scope",
        ),
        pytest.param(client_credentials_grant(), {"grant_type": "client_credentials"}, id="cc"),
        pytest.param(
            client_credentials_grant("api"),
            {"grant_type": "client_credentials", "scope": "api"},
            id="cc-scope",
        ),
    ],
)
def test_grants_build_form_posts(grant: dict[str, str], expected: dict[str, str]) -> None:
    assert grant == expected
    request = build_token_request(TOKEN_ENDPOINT, grant, BASIC, {})
    check_form_post(request, TOKEN_ENDPOINT)
    assert request.headers["authorization"] == BASIC["authorization"]
    assert form_of(request) == expected


def test_token_request_adds_the_client_authentication_form_fields() -> None:
    grant = refresh_token_grant("r t+&=")
    request = build_token_request(
        TOKEN_ENDPOINT, grant, {}, {"client_id": "c", "client_secret": "s"}
    )
    assert "authorization" not in request.headers
    assert form_of(request) == {**grant, "client_id": "c", "client_secret": "s"}


def test_token_request_rejects_clashing_authentication_fields() -> None:
    with pytest.raises(ValueError, match=r"^client_auth\.grant_type: "):
        build_token_request(TOKEN_ENDPOINT, client_credentials_grant(), {}, {"grant_type": "x"})


def token_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": "at",
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": "rt",
        "id_token": "a.b.c",
        "scope": "openid profile",
        "x_extra": True,
    }
    for name, value in changes.items():
        if value is MISSING:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def test_parse_token_response_accepts_a_full_response() -> None:
    response = parse_token_response(respond(token_body()), expect_id_token=True)
    assert response.access_token == "at"
    assert response.token_type == "Bearer"
    assert response.expires_in == 3600
    assert response.refresh_token == "rt"
    assert response.id_token == "a.b.c"
    assert response.scope == "openid profile"
    assert response.raw["x_extra"] is True
    assert "s3cr3t" not in repr(
        parse_token_response(respond(token_body(access_token="s3cr3t")), expect_id_token=True)
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # VSCHAR = %x20-7E: every printable ASCII character and the space.
        ("access_token", "".join(map(chr, range(0x20, 0x7F)))),
        ("refresh_token", "".join(map(chr, range(0x20, 0x7F)))),
        ("id_token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0."),
        ("id_token", "h-_0.k.i.c.t"),
    ],
)
def test_parse_token_response_accepts_the_whole_token_syntax(name: str, value: str) -> None:
    response = parse_token_response(respond(token_body(**{name: value})), expect_id_token=True)
    assert getattr(response, name) == value


def test_parse_token_response_accepts_a_minimal_response() -> None:
    body = {"access_token": "at", "token_type": "bearer"}
    response = parse_token_response(respond(body), expect_id_token=False)
    assert (response.expires_in, response.refresh_token, response.id_token, response.scope) == (
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("token_type", "normalized"),
    [
        ("Bearer", "Bearer"),
        ("bearer", "Bearer"),
        ("BEARER", "Bearer"),
        ("DPoP", "DPoP"),
        ("dpop", "DPoP"),
    ],
)
def test_token_type_is_compared_case_insensitively(token_type: str, normalized: str) -> None:
    response = parse_token_response(
        respond(token_body(token_type=token_type)), expect_id_token=True
    )
    assert response.token_type == normalized


@pytest.mark.parametrize(
    ("status", "body", "rule"),
    [
        pytest.param(500, token_body(), "token_response.status", id="status-500"),
        pytest.param(201, token_body(), "token_response.status", id="status-201"),
        pytest.param(302, b"", "token_response.status", id="redirect"),
        pytest.param(400, b"bad request", "token_response.status", id="400-not-json"),
        pytest.param(400, {"error": ""}, "token_response.status", id="400-empty-error"),
        pytest.param(400, {"error": 1}, "token_response.status", id="400-error-not-string"),
        pytest.param(400, ["error"], "token_response.status", id="400-json-array"),
        pytest.param(200, b"<html>", "token_response.body", id="not-json"),
        pytest.param(200, b"\xff\xfe", "token_response.body", id="not-utf8"),
        pytest.param(200, DEEP, "token_response.body", id="nested-too-deep"),
        pytest.param(400, DEEP, "token_response.status", id="400-nested-too-deep"),
        # RFC 6749 Appendix A.12, A.17: access_token and refresh_token are 1*VSCHAR.
        pytest.param(200, token_body(access_token="tök"), AT_SYNTAX, id="at-non-ascii"),
        pytest.param(200, token_body(access_token="a\r\nX: y"), AT_SYNTAX, id="at-crlf"),
        pytest.param(200, token_body(access_token="a\x7f"), AT_SYNTAX, id="at-del"),
        pytest.param(200, token_body(access_token="a\tb"), AT_SYNTAX, id="at-tab"),
        pytest.param(200, token_body(refresh_token="r€"), RT_SYNTAX, id="rt-non-ascii"),
        pytest.param(200, token_body(refresh_token="r\n"), RT_SYNTAX, id="rt-newline"),
        # RFC 7515 §7.1 / RFC 7516 §7.1: a compact JWT is base64url parts and dots.
        pytest.param(200, token_body(id_token="a.b.c d"), IDT_SYNTAX, id="id-token-space"),
        pytest.param(200, token_body(id_token="a.b.é"), IDT_SYNTAX, id="id-token-non-ascii"),
        pytest.param(200, token_body(id_token="a+b.c/d.e="), IDT_SYNTAX, id="id-token-base64"),
        pytest.param(200, [token_body()], "token_response.body", id="json-array"),
        pytest.param(
            200, token_body(access_token=MISSING), "token_response.access_token", id="no-at"
        ),
        pytest.param(
            200, token_body(access_token=5), "token_response.access_token", id="at-number"
        ),
        pytest.param(
            200, token_body(access_token=""), "token_response.access_token", id="at-empty"
        ),
        pytest.param(
            200, token_body(token_type=MISSING), "token_response.token_type", id="no-type"
        ),
        pytest.param(200, token_body(token_type="mac"), "token_response.token_type", id="type-mac"),
        pytest.param(
            200, token_body(token_type=["Bearer"]), "token_response.token_type", id="type-list"
        ),
        pytest.param(
            200, token_body(id_token=MISSING), "token_response.id_token", id="no-id-token"
        ),
        pytest.param(200, token_body(id_token=None), "token_response.id_token", id="null-id-token"),
        pytest.param(
            200, token_body(id_token={"a": 1}), "token_response.id_token", id="id-token-object"
        ),
        pytest.param(
            200, token_body(expires_in="3600"), "token_response.expires_in", id="exp-string"
        ),
        pytest.param(
            200, token_body(expires_in=3600.5), "token_response.expires_in", id="exp-float"
        ),
        pytest.param(200, token_body(expires_in=True), "token_response.expires_in", id="exp-bool"),
        pytest.param(
            200, token_body(expires_in=-1), "token_response.expires_in", id="exp-negative"
        ),
        pytest.param(200, token_body(scope=["openid"]), "token_response.scope", id="scope-list"),
        pytest.param(
            200, token_body(refresh_token=1), "token_response.refresh_token", id="rt-number"
        ),
    ],
)
def test_parse_token_response_rejects(status: int, body: Any, rule: str) -> None:
    with pytest.raises(TokenResponseError) as caught:
        parse_token_response(respond(body, status), expect_id_token=True)
    assert caught.value.code == "invalid_token_response"
    assert caught.value.rule == rule.partition(":")[0]
    assert caught.value.message.startswith(rule)
    assert "a.b.c" not in caught.value.message


@pytest.mark.parametrize(
    ("status", "body", "description", "uri"),
    [
        pytest.param(400, {"error": "invalid_grant"}, None, None, id="400"),
        pytest.param(
            401,
            {"error": "invalid_client", "error_description": "bad", "error_uri": "https://e/x"},
            "bad",
            "https://e/x",
            id="401-described",
        ),
        pytest.param(
            400,
            {"error": "invalid_grant", "error_description": 5, "error_uri": ["x"]},
            None,
            None,
            id="non-string-extras-dropped",
        ),
    ],
)
def test_parse_token_response_raises_the_op_error(
    status: int, body: dict[str, Any], description: str | None, uri: str | None
) -> None:
    with pytest.raises(TokenErrorResponse) as caught:
        parse_token_response(respond(body, status), expect_id_token=True)
    assert caught.value.code == "token_error"
    assert caught.value.endpoint == "token"
    assert caught.value.error == body["error"]
    assert (caught.value.error_description, caught.value.error_uri) == (description, uri)
    assert caught.value.rule == "token"


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (None, {"token": "tok"}),
        ("access_token", {"token": "tok", "token_type_hint": "access_token"}),
        ("refresh_token", {"token": "tok", "token_type_hint": "refresh_token"}),
    ],
)
def test_build_revocation_and_introspection_requests(
    hint: str | None, expected: dict[str, str]
) -> None:
    for build, url in (
        (build_revocation_request, "https://op.example.com/revoke"),
        (build_introspection_request, "https://op.example.com/introspect"),
    ):
        request = build(url, "tok", hint, BASIC, {"client_id": "c"})
        check_form_post(request, url)
        assert request.headers["authorization"] == BASIC["authorization"]
        assert form_of(request) == {**expected, "client_id": "c"}


def test_token_type_hint_must_be_known() -> None:
    with pytest.raises(ValueError, match=r"^token_type_hint: "):
        build_revocation_request("https://op.example.com/revoke", "tok", "id_token", {}, {})


def test_parse_revocation_response_accepts_200() -> None:
    parse_revocation_response(HttpResponse(200))
    parse_revocation_response(respond({}, 200))


@pytest.mark.parametrize(
    ("response", "error", "description"),
    [
        pytest.param(
            HttpResponse(503, {"Retry-After": "30"}),
            "temporarily_unavailable",
            "retry after 30",
            id="503-retry-after",
        ),
        pytest.param(HttpResponse(503), "temporarily_unavailable", None, id="503-bare"),
        pytest.param(
            respond({"error": "unsupported_token_type"}, 400),
            "unsupported_token_type",
            None,
            id="400-error",
        ),
    ],
)
def test_parse_revocation_response_raises_op_errors(
    response: HttpResponse, error: str, description: str | None
) -> None:
    with pytest.raises(TokenErrorResponse) as caught:
        parse_revocation_response(response)
    assert caught.value.endpoint == "revocation"
    assert caught.value.code == "token_error"
    assert (caught.value.error, caught.value.error_description) == (error, description)


@pytest.mark.parametrize("status", [204, 500, 400])
def test_parse_revocation_response_rejects_other_statuses(status: int) -> None:
    with pytest.raises(TokenResponseError) as caught:
        parse_revocation_response(HttpResponse(status, body=b"nope"))
    assert caught.value.rule == "revocation.status"


@pytest.mark.parametrize(
    "body",
    [{"active": True, "sub": "u1", "scope": "openid"}, {"active": False}],
)
def test_parse_introspection_response_accepts(body: dict[str, Any]) -> None:
    assert parse_introspection_response(respond(body)) == body


@pytest.mark.parametrize(
    ("status", "body", "rule"),
    [
        pytest.param(500, {"active": True}, "introspection.status", id="status"),
        pytest.param(200, b"nope", "introspection.body", id="not-json"),
        pytest.param(200, {"sub": "u1"}, "introspection.active", id="no-active"),
        pytest.param(200, {"active": "true"}, "introspection.active", id="active-string"),
        pytest.param(200, {"active": 1}, "introspection.active", id="active-int"),
    ],
)
def test_parse_introspection_response_rejects(status: int, body: Any, rule: str) -> None:
    with pytest.raises(TokenResponseError) as caught:
        parse_introspection_response(respond(body, status))
    assert caught.value.code == "invalid_token_response"
    assert caught.value.rule == rule


def test_parse_introspection_response_raises_the_op_error() -> None:
    with pytest.raises(TokenErrorResponse) as caught:
        parse_introspection_response(respond({"error": "invalid_client"}, 401))
    assert caught.value.endpoint == "introspection"
    assert caught.value.error == "invalid_client"
