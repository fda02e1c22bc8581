"""Pure helpers of the web layer: JWT display, Accept negotiation, login option parsing,
the error mapping."""

from __future__ import annotations

import json
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from oidc_rp.errors import (
    AuthorizationErrorResponse,
    ConfigurationError,
    IDTokenError,
    LoginStateError,
    NotSupportedError,
    OPUnreachableError,
    TokenErrorResponse,
)
from oidc_rp.settings import Settings
from oidc_rp.web.errors import BadRequest, CSRFError, SessionRequired, error_view
from oidc_rp.web.routes_login import parse_login_options
from oidc_rp.web.views import decode_for_display, time_claims

NOW = 1_700_000_000
SETTINGS = Settings.model_validate(
    {"issuer": "https://op.example", "client_id": "c", "authn_parameters": {"foo": "bar"}}
)


def test_jwt_is_decoded_for_display() -> None:
    token = jwt.encode(
        {"alg": "HS256", "kid": "k1"},
        {"sub": "alice", "exp": NOW + 90, "iat": NOW - 30, "auth_time": NOW - 86400 * 2},
        OctKey.generate_key(256),
    )
    shown = decode_for_display("ID token", token, NOW)
    assert shown.is_jwt
    assert json.loads(shown.header) == {"alg": "HS256", "kid": "k1", "typ": "JWT"}
    assert json.loads(shown.payload)["sub"] == "alice"
    times = {t.name: t for t in shown.times}
    assert times["exp"].relative == "in 1m 30s"
    assert times["iat"].relative == "0m 30s ago"
    assert times["auth_time"].relative == "2d 0m 00s ago"
    assert times["exp"].date == "2023-11-14 22:14:50 UTC"


@pytest.mark.parametrize(
    "token", ["opaque-token", "a.b.c", "eyJhbGciOiJub25lIn0.WzFd.", "x.y", "é.é.é"]
)
def test_anything_else_is_opaque(token: str) -> None:
    shown = decode_for_display("Access token", token, NOW)
    assert not shown.is_jwt
    assert shown.raw == token


def test_unusable_time_claims_are_left_out() -> None:
    assert time_claims({"exp": "soon", "iat": True, "nbf": 10**20}, NOW) == ()


def options(**params: str) -> Any:
    return parse_login_options(params, SETTINGS)


def test_default_login_options() -> None:
    got = options()
    assert (got.scope, got.response_type, got.prompt) == ("openid", "code", None)
    assert got.extra == {"foo": "bar"}


@pytest.mark.parametrize(
    ("params", "prompt", "extra_prompt"),
    [
        ({"forceAuthN": "true"}, "login", None),
        ({"forceConsent": "on"}, "consent", None),
        ({"forceAuthN": "1", "forceConsent": "yes"}, "login consent", None),
        ({"allowConsentOptionDeselection": "true"}, None, "consent consent_allow_deselection"),
        ({"forceConsent": "false"}, None, None),
    ],
)
def test_prompt_options(
    params: dict[str, str], prompt: str | None, extra_prompt: str | None
) -> None:
    got = options(**params)
    assert got.prompt == prompt
    assert got.extra.get("prompt") == extra_prompt


def test_all_login_options() -> None:
    got = options(
        scope="openid email",
        acr="a b",
        acr_essential="true",
        responseType="code id_token",
        response_mode="form_post",
        ui_locales="sv",
        max_age="0",
        claims='{"userinfo": {"email": null}}',
        login_hint="bob",
        send_parameters_via="par",
    )
    assert got.acr_values == "a b" and got.essential_acr == ("a", "b")
    assert (got.response_type, got.response_mode) == ("code id_token", "form_post")
    assert (got.ui_locales, got.max_age, got.login_hint) == ("sv", 0, "bob")
    assert got.claims == {"userinfo": {"email": None}}
    assert got.send_parameters_via == "par"


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (AuthorizationErrorResponse("access_denied", "no"), 400, "access_denied"),
        (TokenErrorResponse("invalid_grant", endpoint="token"), 400, "invalid_grant"),
        (LoginStateError("callback.state: missing"), 400, "invalid_state"),
        (NotSupportedError("revocation_endpoint: no"), 400, "not_supported"),
        (ConfigurationError("client_id: not configured"), 400, "configuration_error"),
        (BadRequest("max_age: bad"), 400, "invalid_request"),
        (SessionRequired("session: none"), 401, "login_required"),
        (CSRFError("csrf_token: missing"), 403, "invalid_csrf_token"),
        (IDTokenError("id_token.aud: untrusted"), 502, "invalid_id_token"),
        (OPUnreachableError("http: down"), 502, "op_unreachable"),
        (RuntimeError("secret stuff"), 500, "server_error"),
    ],
)
def test_error_mapping(exc: Exception, status: int, code: str) -> None:
    view = error_view(exc)
    assert (view.status, view.code) == (status, code)
    assert "secret stuff" not in view.description
