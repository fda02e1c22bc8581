"""Tests for oidc_rp.core.authorize (OIDC Core §3.1.2.1, §5.5, §6; RFC 7636; RFC 9101; RFC 9126)."""

from __future__ import annotations

import base64
import json
import warnings
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from oidc_rp.core.authorize import (
    AuthorizationOptions,
    build_authorization_parameters,
    build_authorization_url,
    build_pushed_authorization_request,
    build_request_object,
    build_request_object_parameters,
    normalize_scope,
    parse_pushed_authorization_response,
)
from oidc_rp.core.client_auth import secret_key
from oidc_rp.core.messages import HttpResponse
from oidc_rp.core.random import code_challenge_s256
from oidc_rp.core.transaction import PendingLogin
from oidc_rp.errors import TokenErrorResponse, TokenResponseError

ISSUER = "https://op.example.com"
CLIENT_ID = "client-123"
SECRET = "a-client-secret-of-sufficient-length"
REDIRECT_URI = "https://rp.example/callback"
NOW = 1_700_000_000
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
PENDING = PendingLogin(
    state="st4te",
    nonce="n0nce",
    code_verifier=VERIFIER,
    redirect_uri=REDIRECT_URI,
    response_type="code",
    response_mode=None,
    scope="openid",
    max_age=None,
    acr_values=None,
    essential_acr=(),
    issuer=ISSUER,
    client_id=CLIENT_ID,
    created_at=NOW,
)
RSA = RSAKey.generate_key(2048, parameters={"kid": "rp-rsa"})
EC = ECKey.generate_key("P-256")
ED = OKPKey.generate_key("Ed25519", parameters={"kid": "rp-ed"})


def params_for(**options: Any) -> dict[str, str]:
    return build_authorization_parameters(
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT_URI,
        options=AuthorizationOptions(**options),
        pending=PENDING,
    )


def test_default_parameters_for_the_code_flow_with_pkce() -> None:
    assert params_for() == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": "st4te",
        "nonce": "n0nce",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("openid", "openid"),
        ("profile email", "openid profile email"),
        ("email openid profile", "openid email profile"),
        ("openid openid  email email", "openid email"),
        ("", "openid"),
    ],
)
def test_scope_always_contains_openid(scope: str, expected: str) -> None:
    assert normalize_scope(scope) == expected
    assert params_for(scope=scope)["scope"] == expected


def test_all_options_are_sent() -> None:
    params = params_for(
        response_type="code id_token",
        response_mode="form_post",
        prompt="login consent",
        acr_values="urn:acr:silver urn:acr:gold",
        ui_locales="fr-CA en",
        max_age=0,
        claims={"userinfo": {"email": {"essential": True}}, "id_token": {}},
        login_hint="alice@example.com",
        extra={"audience": "api", "resource": "https://api.example"},
    )
    assert params["response_type"] == "code id_token"
    assert params["response_mode"] == "form_post"
    assert params["prompt"] == "login consent"
    assert params["acr_values"] == "urn:acr:silver urn:acr:gold"
    assert params["ui_locales"] == "fr-CA en"
    assert params["max_age"] == "0"
    assert params["login_hint"] == "alice@example.com"
    assert json.loads(params["claims"]) == {
        "userinfo": {"email": {"essential": True}},
        "id_token": {},
    }
    assert " " not in params["claims"]
    assert params["audience"] == "api"
    assert params["resource"] == "https://api.example"


def test_essential_acr_is_requested_through_the_claims_parameter() -> None:
    params = params_for(essential_acr=("urn:acr:gold",), claims={"id_token": {"auth_time": None}})
    assert json.loads(params["claims"]) == {
        "id_token": {"auth_time": None, "acr": {"essential": True, "values": ["urn:acr:gold"]}}
    }
    only_acr = json.loads(params_for(essential_acr=["a", "b"])["claims"])
    assert only_acr == {"id_token": {"acr": {"essential": True, "values": ["a", "b"]}}}


def test_claims_may_be_given_as_json_text() -> None:
    options = AuthorizationOptions(claims='{"userinfo": {"name": null}}')  # type: ignore[arg-type]
    assert options.claims == {"userinfo": {"name": None}}


@pytest.mark.parametrize(
    "response_type",
    [
        "code",
        "id_token",
        "id_token token",
        "token id_token",
        "code id_token",
        "code token",
        "code id_token token",
    ],
)
def test_openid_response_types_are_accepted(response_type: str) -> None:
    assert params_for(response_type=response_type)["response_type"] == response_type


