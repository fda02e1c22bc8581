"""Tests for oidc_rp.core.callback (RFC 6749 §4.1.2, OIDC Core §3.1.2.5-6, RFC 9207)."""

from __future__ import annotations

import dataclasses

import pytest

from oidc_rp.core.callback import parse_authorization_response
from oidc_rp.core.transaction import PendingLogin
from oidc_rp.errors import AuthorizationErrorResponse, AuthorizationResponseError

ISSUER = "https://op.example.com"
STATE = "AYmW9pCqzTzNSUVYdGFjZfRtDM8nEe0Nt8oQ4u6yS5k"
PENDING = PendingLogin(
    state=STATE,
    nonce="n0nce",
    code_verifier="v" * 43,
    redirect_uri="https://rp.example/callback",
    response_type="code",
    response_mode=None,
    scope="openid",
    max_age=None,
    acr_values=None,
    essential_acr=(),
    issuer=ISSUER,
    client_id="client-123",
    created_at=1_700_000_000,
)


def parse(
    params: dict[str, str], *, response_type: str = "code", supported: bool = False
) -> object:
    pending = dataclasses.replace(PENDING, response_type=response_type)
    return parse_authorization_response(
        params, pending, issuer=ISSUER, iss_parameter_supported=supported
    )


def test_code_response_with_iss() -> None:
    response = parse_authorization_response(
        {"code": "c0de", "state": STATE, "iss": ISSUER, "session_state": "ss"},
        PENDING,
        issuer=ISSUER,
        iss_parameter_supported=True,
    )
    assert response.code == "c0de"
    assert response.state == STATE
    assert response.iss == ISSUER
    assert response.session_state == "ss"
    assert (response.id_token, response.access_token, response.token_type) == (None, None, None)
    assert "c0de" not in repr(response)


def test_code_response_without_iss_when_not_advertised() -> None:
    response = parse_authorization_response(
        {"code": "c0de", "state": STATE}, PENDING, issuer=ISSUER, iss_parameter_supported=False
    )
    assert response.code == "c0de"
    assert response.iss is None


def test_parts_not_asked_for_are_not_returned() -> None:
    # An id_token or access_token injected into a code response is ignored, not used.
    response = parse_authorization_response(
        {"code": "c0de", "state": STATE, "id_token": "x.y.z", "access_token": "at"},
        PENDING,
        issuer=ISSUER,
        iss_parameter_supported=False,
    )
    assert (response.id_token, response.access_token) == (None, None)


@pytest.mark.parametrize(
    ("response_type", "params", "expected"),
    [
        pytest.param(
            "id_token", {"id_token": "h.p.s"}, {"id_token": "h.p.s", "code": None}, id="id_token"
        ),
        pytest.param(
            "id_token token",
            {"id_token": "h.p.s", "access_token": "at", "token_type": "Bearer", "expires_in": "60"},
            {"id_token": "h.p.s", "access_token": "at", "token_type": "Bearer", "expires_in": 60},
            id="id_token-token",
        ),
        pytest.param(
            "code id_token",
            {"code": "c", "id_token": "h.p.s"},
            {"code": "c", "id_token": "h.p.s", "access_token": None},
            id="code-id_token",
        ),
        pytest.param(
            "code token",
            {"code": "c", "access_token": "at", "token_type": "bearer"},
            {"code": "c", "access_token": "at", "expires_in": None, "id_token": None},
            id="code-token",
        ),
        pytest.param(
            "code id_token token",
            {"code": "c", "id_token": "h.p.s", "access_token": "at", "token_type": "Bearer"},
            {"code": "c", "id_token": "h.p.s", "access_token": "at"},
            id="code-id_token-token",
        ),
    ],
)
def test_hybrid_and_implicit_parts(
    response_type: str, params: dict[str, str], expected: dict[str, object]
) -> None:
    response = parse({"state": STATE, **params}, response_type=response_type)
    for name, value in expected.items():
        assert getattr(response, name) == value


