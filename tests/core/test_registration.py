"""Tests for oidc_rp.core.registration (RFC 7591, OpenID Connect Registration 1.0)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from oidc_rp.core.messages import HttpResponse
from oidc_rp.core.registration import (
    ClientRegistration,
    build_registration_request,
    parse_registration_response,
    registration_metadata,
)
from oidc_rp.errors import RegistrationError, TokenErrorResponse

ENDPOINT = "https://op.example.com/register"
MISSING = object()


def metadata(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "redirect_uris": ["https://rp.example/callback"],
        "post_logout_redirect_uris": None,
        "response_types": ["code"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_basic",
        "id_token_signed_response_alg": "RS256",
    }
    values.update(changes)
    return registration_metadata(**values)


def test_registration_metadata_drops_none_values() -> None:
    assert metadata() == {
        "redirect_uris": ["https://rp.example/callback"],
        "response_types": ["code"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_basic",
        "id_token_signed_response_alg": "RS256",
        "client_name": "oidc-rp",
    }


def test_registration_metadata_with_every_member() -> None:
    jwks = {"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}]}
    result = metadata(
        post_logout_redirect_uris=("https://rp.example/",),
        jwks=jwks,
        request_object_signing_alg="ES256",
        userinfo_signed_response_alg="RS256",
        client_name="My RP",
        software_id="sw-1",
        backchannel_logout_uri="https://rp.example/backchannel",
        contacts=("ops@rp.example",),
        request_uris=["https://rp.example/ro"],
    )
    assert result["post_logout_redirect_uris"] == ["https://rp.example/"]
    assert result["jwks"] == jwks
    assert "jwks_uri" not in result
    assert result["request_object_signing_alg"] == "ES256"
    assert result["userinfo_signed_response_alg"] == "RS256"
    assert result["client_name"] == "My RP"
    assert result["software_id"] == "sw-1"
    assert result["backchannel_logout_uri"] == "https://rp.example/backchannel"
    assert result["contacts"] == ["ops@rp.example"]
    assert result["request_uris"] == ["https://rp.example/ro"]
    assert json.loads(json.dumps(result)) == result
    assert "client_name" not in metadata(client_name=None)
    assert metadata(jwks_uri="https://rp.example/jwks")["jwks_uri"] == "https://rp.example/jwks"


@pytest.mark.parametrize(
    ("response_types", "grant_types", "expected"),
    [
        (["code"], ["authorization_code"], ["authorization_code"]),
        (["code"], [], ["authorization_code"]),
        (["code"], ["refresh_token"], ["refresh_token", "authorization_code"]),
        (["id_token"], [], ["implicit"]),
        (["id_token token"], ["implicit"], ["implicit"]),
        (["code id_token"], ["authorization_code"], ["authorization_code", "implicit"]),
        (
            ["code", "code token"],
            ["client_credentials"],
            ["client_credentials", "authorization_code", "implicit"],
        ),
    ],
)
def test_grant_types_are_kept_consistent_with_response_types(
    response_types: list[str], grant_types: list[str], expected: list[str]
) -> None:
    result = metadata(response_types=response_types, grant_types=grant_types)
    assert result["grant_types"] == expected


def test_jwks_and_jwks_uri_are_exclusive() -> None:
    with pytest.raises(ValueError, match=r"^registration\.jwks: "):
        metadata(jwks={"keys": []}, jwks_uri="https://rp.example/jwks")


@pytest.mark.parametrize(
    ("token", "authorization"),
    [(None, None), ("iat-123", "Bearer iat-123")],
)
def test_build_registration_request(token: str | None, authorization: str | None) -> None:
    body = metadata()
    request = build_registration_request(ENDPOINT, body, token)
    assert (request.method, request.url) == ("POST", ENDPOINT)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert request.headers.get("authorization") == authorization
    assert request.body is not None
    assert json.loads(request.body) == body


def respond(body: Any, status: int = 201) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {"content-type": "application/json"}, raw)


SECRET = "cf136dc3c1fc93f31185e5885805d"
FULL: dict[str, Any] = {
    "client_id": "s6BhdRkqt3",
    "client_secret": SECRET,
    "client_id_issued_at": 2893256800,
    "client_secret_expires_at": 0,
    "registration_access_token": "this.is.an.access.token",
    "registration_client_uri": "https://op.example.com/register/s6BhdRkqt3",
    "redirect_uris": ["https://rp.example/callback"],
    "token_endpoint_auth_method": "client_secret_basic",
}


@pytest.mark.parametrize("status", [201, 200])
def test_parse_registration_response(status: int) -> None:
    registration = parse_registration_response(respond(FULL, status))
    assert registration.client_id == "s6BhdRkqt3"
    assert registration.client_secret == FULL["client_secret"]
    assert registration.client_id_issued_at == 2893256800
    assert registration.client_secret_expires_at == 0
    assert registration.registration_access_token == FULL["registration_access_token"]
    assert registration.registration_client_uri == FULL["registration_client_uri"]
    assert registration.raw["redirect_uris"] == ["https://rp.example/callback"]
    assert SECRET not in repr(registration)


def test_parse_registration_response_for_a_public_client() -> None:
    registration = parse_registration_response(respond({"client_id": "pub"}))
    assert registration.client_secret is None
    assert registration.client_secret_expires_at is None


def test_to_dict_and_from_dict_round_trip_through_json() -> None:
    registration = parse_registration_response(respond(FULL))
    data = json.loads(json.dumps(registration.to_dict()))
    assert data == FULL
    again = ClientRegistration.from_dict(data)
    assert again == registration
    assert again.raw == registration.raw


@pytest.mark.parametrize(
    ("status", "body", "rule"),
    [
        pytest.param(500, FULL, "registration.status", id="status-500"),
        pytest.param(302, b"", "registration.status", id="redirect"),
        pytest.param(400, b"bad", "registration.status", id="400-not-json"),
        pytest.param(201, b"<html>", "registration.body", id="not-json"),
        pytest.param(201, [FULL], "registration.body", id="json-array"),
        pytest.param(201, {**FULL, "client_id": MISSING}, "registration.client_id", id="no-id"),
        pytest.param(201, {**FULL, "client_id": ""}, "registration.client_id", id="empty-id"),
        pytest.param(201, {**FULL, "client_id": 42}, "registration.client_id", id="id-number"),
        pytest.param(
            201, {**FULL, "client_secret": 1}, "registration.client_secret", id="secret-num"
        ),
        pytest.param(
            201,
            {**FULL, "client_secret_expires_at": "0"},
            "registration.client_secret_expires_at",
            id="expires-string",
        ),
        pytest.param(
            201,
            {**FULL, "client_id_issued_at": True},
            "registration.client_id_issued_at",
            id="issued-bool",
        ),
        pytest.param(
            201,
            {**FULL, "registration_client_uri": ["x"]},
            "registration.registration_client_uri",
            id="uri-list",
        ),
    ],
)
def test_parse_registration_response_rejects(status: int, body: Any, rule: str) -> None:
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if v is not MISSING}
    with pytest.raises(RegistrationError) as caught:
        parse_registration_response(respond(body, status))
    assert caught.value.code == "invalid_registration"
    assert caught.value.rule == rule
    assert SECRET not in caught.value.message


@pytest.mark.parametrize("error", ["invalid_redirect_uri", "invalid_client_metadata"])
def test_parse_registration_response_raises_the_op_error(error: str) -> None:
    body = {"error": error, "error_description": "one of the redirect_uris is not allowed"}
    with pytest.raises(TokenErrorResponse) as caught:
        parse_registration_response(respond(body, 400))
    assert caught.value.endpoint == "registration"
    assert caught.value.error == error
    assert caught.value.code == "token_error"


def test_from_dict_rejects_a_record_without_client_id() -> None:
    with pytest.raises(RegistrationError) as caught:
        ClientRegistration.from_dict({"client_secret": "x"})
    assert caught.value.rule == "registration.client_id"
