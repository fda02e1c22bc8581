"""Tests for oidc_rp.core.metadata (OpenID Connect Discovery 1.0 §3-4)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from oidc_rp.core.messages import HttpResponse
from oidc_rp.core.metadata import (
    ProviderMetadata,
    build_discovery_request,
    is_loopback_host,
    parse_provider_metadata,
)
from oidc_rp.errors import DiscoveryError

ISSUER = "https://op.example.com"
MISSING = object()


def document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/jwks",
        "userinfo_endpoint": f"{ISSUER}/userinfo",
        "response_types_supported": ["code", "id_token", "code id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "x_unknown_member": {"ignored": [1, 2]},
    }
    for name, value in changes.items():
        if value is MISSING:
            doc.pop(name, None)
        else:
            doc[name] = value
    return doc


def respond(doc: Any, status: int = 200) -> HttpResponse:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return HttpResponse(status, {"Content-Type": "application/json"}, body)


@pytest.mark.parametrize(
    ("issuer", "url"),
    [
        (ISSUER, f"{ISSUER}/.well-known/openid-configuration"),
        (f"{ISSUER}/", f"{ISSUER}/.well-known/openid-configuration"),
        (f"{ISSUER}/tenant/", f"{ISSUER}/tenant/.well-known/openid-configuration"),
        (f"{ISSUER}/tenant", f"{ISSUER}/tenant/.well-known/openid-configuration"),
    ],
)
def test_build_discovery_request(issuer: str, url: str) -> None:
    request = build_discovery_request(issuer)
    assert (request.method, request.url, request.body) == ("GET", url, None)
    assert request.headers["accept"] == "application/json"


def test_parse_accepts_a_good_document_and_ignores_unknown_members() -> None:
    metadata = parse_provider_metadata(respond(document()), ISSUER)
    assert metadata.issuer == ISSUER
    assert metadata.authorization_endpoint == f"{ISSUER}/authorize"
    assert metadata.token_endpoint == f"{ISSUER}/token"
    assert metadata.userinfo_endpoint == f"{ISSUER}/userinfo"
    assert metadata.end_session_endpoint is None
    assert metadata.response_types_supported == ("code", "id_token", "code id_token")
    assert metadata.code_challenge_methods_supported == ("S256",)
    assert metadata.authorization_response_iss_parameter_supported is True
    assert metadata.raw["x_unknown_member"] == {"ignored": [1, 2]}
    assert not hasattr(metadata, "x_unknown_member")


def test_parse_applies_discovery_defaults_for_absent_members() -> None:
    metadata = parse_provider_metadata(respond(document()), ISSUER)
    assert metadata.response_modes_supported == ("query", "fragment")
    assert metadata.grant_types_supported == ("authorization_code", "implicit")
    assert metadata.token_endpoint_auth_methods_supported == ("client_secret_basic",)
    assert metadata.request_uri_parameter_supported is True
    assert metadata.request_parameter_supported is False
    assert metadata.require_pushed_authorization_requests is False
    assert metadata.backchannel_logout_supported is False
    assert metadata.scopes_supported == ()
    assert metadata.claims_supported == ()
    assert metadata.request_object_signing_alg_values_supported == ()


def test_parse_reads_explicit_values_over_defaults() -> None:
    doc = document(
        response_modes_supported=["query", "form_post"],
        request_uri_parameter_supported=False,
        request_parameter_supported=True,
        require_pushed_authorization_requests=True,
        pushed_authorization_request_endpoint=f"{ISSUER}/par",
        token_endpoint_auth_methods_supported=["private_key_jwt"],
    )
    metadata = parse_provider_metadata(respond(doc), ISSUER)
    assert metadata.response_modes_supported == ("query", "form_post")
    assert metadata.request_uri_parameter_supported is False
    assert metadata.request_parameter_supported is True
    assert metadata.require_pushed_authorization_requests is True
    assert metadata.pushed_authorization_request_endpoint == f"{ISSUER}/par"
    assert metadata.token_endpoint_auth_methods_supported == ("private_key_jwt",)


@pytest.mark.parametrize(
    ("issuer", "endpoint"),
    [
        pytest.param("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth", id="ipv4-loopback"),
        pytest.param("http://127.5.6.7", "http://127.5.6.7/auth", id="ipv4-loopback-range"),
        pytest.param("http://localhost:3000", "http://localhost:3000/auth", id="localhost"),
        pytest.param("http://[::1]:3000", "http://[::1]:3000/auth", id="ipv6-loopback"),
    ],
)
def test_parse_allows_http_on_loopback_hosts(issuer: str, endpoint: str) -> None:
    doc = document(issuer=issuer, authorization_endpoint=endpoint)
    assert parse_provider_metadata(respond(doc), issuer).authorization_endpoint == endpoint


def test_token_endpoint_is_optional_when_only_implicit() -> None:
    doc = document(token_endpoint=MISSING, response_types_supported=["id_token", "id_token token"])
    assert parse_provider_metadata(respond(doc), ISSUER).token_endpoint is None


def test_null_optional_members_read_as_absent() -> None:
    doc = document(userinfo_endpoint=None, scopes_supported=None, request_parameter_supported=None)
    metadata = parse_provider_metadata(respond(doc), ISSUER)
    assert metadata.userinfo_endpoint is None
    assert metadata.scopes_supported == ()
    assert metadata.request_parameter_supported is False


E = f"{ISSUER}/x"

REJECTED = [
    # (response status, document changes, expected issuer, rule)
    pytest.param(404, {}, ISSUER, "discovery.status", id="status-404"),
    pytest.param(302, {}, ISSUER, "discovery.status", id="status-redirect"),
    pytest.param(200, b"<html>", ISSUER, "discovery.body", id="not-json"),
    pytest.param(200, [1, 2], ISSUER, "discovery.body", id="json-array"),
    pytest.param(200, {"issuer": MISSING}, ISSUER, "discovery.issuer", id="issuer-missing"),
    pytest.param(200, {"issuer": 1}, ISSUER, "discovery.issuer", id="issuer-not-string"),
    pytest.param(200, {}, ISSUER + "/", "discovery.issuer", id="issuer-trailing-slash-config"),
    pytest.param(
        200, {"issuer": ISSUER + "/"}, ISSUER, "discovery.issuer", id="issuer-trailing-slash-doc"
    ),
    pytest.param(
        200, {"issuer": "https://evil.example"}, ISSUER, "discovery.issuer", id="issuer-other"
    ),
    pytest.param(
        200, {"issuer": "https://OP.example.com"}, ISSUER, "discovery.issuer", id="issuer-case"
    ),
    pytest.param(200, {"issuer": "http://op.example"}, None, "discovery.issuer", id="issuer-http"),
    pytest.param(200, {"issuer": "https://op.ex/?a=b"}, None, "discovery.issuer", id="iss-query"),
    pytest.param(200, {"issuer": "https://op.ex/?"}, None, "discovery.issuer", id="iss-empty-q"),
    pytest.param(200, {"issuer": "https://op.ex/#f"}, None, "discovery.issuer", id="iss-fragment"),
    pytest.param(
        200,
        {"authorization_endpoint": MISSING},
        ISSUER,
        "discovery.authorization_endpoint",
        id="authz-missing",
    ),
    pytest.param(200, {"jwks_uri": MISSING}, ISSUER, "discovery.jwks_uri", id="jwks-missing"),
    pytest.param(
        200, {"token_endpoint": MISSING}, ISSUER, "discovery.token_endpoint", id="token-missing"
    ),
    pytest.param(
        200,
        {"response_types_supported": MISSING},
        ISSUER,
        "discovery.response_types_supported",
        id="response-types-missing",
    ),
    pytest.param(
        200,
        {"subject_types_supported": MISSING},
        ISSUER,
        "discovery.subject_types_supported",
        id="subject-types-missing",
    ),
    pytest.param(
        200,
        {"id_token_signing_alg_values_supported": None},
        ISSUER,
        "discovery.id_token_signing_alg_values_supported",
        id="id-token-algs-null",
    ),
    pytest.param(
        200,
        {"response_types_supported": "code"},
        ISSUER,
        "discovery.response_types_supported",
        id="list-is-string",
    ),
    pytest.param(
        200,
        {"scopes_supported": ["openid", 1]},
        ISSUER,
        "discovery.scopes_supported",
        id="list-of-non-strings",
    ),
    pytest.param(
        200,
        {"request_uri_parameter_supported": "false"},
        ISSUER,
        "discovery.request_uri_parameter_supported",
        id="bool-is-string",
    ),
    pytest.param(
        200,
        {"authorization_response_iss_parameter_supported": 1},
        ISSUER,
        "discovery.authorization_response_iss_parameter_supported",
        id="bool-is-int",
    ),
    pytest.param(
        200,
        {"userinfo_endpoint": ["https://op.example.com/u"]},
        ISSUER,
        "discovery.userinfo_endpoint",
        id="endpoint-not-string",
    ),
    pytest.param(
        200,
        {"token_endpoint": "http://op.example.com/token"},
        ISSUER,
        "discovery.token_endpoint",
        id="endpoint-http",
    ),
    pytest.param(200, {"jwks_uri": "/jwks"}, ISSUER, "discovery.jwks_uri", id="endpoint-relative"),
    pytest.param(
        200, {"jwks_uri": "https:///jwks"}, ISSUER, "discovery.jwks_uri", id="endpoint-no-host"
    ),
    pytest.param(
        200,
        {"authorization_endpoint": "javascript:alert(1)"},
        ISSUER,
        "discovery.authorization_endpoint",
        id="endpoint-javascript",
    ),
    pytest.param(
        200,
        {"authorization_endpoint": f"{ISSUER}/authorize#frag"},
        ISSUER,
        "discovery.authorization_endpoint",
        id="endpoint-fragment",
    ),
    pytest.param(
        200,
        {"end_session_endpoint": "http://127.0.0.1.evil.example/logout"},
        ISSUER,
        "discovery.end_session_endpoint",
        id="endpoint-fake-loopback",
    ),
    pytest.param(
        200,
        {"revocation_endpoint": "https://[::1/revoke"},
        ISSUER,
        "discovery.revocation_endpoint",
        id="endpoint-unparseable",
    ),
]


@pytest.mark.parametrize(("status", "changes", "expected_issuer", "rule"), REJECTED)
def test_parse_rejects(status: int, changes: Any, expected_issuer: str | None, rule: str) -> None:
    if isinstance(changes, dict):
        doc: Any = document(**changes)
        expected = expected_issuer or doc["issuer"]
    else:
        doc, expected = changes, ISSUER
    with pytest.raises(DiscoveryError) as caught:
        parse_provider_metadata(respond(doc, status), expected)
    assert caught.value.code == "invalid_discovery"
    assert caught.value.rule == rule


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("128.0.0.1", False),
        ("10.0.0.1", False),
        ("localhost.evil.example", False),
        ("example.com", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_from_endpoints_builds_metadata_without_discovery() -> None:
    metadata = ProviderMetadata.from_endpoints(
        ISSUER,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{ISSUER}/token",
        end_session_endpoint=None,
        authorization_response_iss_parameter_supported=True,
        id_token_signing_alg_values_supported=["ES256"],
    )
    assert metadata.issuer == ISSUER
    assert metadata.authorization_endpoint == f"{ISSUER}/authorize"
    assert metadata.token_endpoint == f"{ISSUER}/token"
    assert metadata.jwks_uri is None
    assert metadata.end_session_endpoint is None
    assert metadata.authorization_response_iss_parameter_supported is True
    assert metadata.id_token_signing_alg_values_supported == ("ES256",)
    assert metadata.request_uri_parameter_supported is True
    assert metadata.response_modes_supported == ("query", "fragment")


@pytest.mark.parametrize(
    ("issuer", "members", "error", "text"),
    [
        pytest.param(ISSUER, {"tokn_endpoint": E}, TypeError, "unknown member", id="typo"),
        pytest.param(ISSUER, {"raw": {}}, TypeError, "unknown member", id="raw"),
        pytest.param(
            ISSUER,
            {"token_endpoint": "http://op.example.com/t"},
            ValueError,
            "discovery.token_endpoint",
            id="http-endpoint",
        ),
        pytest.param("http://op.example", {}, ValueError, "discovery.issuer", id="http-issuer"),
        pytest.param(
            ISSUER, {"scopes_supported": "openid"}, ValueError, "discovery.scopes", id="bad-list"
        ),
    ],
)
def test_from_endpoints_rejects_bad_configuration(
    issuer: str, members: dict[str, Any], error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text):
        ProviderMetadata.from_endpoints(issuer, **members)