@pytest.mark.parametrize(
    ("response_type", "response_mode"),
    [
        ("code", "query"),
        ("code token", "fragment"),
        ("code id_token", "form_post"),
        ("code id_token token", None),
    ],
)
def test_response_modes_that_fit_the_response_type_are_accepted(
    response_type: str, response_mode: str | None
) -> None:
    params = params_for(response_type=response_type, response_mode=response_mode)
    assert params.get("response_mode") == response_mode


OPTION_ERRORS = (
    [
        pytest.param(
            {"response_type": "token"}, "authorization.response_type", id="rt-token-alone"
        ),
        pytest.param({"response_type": "code code"}, "authorization.response_type", id="rt-dup"),
        pytest.param({"response_type": "none"}, "authorization.response_type", id="rt-none"),
        pytest.param({"response_type": ""}, "authorization.response_type", id="rt-empty"),
        pytest.param({"response_mode": "query.jwt"}, "authorization.response_mode", id="mode-jarm"),
    ]
    + [
        # Multiple Response Type Encoding Practices §5: "the query encoding MUST NOT be used".
        pytest.param(
            {"response_type": rt, "response_mode": "query"},
            "authorization.response_mode",
            id=f"mode-query-{rt.replace(' ', '-')}",
        )
        for rt in (
            "code token",
            "code id_token",
            "code id_token token",
            "id_token",
            "id_token token",
        )
    ]
    + [
        pytest.param(
            {"send_parameters_via": "post"}, "authorization.send_parameters_via", id="via"
        ),
        pytest.param({"prompt": "none login"}, "authorization.prompt", id="prompt-none-combined"),
        pytest.param({"prompt": "always"}, "authorization.prompt", id="prompt-unknown"),
        pytest.param({"prompt": " "}, "authorization.prompt", id="prompt-blank"),
        pytest.param({"max_age": -1}, "authorization.max_age", id="max-age-negative"),
        pytest.param({"max_age": "60"}, "authorization.max_age", id="max-age-string"),
        pytest.param({"max_age": 1.5}, "authorization.max_age", id="max-age-float"),
        pytest.param({"max_age": True}, "authorization.max_age", id="max-age-bool"),
        pytest.param({"claims": ["userinfo"]}, "authorization.claims", id="claims-array"),
        pytest.param({"claims": "{not json"}, "authorization.claims", id="claims-bad-json"),
        pytest.param({"claims": "[" * 100_000}, "authorization.claims", id="claims-too-deep"),
        pytest.param({"claims": "[]"}, "authorization.claims", id="claims-json-array"),
        pytest.param({"claims": {"access_token": {}}}, "authorization.claims", id="claims-member"),
        pytest.param(
            {"claims": {"userinfo": ["email"]}}, "authorization.claims.userinfo", id="ui-list"
        ),
        pytest.param(
            {"claims": {"id_token": None}}, "authorization.claims.id_token", id="idt-null"
        ),
        pytest.param(
            {"claims": {"id_token": {"x": {1, 2}}}}, "authorization.claims", id="claims-set"
        ),
        pytest.param({"essential_acr": ("",)}, "authorization.essential_acr", id="acr-empty"),
        pytest.param({"extra": {"prompt": 1}}, "authorization.extra", id="extra-not-string"),
    ]
    + [
        pytest.param({"extra": {name: "x"}}, "authorization.extra", id=f"extra-{name}")
        for name in (
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method",
            "client_id",
            "redirect_uri",
            "response_type",
            "request",
            "request_uri",
        )
    ]
)


@pytest.mark.parametrize(("options", "rule"), OPTION_ERRORS)
def test_options_reject_bad_values(options: dict[str, Any], rule: str) -> None:
    with pytest.raises(ValueError, match=rf"^{rule}: "):
        AuthorizationOptions(**options)


@pytest.mark.parametrize(
    "extra",
    [{"scope": "email"}, {"prompt": "none"}, {"max_age": "5"}],
)
def test_extra_may_not_override_set_parameters(extra: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"^authorization\.extra: .* already set"):
        params_for(prompt="login", max_age=10, extra=extra)


def test_extra_may_set_an_option_that_is_not_set() -> None:
    assert params_for(extra={"prompt": "none"})["prompt"] == "none"


@pytest.mark.parametrize(
    ("endpoint", "expected_query"),
    [
        ("https://op.example.com/authorize", [("client_id", "c"), ("scope", "openid email")]),
        (
            "https://op.example.com/authorize?tenant=t1",
            [("tenant", "t1"), ("client_id", "c"), ("scope", "openid email")],
        ),
        (
            "https://op.example.com/authorize?client_id=evil&x=",
            [("x", ""), ("client_id", "c"), ("scope", "openid email")],
        ),
    ],
)
def test_build_authorization_url_keeps_the_endpoint_query(
    endpoint: str, expected_query: list[tuple[str, str]]
) -> None:
    url = build_authorization_url(endpoint, {"client_id": "c", "scope": "openid email"})
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == (
        "https",
        "op.example.com",
        "/authorize",
        "",
    )
    assert parse_qsl(parts.query, keep_blank_values=True) == expected_query
    assert "scope=openid+email" in url


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, payload, _ = token.split(".")
    return b64_json(head), b64_json(payload)


