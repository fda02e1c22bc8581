"""Certification rows 33-36 (userinfo) and the FAPI authorization/token response checks.

A bad authorization response (RFC 9207 ``iss``) is a ``ProtocolError`` -> 502; an unknown or
missing ``state`` is a ``LoginStateError`` -> 400 (docs/web.md). Neither may be followed by a
token call. A userinfo ``sub`` other than the ID token's refuses the login (OIDC Core §5.3.4).
"""

from __future__ import annotations

import pytest

from conformance.browser import Browser
from conformance.harness import CODE_RESPONSE_TYPES, Apps


@pytest.mark.conformance("33")
def test_userinfo_bearer_header(apps: Apps, browser: Browser) -> None:
    app = apps.get("userinfo-bearer-header")
    mark = app.mark()
    body = app.assert_logged_in(browser, app.login(browser))
    userinfo = [call for call in app.calls_since(mark) if call.endpoint == "userinfo"]
    assert len(userinfo) == 1 and userinfo[0].status == 200
    token = next(call for call in app.calls_since(mark) if call.endpoint == "token")
    assert token.status == 200
    # RFC 6750 §2.1: the token in the header only, never in the query or body as well.
    assert userinfo[0].headers["authorization"].startswith("Bearer ")
    assert "access_token" not in userinfo[0].query and "access_token" not in userinfo[0].form
    assert body["claims"].get("email")


@pytest.mark.conformance("35")
@pytest.mark.parametrize("response_type", CODE_RESPONSE_TYPES)
def test_userinfo_invalid_sub(apps: Apps, browser: Browser, response_type: str) -> None:
    app = apps.get("userinfo-invalid-sub")
    mark = app.mark()
    visit = app.login(browser, response_type=response_type)
    # OIDC Core §5.3.4: a sub mismatch means the UserInfo response MUST NOT be used.
    app.assert_rejected(
        browser,
        visit,
        status=502,
        code="invalid_userinfo",
        rule="userinfo.sub",
        mark=mark,
        after="userinfo",
        forbidden=("token", "userinfo"),
    )


@pytest.mark.conformance("36")
def test_userinfo_signed(apps: Apps, browser: Browser) -> None:
    app = apps.get("userinfo-signed", userinfo_signed_response_alg="RS256")
    mark = app.mark()
    body = app.assert_logged_in(browser, app.login(browser))
    assert body["claims"].get("email")  # from the verified userinfo JWT
    userinfo = [call for call in app.calls_since(mark) if call.endpoint == "userinfo"]
    assert len(userinfo) == 1 and userinfo[0].status == 200


def _fault(
    test_id: str, status: int, code: str, rule: str, row: str, response_types: tuple[str, ...]
) -> list[object]:
    return [
        pytest.param(
            test_id,
            status,
            code,
            rule,
            rt,
            marks=pytest.mark.conformance(row),
            id=f"{test_id}-{rt}",
        )
        for rt in response_types
    ]


BOTH = ("code", "code id_token")
AUTHORIZATION_RESPONSE_FAULTS = [
    *_fault(
        "invalid-authorization-response-iss",
        502,
        "invalid_authorization_response",
        "authorization_response.iss",
        "G16",
        BOTH,
    ),
    # Code only, as FAPI2 plays it: with a front-channel ID token the RP takes the token's
    # iss claim (checked before the code is redeemed) in place of the parameter (RFC 9207
    # §2.4), a documented choice of core/callback.py.
    *_fault(
        "remove-authorization-response-iss",
        502,
        "invalid_authorization_response",
        "authorization_response.iss",
        "G17",
        ("code",),
    ),
    *_fault("invalid-state", 400, "invalid_state", "callback.state", "G18", BOTH),
    *_fault("missing-state", 400, "invalid_state", "callback.state", "G19", BOTH),
]


@pytest.mark.parametrize(
    ("test_id", "status", "code", "rule", "response_type"), AUTHORIZATION_RESPONSE_FAULTS
)
def test_authorization_response_rejected(
    apps: Apps,
    browser: Browser,
    test_id: str,
    status: int,
    code: str,
    rule: str,
    response_type: str,
) -> None:
    app = apps.get(test_id)
    mark = app.mark()
    visit = app.login(browser, response_type=response_type)
    app.assert_rejected(
        browser,
        visit,
        status=status,
        code=code,
        rule=rule,
        mark=mark,
        after="authorization",
        forbidden=("token", "userinfo"),
    )


@pytest.mark.parametrize(
    "test_id",
    [
        pytest.param("token-type-case-insensitivity", marks=pytest.mark.conformance("G21")),
        pytest.param(
            "token-endpoint-response-without-expires_in", marks=pytest.mark.conformance("G20")
        ),
        pytest.param("no-scope-in-token-endpoint-response", marks=pytest.mark.conformance("F22")),
    ],
)
def test_token_response_accepted(apps: Apps, browser: Browser, test_id: str) -> None:
    app = apps.get(test_id)
    mark = app.mark()
    body = app.assert_logged_in(browser, app.login(browser))
    userinfo = [call for call in app.calls_since(mark) if call.endpoint == "userinfo"]
    assert len(userinfo) == 1 and userinfo[0].status == 200
    # RFC 6750 §2.1 scheme "Bearer" whatever the case of token_type (RFC 6749 §5.1).
    assert userinfo[0].headers["authorization"].startswith("Bearer ")
    if test_id != "token-type-case-insensitivity":
        assert body["tokens"]["access_token_expires_at"] is None
    if test_id == "no-scope-in-token-endpoint-response":
        # RFC 6749 §5.1: scope is OPTIONAL "if identical to the scope requested by the
        # client": the app goes on as if granted what it asked (userinfo for those claims).
        [authorization] = [c for c in app.calls_since(mark) if c.endpoint == "authorization"]
        assert {"profile", "email"} <= set(authorization.query["scope"].split())
        assert body["claims"].get("name") and body["claims"].get("email")
        page = browser.get(f"{app.base_url}/").text
        assert f"scope <code>{authorization.query['scope']}</code>" in page
