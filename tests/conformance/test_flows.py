"""Certification rows 1-10 (flows, form_post, nonce, scope claims, client authentication), PAR.

Each test drives the web app through /start-login -> the test OP -> /callback like a browser.
"""

from __future__ import annotations

from typing import Any

import pytest
from joserfc.jws import extract_compact

from conformance.browser import Browser
from conformance.harness import CODE_RESPONSE_TYPES, RP_KEY_JWK, Apps, front_channel_id_token
from support.test_op import Call

HYBRID_WITH_ID_TOKEN = ("code id_token", "code id_token token")


def _one(calls: list[Call], endpoint: str) -> Call:
    found = [call for call in calls if call.endpoint == endpoint]
    assert len(found) == 1, [call.endpoint for call in calls]
    return found[0]


def _header_of(jwt: str) -> dict[str, Any]:
    return dict(extract_compact(jwt.encode()).protected)


def _mode_params() -> list[Any]:
    params = []
    for response_type in CODE_RESPONSE_TYPES:
        params.append(
            pytest.param(response_type, None, marks=pytest.mark.conformance("1"), id=response_type)
        )
        params.append(
            pytest.param(
                response_type,
                "form_post",
                marks=pytest.mark.conformance("1", "2"),
                id=f"{response_type} (form_post)",
            )
        )
    return params


@pytest.mark.parametrize(("response_type", "response_mode"), _mode_params())
def test_happy_path(
    apps: Apps, browser: Browser, response_type: str, response_mode: str | None
) -> None:
    app = apps.get("client-test")
    mark = app.mark()
    options = {"response_type": response_type}
    if response_mode:
        options["response_mode"] = response_mode
    visit = app.login(browser, **options)

    app.assert_logged_in(browser, visit)
    calls = app.calls_since(mark)
    authorization = _one(calls, "authorization")
    assert authorization.query["response_type"] == response_type
    assert "openid" in authorization.query["scope"].split()
    assert authorization.query["code_challenge_method"] == "S256"
    assert authorization.query["nonce"] and authorization.query["state"]
    token = _one(calls, "token")
    assert token.status == 200 and token.form["grant_type"] == "authorization_code"
    assert token.form["code_verifier"]  # PKCE (RFC 7636 §4.5), checked by the OP
    assert token.headers["authorization"].startswith("Basic ")
    userinfo = _one(calls, "userinfo")
    assert userinfo.status == 200
    assert userinfo.headers["authorization"].startswith("Bearer ")
    assert "access_token" not in userinfo.query
    if response_mode == "form_post":
        # The OP's cross-site POST comes without the SameSite=Lax cookie: the app relays it
        # from its own origin (a second POST, now with the cookie).
        posts = [hop for hop in visit.hops if hop.method == "POST"]
        assert [hop.url.endswith("/callback") for hop in posts] == [True, True], visit.hops
    elif front_channel_id_token(response_type) or "token" in response_type.split():
        assert visit.went_through("/callback-js")  # the fragment, posted by the page's script


@pytest.mark.conformance("4")
@pytest.mark.parametrize("response_type", HYBRID_WITH_ID_TOKEN)
def test_nonce_unless_code_flow(apps: Apps, browser: Browser, response_type: str) -> None:
    app = apps.get("nonce-unless-code-flow")
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser, response_type=response_type))
    sent = _one(app.calls_since(mark), "authorization").query["nonce"]
    claims = app.op.last_id_token_claims("nonce-unless-code-flow")
    assert claims is not None and claims["nonce"] == sent


@pytest.mark.conformance("6")
def test_scope_userinfo_claims(apps: Apps, browser: Browser) -> None:
    app = apps.get("scope-userinfo-claims")
    mark = app.mark()
    body = app.assert_logged_in(browser, app.login(browser, scope="openid profile email"))
    assert _one(app.calls_since(mark), "userinfo").status == 200
    assert body["claims"].get("email")  # from userinfo, asked by the email scope
    assert body["claims"].get("name")  # from userinfo, asked by the profile scope


AUTH_CASES = [
    pytest.param(
        "client-secret-basic",
        "client_secret_basic",
        marks=pytest.mark.conformance("7"),
        id="client_secret_basic",
    ),
    pytest.param(
        "client-test",
        "client_secret_post",
        marks=pytest.mark.conformance("8"),
        id="client_secret_post",
    ),
    pytest.param(
        "client-test",
        "client_secret_jwt",
        marks=pytest.mark.conformance("9"),
        id="client_secret_jwt",
    ),
    pytest.param(
        "client-test", "private_key_jwt", marks=pytest.mark.conformance("10"), id="private_key_jwt"
    ),
]


@pytest.mark.parametrize(("test_id", "method"), AUTH_CASES)
def test_client_authentication(apps: Apps, browser: Browser, test_id: str, method: str) -> None:
    settings: dict[str, Any] = {"token_endpoint_auth_method": method}
    if method == "private_key_jwt":
        settings["client_private_key"] = RP_KEY_JWK
    app = apps.get(test_id, **settings)
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser))
    token = _one(app.calls_since(mark), "token")
    assert token.status == 200, token.error
    if method == "client_secret_basic":
        assert token.headers["authorization"].startswith("Basic ")
        assert "client_secret" not in token.form
    elif method == "client_secret_post":
        assert "authorization" not in token.headers
        assert token.form["client_id"] == app.settings.client_id and token.form["client_secret"]
    else:
        assert "authorization" not in token.headers and "client_secret" not in token.form
        assert token.form["client_assertion_type"] == (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        )
        alg = _header_of(token.form["client_assertion"])["alg"]
        assert alg == ("HS256" if method == "client_secret_jwt" else "RS256")


@pytest.mark.conformance("3")
def test_form_post_error(apps: Apps, browser: Browser) -> None:
    app = apps.get("form-post-error")
    mark = app.mark()
    visit = app.login(browser, response_mode="form_post", prompt="none", max_age="0")
    # The OP said no: OPErrorResponse -> 400 with the OP's error code (docs/web.md).
    app.assert_rejected(
        browser,
        visit,
        status=400,
        code="login_required",
        rule="the user is not logged in",
        mark=mark,
        after="authorization",
        forbidden=("token", "userinfo"),
    )
    assert any(hop.method == "POST" and hop.url.endswith("/callback") for hop in visit.hops)


@pytest.mark.conformance("V1")
def test_pushed_authorization_request(apps: Apps, browser: Browser) -> None:
    app = apps.get("client-test", send_parameters_via="par")
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser))
    endpoints = app.endpoints_since(mark)
    assert endpoints.index("par") < endpoints.index("authorization") < endpoints.index("token")
    authorization = _one(app.calls_since(mark), "authorization")
    # RFC 9126 §4: only client_id and request_uri at the authorization endpoint.
    assert set(authorization.query) == {"client_id", "request_uri"}