def b64_json(part: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


@pytest.mark.parametrize(
    ("key", "alg", "kid"),
    [
        pytest.param(RSA, "RS256", "rp-rsa", id="RS256"),
        pytest.param(RSA, "PS256", "rp-rsa", id="PS256"),
        pytest.param(EC, "ES256", None, id="ES256"),
        pytest.param(ED, "EdDSA", "rp-ed", id="EdDSA"),
        pytest.param(secret_key(SECRET), "HS256", None, id="HS256"),
    ],
)
def test_request_object_is_signed_and_carries_every_parameter(
    key: Key, alg: str, kid: str | None
) -> None:
    params = params_for(max_age=120, claims={"userinfo": {"email": None}})
    token = build_request_object(
        params,
        client_id=CLIENT_ID,
        audience=ISSUER,
        key=key,
        alg=alg,
        now=NOW,
        jti="j1",
        lifetime=90,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        verified = jwt.decode(token, key, algorithms=[alg])
    assert verified.header["typ"] == "oauth-authz-req+jwt"
    assert verified.header["alg"] == alg
    assert verified.header.get("kid") == kid
    claims = verified.claims
    assert claims["iss"] == CLIENT_ID
    assert claims["aud"] == ISSUER
    assert claims["client_id"] == CLIENT_ID
    assert (claims["iat"], claims["nbf"], claims["exp"], claims["jti"]) == (
        NOW,
        NOW,
        NOW + 90,
        "j1",
    )
    for name in (
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "scope",
        "redirect_uri",
        "response_type",
    ):
        assert claims[name] == params[name]
    assert claims["max_age"] == 120
    assert claims["claims"] == {"userinfo": {"email": None}}


def test_request_object_with_alg_none_is_unsigned() -> None:
    token = build_request_object(
        params_for(), client_id=CLIENT_ID, audience=ISSUER, key=None, alg="none", now=NOW, jti="j"
    )
    assert token.endswith(".")
    header, claims = decode_unverified(token)
    assert header == {"typ": "oauth-authz-req+jwt", "alg": "none"}
    assert claims["state"] == "st4te"
    assert claims["exp"] == NOW + 300


@pytest.mark.parametrize(
    ("key", "alg", "rule"),
    [
        pytest.param(None, "RS256", "jwt.key", id="signed-without-key"),
        pytest.param(RSA, "none", "jwt.alg", id="none-with-key"),
    ],
)
def test_request_object_rejects_inconsistent_key_and_alg(
    key: Key | None, alg: str, rule: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{rule}: "):
        build_request_object(
            params_for(), client_id=CLIENT_ID, audience=ISSUER, key=key, alg=alg, now=NOW, jti="j"
        )


def test_front_channel_parameters_with_a_request_object() -> None:
    params = params_for(prompt="login")
    front = build_request_object_parameters("h.p.s", params)
    assert front == {
        "client_id": CLIENT_ID,
        "request": "h.p.s",
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": REDIRECT_URI,
    }
    for name in ("state", "nonce", "code_challenge", "code_challenge_method", "prompt"):
        assert name not in front


def test_front_channel_parameters_copy_only_what_is_there() -> None:
    front = build_request_object_parameters("h.p.s", {"client_id": "c", "scope": "openid"})
    assert front == {"client_id": "c", "request": "h.p.s", "scope": "openid"}


@pytest.mark.parametrize(
    ("request_uri", "pushed", "expected_names"),
    [
        pytest.param(
            "https://rp.example/ro/1",
            None,
            {"client_id", "request_uri", "response_type", "scope", "redirect_uri"},
            id="hosted",
        ),
        pytest.param(
            "urn:ietf:params:oauth:request_uri:abc",
            None,
            {"client_id", "request_uri"},
            id="par-urn",
        ),
        pytest.param("urn:example:par:1", True, {"client_id", "request_uri"}, id="par-explicit"),
        pytest.param(
            "urn:ietf:params:oauth:request_uri:abc",
            False,
            {"client_id", "request_uri", "response_type", "scope", "redirect_uri"},
            id="urn-not-pushed",
        ),
    ],
)
def test_front_channel_parameters_with_a_request_uri(
    request_uri: str, pushed: bool | None, expected_names: set[str]
) -> None:
    front = build_request_object_parameters(request_uri, params_for(), pushed=pushed)
    assert set(front) == expected_names
    assert front["request_uri"] == request_uri
    assert front["client_id"] == CLIENT_ID


def test_pushed_authorization_request_posts_all_parameters_with_client_auth() -> None:
    params = params_for()
    request = build_pushed_authorization_request(
        f"{ISSUER}/par", params, ({"authorization": "Basic eA=="}, {"client_id": CLIENT_ID})
    )
    assert (request.method, request.url) == ("POST", f"{ISSUER}/par")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["accept"] == "application/json"
    assert request.headers["authorization"] == "Basic eA=="
    assert request.body is not None
    assert dict(parse_qsl(request.body.decode())) == params
    assert params["code_challenge"] == code_challenge_s256(VERIFIER)


def test_pushed_authorization_request_with_an_assertion() -> None:
    auth_form = {"client_assertion_type": "t", "client_assertion": "a.b.c"}
    request = build_pushed_authorization_request(
        f"{ISSUER}/par", {"client_id": "c"}, ({}, auth_form)
    )
    assert request.body is not None
    assert dict(parse_qsl(request.body.decode())) == {"client_id": "c", **auth_form}


@pytest.mark.parametrize(
    ("params", "auth_form", "rule"),
    [
        pytest.param({"request_uri": "urn:x"}, {}, "par.request_uri", id="request-uri"),
        pytest.param(
            {"client_id": "a"}, {"client_id": "b"}, "par.client_id", id="client-id-differs"
        ),
    ],
)
def test_pushed_authorization_request_rejects(
    params: dict[str, str], auth_form: dict[str, str], rule: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{rule}: "):
        build_pushed_authorization_request(f"{ISSUER}/par", params, ({}, auth_form))


def par_response(body: Any, status: int = 201) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {"content-type": "application/json"}, raw)


def test_parse_pushed_authorization_response() -> None:
    body = {
        "request_uri": "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c",
        "expires_in": 60,
    }
    response = parse_pushed_authorization_response(par_response(body))
    assert response.request_uri == body["request_uri"]
    assert response.expires_in == 60
    url = build_authorization_url(
        f"{ISSUER}/authorize", build_request_object_parameters(response.request_uri, params_for())
    )
    assert dict(parse_qsl(urlsplit(url).query)) == {
        "client_id": CLIENT_ID,
        "request_uri": body["request_uri"],
    }


GOOD_PAR = {"request_uri": "urn:ietf:params:oauth:request_uri:x", "expires_in": 60}


@pytest.mark.parametrize(
    ("status", "body", "rule"),
    [
        pytest.param(200, GOOD_PAR, "par.status", id="status-200"),
        pytest.param(500, GOOD_PAR, "par.status", id="status-500"),
        pytest.param(201, b"<html>", "par.body", id="not-json"),
        pytest.param(201, b"[" * 100_000, "par.body", id="nested-too-deep"),
        pytest.param(201, {"expires_in": 60}, "par.request_uri", id="no-request-uri"),
        pytest.param(
            201, {**GOOD_PAR, "request_uri": ""}, "par.request_uri", id="empty-request-uri"
        ),
        pytest.param(
            201, {**GOOD_PAR, "request_uri": 7}, "par.request_uri", id="request-uri-number"
        ),
        pytest.param(201, {"request_uri": "urn:x"}, "par.expires_in", id="no-expires-in"),
        pytest.param(
            201, {**GOOD_PAR, "expires_in": "60"}, "par.expires_in", id="expires-in-string"
        ),
        pytest.param(201, {**GOOD_PAR, "expires_in": 0}, "par.expires_in", id="expires-in-zero"),
        pytest.param(201, {**GOOD_PAR, "expires_in": True}, "par.expires_in", id="expires-in-bool"),
    ],
)
def test_parse_pushed_authorization_response_rejects(status: int, body: Any, rule: str) -> None:
    with pytest.raises(TokenResponseError) as caught:
        parse_pushed_authorization_response(par_response(body, status))
    assert caught.value.code == "invalid_token_response"
    assert caught.value.rule == rule


def test_parse_pushed_authorization_response_raises_the_op_error() -> None:
    body = {"error": "invalid_request", "error_description": "redirect_uri not allowed"}
    with pytest.raises(TokenErrorResponse) as caught:
        parse_pushed_authorization_response(par_response(body, 400))
    assert caught.value.endpoint == "pushed_authorization_request"
    assert caught.value.error == "invalid_request"
    assert caught.value.error_description == "redirect_uri not allowed"