REJECTED = [
    # (params, response_type, iss advertised, rule, message fragment)
    pytest.param({"code": "c"}, "code", False, "state", "missing", id="state-missing"),
    pytest.param({"code": "c", "state": ""}, "code", False, "state", "missing", id="state-empty"),
    pytest.param(
        {"code": "c", "state": STATE + "x"},
        "code",
        False,
        "state",
        "does not match",
        id="state-long",
    ),
    pytest.param(
        {"code": "c", "state": STATE[:-1]},
        "code",
        False,
        "state",
        "does not match",
        id="state-short",
    ),
    pytest.param(
        {"code": "c", "state": "é" * 10}, "code", False, "state", "does not match", id="state-utf8"
    ),
    pytest.param(
        {"error": "access_denied"}, "code", False, "state", "missing", id="error-without-state"
    ),
    pytest.param(
        {"code": "c", "state": STATE}, "code", True, "iss", "missing", id="iss-missing-advertised"
    ),
    pytest.param(
        {"code": "c", "state": STATE, "iss": "https://evil.example"},
        "code",
        False,
        "iss",
        "not the expected issuer",
        id="iss-other-not-advertised",
    ),
    pytest.param(
        {"code": "c", "state": STATE, "iss": ISSUER + "/"},
        "code",
        True,
        "iss",
        "not the expected issuer",
        id="iss-trailing-slash",
    ),
    pytest.param(
        {"code": "c", "state": STATE, "iss": ""},
        "code",
        False,
        "iss",
        "not the expected",
        id="iss-empty",
    ),
    pytest.param(
        {"error": "access_denied", "state": STATE, "iss": "https://evil.example"},
        "code",
        True,
        "iss",
        "not the expected issuer",
        id="error-with-wrong-iss",
    ),
    pytest.param({"error": "", "state": STATE}, "code", False, "error", "empty", id="error-empty"),
    pytest.param({"state": STATE}, "code", False, "code", "missing", id="code-missing"),
    pytest.param({"state": STATE, "code": ""}, "code", False, "code", "missing", id="code-empty"),
    pytest.param(
        {"state": STATE, "code": "c"},
        "code id_token",
        False,
        "id_token",
        "missing",
        id="no-id_token",
    ),
    pytest.param(
        {"state": STATE, "id_token": "h.p.s", "token_type": "Bearer"},
        "id_token token",
        False,
        "access_token",
        "missing",
        id="no-access_token",
    ),
    pytest.param(
        {"state": STATE, "id_token": "h.p.s", "access_token": "at"},
        "id_token token",
        False,
        "token_type",
        "missing",
        id="no-token_type",
    ),
    pytest.param(
        {
            "state": STATE,
            "code": "c",
            "access_token": "at",
            "token_type": "Bearer",
            "expires_in": "1h",
        },
        "code token",
        False,
        "expires_in",
        "not an integer",
        id="expires_in-text",
    ),
    pytest.param(
        {
            "state": STATE,
            "code": "c",
            "access_token": "at",
            "token_type": "Bearer",
            "expires_in": "-5",
        },
        "code token",
        False,
        "expires_in",
        "not an integer",
        id="expires_in-negative",
    ),
    pytest.param(
        {
            "state": STATE,
            "code": "c",
            "access_token": "at",
            "token_type": "Bearer",
            "expires_in": "٣",
        },
        "code token",
        False,
        "expires_in",
        "not an integer",
        id="expires_in-arabic-digit",
    ),
]


@pytest.mark.parametrize(("params", "response_type", "supported", "rule", "text"), REJECTED)
def test_rejects(
    params: dict[str, str], response_type: str, supported: bool, rule: str, text: str
) -> None:
    with pytest.raises(AuthorizationResponseError) as caught:
        parse(params, response_type=response_type, supported=supported)
    assert caught.value.code == "invalid_authorization_response"
    assert caught.value.rule == f"authorization_response.{rule}"
    assert text in caught.value.message


@pytest.mark.parametrize(
    ("params", "supported", "description", "uri"),
    [
        pytest.param({"error": "access_denied", "state": STATE}, False, None, None, id="bare"),
        pytest.param(
            {
                "error": "login_required",
                "error_description": "no session",
                "error_uri": "https://op.example.com/e",
                "state": STATE,
                "iss": ISSUER,
            },
            True,
            "no session",
            "https://op.example.com/e",
            id="described-with-iss",
        ),
        pytest.param(
            {"error": "consent_required", "error_description": "", "state": STATE, "code": "c"},
            False,
            None,
            None,
            id="empty-description",
        ),
    ],
)
def test_error_responses_after_state_and_iss(
    params: dict[str, str], supported: bool, description: str | None, uri: str | None
) -> None:
    with pytest.raises(AuthorizationErrorResponse) as caught:
        parse(params, supported=supported)
    assert caught.value.code == "authorization_error"
    assert caught.value.error == params["error"]
    assert caught.value.error_description == description
    assert caught.value.error_uri == uri
    assert caught.value.endpoint == "authorization"


def test_iss_may_be_omitted_when_the_response_carries_an_id_token() -> None:
    """The front-channel ID token's own iss claim is checked instead (hybrid flows)."""
    hybrid = dataclasses.replace(PENDING, response_type="code id_token")
    params = {"state": PENDING.state, "code": "c", "id_token": "h.p.s"}
    response = parse_authorization_response(
        params, hybrid, issuer=ISSUER, iss_parameter_supported=True
    )
    assert response.iss is None and response.id_token == "h.p.s"
    # Without the ID token the parameter stays required.
    with pytest.raises(AuthorizationResponseError, match="iss: missing"):
        parse_authorization_response(
            {"state": PENDING.state, "code": "c"},
            hybrid,
            issuer=ISSUER,
            iss_parameter_supported=True,
        )
    # A present iss is still compared.
    with pytest.raises(AuthorizationResponseError, match="iss"):
        parse_authorization_response(
            {**params, "iss": ISSUER + "1"}, hybrid, issuer=ISSUER, iss_parameter_supported=True
        )
