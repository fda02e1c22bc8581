"""core/userinfo.py: the UserInfo request and response (OIDC Core §5.3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from oidc_rp.core.messages import HttpResponse
from oidc_rp.core.userinfo import (
    build_userinfo_request,
    parse_userinfo_response,
    validate_userinfo_claims,
    verify_userinfo_jwt,
)
from oidc_rp.errors import KeyNotFoundError, TokenErrorResponse, UserInfoError

from .tokens import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    assert_error,
    corrupt,
    key_set,
    mac,
    sign,
    unsigned,
)

ENDPOINT = "https://op.example.com/userinfo"
ALL = key_set()
CLAIMS = {"sub": "user-1", "name": "Jane Doe", "email": "jane@example.com"}
SIGNED_CLAIMS = {**CLAIMS, "iss": ISSUER, "aud": CLIENT_ID}
ESCAPED_CHALLENGE = r'Bearer error_description="a \"q\"", error="x"'


def _json(value: Any, status: int = 200, media: str = "application/json") -> HttpResponse:
    return HttpResponse(status, {"content-type": media}, json.dumps(value).encode())


# --- build_userinfo_request -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token_type", "authorization"),
    [
        ("Bearer", "Bearer at-1"),
        ("bearer", "Bearer at-1"),
        ("BEARER", "Bearer at-1"),
        ("DPoP", "DPoP at-1"),
        ("dpop", "DPoP at-1"),
        ("N_A", "N_A at-1"),
    ],
)
def test_build_userinfo_request(token_type: str, authorization: str) -> None:
    request = build_userinfo_request(ENDPOINT, "at-1", token_type)
    assert (request.method, request.url, request.body) == ("GET", ENDPOINT, None)
    assert request.headers["authorization"] == authorization
    assert "application/json" in request.headers["accept"]
    assert "application/jwt" in request.headers["accept"]


def test_build_userinfo_request_defaults_to_bearer_and_keeps_token_out_of_url() -> None:
    request = build_userinfo_request(ENDPOINT + "?schema=openid", "at-1")
    assert request.headers["authorization"] == "Bearer at-1"
    assert "at-1" not in request.url


# --- parse_userinfo_response ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        pytest.param(_json(CLAIMS), CLAIMS, id="json"),
        pytest.param(_json(CLAIMS, media="application/json; charset=utf-8"), CLAIMS, id="charset"),
        pytest.param(_json(CLAIMS, media=""), CLAIMS, id="no-content-type"),
        pytest.param(
            HttpResponse(200, {"content-type": "application/jwt"}, b"a.b.c\n"), "a.b.c", id="jwt"
        ),
        pytest.param(
            HttpResponse(200, {"Content-Type": "Application/JWT; charset=ascii"}, b"x.y.z"),
            "x.y.z",
            id="jwt-case",
        ),
    ],
)
def test_parse_userinfo_response(response: HttpResponse, expected: dict[str, Any] | str) -> None:
    assert parse_userinfo_response(response) == expected


@pytest.mark.parametrize(
    ("response", "error", "description"),
    [
        pytest.param(
            HttpResponse(
                401,
                {
                    "www-authenticate": 'Bearer realm="op", error="invalid_token", '
                    'error_description="The access token expired"'
                },
            ),
            "invalid_token",
            "The access token expired",
            id="401-bearer",
        ),
        pytest.param(
            HttpResponse(403, {"www-authenticate": "Bearer error=insufficient_scope"}),
            "insufficient_scope",
            None,
            id="403-token-form",
        ),
        pytest.param(
            HttpResponse(401, {"www-authenticate": 'DPoP error="use_dpop_nonce", algs="ES256"'}),
            "use_dpop_nonce",
            None,
            id="401-dpop-nonce",
        ),
        pytest.param(
            HttpResponse(
                401, {"www-authenticate": r'Bearer error_description="a \"q\"", error="x"'}
            ),
            "x",
            'a "q"',
            id="401-escaped",
        ),
        pytest.param(HttpResponse(401), "invalid_token", None, id="401-no-challenge"),
        pytest.param(
            HttpResponse(401, {"www-authenticate": 'Bearer realm="op"'}),
            "invalid_token",
            None,
            id="401-no-error",
        ),
    ],
)
def test_parse_userinfo_response_op_said_no(
    response: HttpResponse, error: str, description: str | None
) -> None:
    with pytest.raises(TokenErrorResponse) as info:
        parse_userinfo_response(response)
    assert_error(info.value, TokenErrorResponse, "userinfo")
    assert (info.value.error, info.value.error_description) == (error, description)
    assert info.value.endpoint == "userinfo"


@pytest.mark.parametrize(
    ("response", "rule"),
    [
        pytest.param(_json(CLAIMS, status=500), "userinfo: HTTP 500", id="500"),
        pytest.param(
            _json({"error": "invalid_request"}, status=400), "userinfo: HTTP 400", id="400"
        ),
        pytest.param(_json(CLAIMS, status=302), "userinfo: HTTP 302", id="redirect"),
        pytest.param(
            HttpResponse(200, {"content-type": "text/html"}, b"<html>"),
            "userinfo: response body is not JSON",
            id="html",
        ),
        pytest.param(_json(["sub"]), "userinfo: response body is not a JSON object", id="array"),
        pytest.param(
            HttpResponse(200, {"content-type": "application/jwt"}, "é.b.c".encode()),
            "userinfo: the JWT is not ASCII",
            id="jwt-not-ascii",
        ),
        pytest.param(
            HttpResponse(200, {"content-type": "application/jwt"}, b"  "),
            "userinfo: the JWT is empty",
            id="jwt-empty",
        ),
    ],
)
def test_parse_userinfo_response_rejects(response: HttpResponse, rule: str) -> None:
    with pytest.raises(UserInfoError) as info:
        parse_userinfo_response(response)
    assert_error(info.value, UserInfoError, rule)


# --- validate_userinfo_claims -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "options"),
    [
        pytest.param(CLAIMS, {}, id="plain"),
        pytest.param(SIGNED_CLAIMS, {"issuer": ISSUER, "client_id": CLIENT_ID}, id="signed"),
        pytest.param(
            {**SIGNED_CLAIMS, "aud": [CLIENT_ID, "other"]},
            {"issuer": ISSUER, "client_id": CLIENT_ID},
            id="signed-aud-array",
        ),
    ],
)
def test_validate_userinfo_claims_accepts(claims: dict[str, Any], options: dict[str, str]) -> None:
    result = validate_userinfo_claims(claims, expected_sub="user-1", **options)
    assert result == claims
    assert result is not claims


@pytest.mark.parametrize(
    ("claims", "options", "rule"),
    [
        # oidcc-client-test-userinfo-invalid-sub: sub + "invalid"
        pytest.param(
            {**CLAIMS, "sub": "user-1invalid"},
            {},
            "userinfo.sub: does not match the ID token",
            id="userinfo-invalid-sub",
        ),
        pytest.param({"name": "x"}, {}, "userinfo.sub: missing", id="sub-missing"),
        pytest.param({**CLAIMS, "sub": 1}, {}, "userinfo.sub: does not match", id="sub-number"),
        pytest.param(
            {**CLAIMS, "sub": "USER-1"}, {}, "userinfo.sub: does not match", id="sub-case"
        ),
        pytest.param(
            {**SIGNED_CLAIMS, "iss": ISSUER + "1"},
            {"issuer": ISSUER, "client_id": CLIENT_ID},
            "userinfo.iss: does not match the issuer",
            id="signed-iss",
        ),
        pytest.param(
            CLAIMS,
            {"issuer": ISSUER, "client_id": CLIENT_ID},
            "userinfo.iss",
            id="signed-iss-missing",
        ),
        pytest.param(
            {**SIGNED_CLAIMS, "aud": CLIENT_ID + "1"},
            {"issuer": ISSUER, "client_id": CLIENT_ID},
            "userinfo.aud: does not contain the client_id",
            id="signed-aud",
        ),
        pytest.param(
            {**SIGNED_CLAIMS, "aud": ["other"]},
            {"issuer": ISSUER, "client_id": CLIENT_ID},
            "userinfo.aud",
            id="signed-aud-array-without-client",
        ),
        pytest.param(
            {**CLAIMS, "iss": ISSUER},
            {"issuer": ISSUER, "client_id": CLIENT_ID},
            "userinfo.aud",
            id="signed-aud-missing",
        ),
    ],
)
def test_validate_userinfo_claims_rejects(
    claims: dict[str, Any], options: dict[str, str], rule: str
) -> None:
    with pytest.raises(UserInfoError) as info:
        validate_userinfo_claims(claims, expected_sub="user-1", **options)
    assert_error(info.value, UserInfoError, rule)


# --- verify_userinfo_jwt (oidcc-client-test-userinfo-signed) ----------------------------------


def test_signed_userinfo_round_trip() -> None:
    response = HttpResponse(200, {"content-type": "application/jwt"}, sign(SIGNED_CLAIMS).encode())
    body = parse_userinfo_response(response)
    assert isinstance(body, str)
    claims = verify_userinfo_jwt(body, ALL, allowed_algs=["RS256"])
    result = validate_userinfo_claims(
        claims, expected_sub="user-1", issuer=ISSUER, client_id=CLIENT_ID
    )
    assert result == SIGNED_CLAIMS


def test_signed_userinfo_hs256_with_client_secret() -> None:
    raw = mac(SIGNED_CLAIMS, CLIENT_SECRET.encode())
    claims = verify_userinfo_jwt(raw, ALL, allowed_algs=["HS256"], client_secret=CLIENT_SECRET)
    assert claims == SIGNED_CLAIMS


@pytest.mark.parametrize(
    ("raw", "allowed", "error_class", "rule"),
    [
        pytest.param(sign(SIGNED_CLAIMS), ["ES256"], UserInfoError, "userinfo.alg", id="wrong-alg"),
        pytest.param(unsigned(SIGNED_CLAIMS), ["RS256"], UserInfoError, "userinfo.alg", id="none"),
        pytest.param(
            corrupt(sign(SIGNED_CLAIMS)),
            ["RS256"],
            UserInfoError,
            "userinfo.signature",
            id="bad-sig",
        ),
        pytest.param("a.b.c.d.e", ["RS256"], UserInfoError, "userinfo.signature", id="jwe"),
        pytest.param(sign([1]), ["RS256"], UserInfoError, "userinfo.signature", id="array"),
        pytest.param(
            sign(SIGNED_CLAIMS, header={"kid": "rotated"}),
            ["RS256"],
            KeyNotFoundError,
            "jwks",
            id="unknown-kid",
        ),
    ],
)
def test_verify_userinfo_jwt_rejects(
    raw: str, allowed: list[str], error_class: type[Exception], rule: str
) -> None:
    with pytest.raises(error_class) as info:
        verify_userinfo_jwt(raw, ALL, allowed_algs=allowed)
    assert_error(info.value, error_class, rule)
