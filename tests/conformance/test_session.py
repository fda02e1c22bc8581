"""Certification rows 59-64 and 70-77: refresh, RP-initiated logout, back-channel logout.

Actions are the home page's forms (POST with the session's CSRF token). Back-channel logout is
judged on the status the app's ``/backchannel-logout`` answered the test OP (200 valid, 400 for
each invalid logout token, Back-Channel Logout 1.0 §2.8) and on whether the session ended.
"""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from joserfc.jws import extract_compact

from conformance.browser import Browser
from conformance.harness import Apps, RunningApp
from support.test_op import Call


def _calls(app: RunningApp, mark: int, endpoint: str) -> list[Call]:
    return [call for call in app.calls_since(mark) if call.endpoint == endpoint]


@pytest.mark.conformance("59")
def test_refresh_token(apps: Apps, browser: Browser) -> None:
    app = apps.get("refresh-token")
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser))
    [first_userinfo] = _calls(app, mark, "userinfo")
    after_login = app.mark()
    refreshed = app.action(browser, "/refresh")
    assert refreshed.status == 200 and refreshed.url == f"{app.base_url}/", refreshed.text[-400:]
    again = app.action(browser, "/userinfo")
    assert again.status == 200 and again.url == f"{app.base_url}/"
    [token] = _calls(app, after_login, "token")
    assert token.status == 200 and token.form["grant_type"] == "refresh_token"
    assert token.form["refresh_token"]
    [userinfo] = _calls(app, after_login, "userinfo")
    assert userinfo.status == 200
    # The new access token is the one used.
    assert userinfo.headers["authorization"] != first_userinfo.headers["authorization"]
    assert app.endpoints_since(after_login) == ["token", "userinfo"]


@pytest.mark.parametrize(
    ("test_id", "rule"),
    [
        pytest.param(
            "refresh-token-invalid-issuer", "id_token.iss", marks=pytest.mark.conformance("60")
        ),
        pytest.param(
            "refresh-token-invalid-sub",
            "id_token.refresh.sub",
            marks=pytest.mark.conformance("61"),
        ),
    ],
)
def test_refreshed_id_token_rejected(apps: Apps, browser: Browser, test_id: str, rule: str) -> None:
    app = apps.get(test_id)
    app.assert_logged_in(browser, app.login(browser))
    _, before = app.session(browser)
    mark = app.mark()
    visit = app.action(browser, "/refresh")
    # OIDC Core §12.2: a refreshed ID token with another iss/sub is refused (ProtocolError 502).
    assert visit.status == 502, visit.text[-400:]
    assert "<code>invalid_id_token</code>" in visit.text and rule in visit.text
    assert app.endpoints_since(mark) == ["token"]  # no userinfo call after it
    status, after = app.session(browser)
    # A failed refresh changes nothing: same user, same tokens.
    assert status == 200 and after["sub"] == before["sub"]
    assert after["tokens"] == before["tokens"]


def _logged_out_outcome(page: str) -> str:
    found = re.search(r'id="logged-out" data-outcome="([a-z]+)"', page)
    assert found, page[-400:]
    return found.group(1)


@pytest.mark.parametrize(
    ("test_id", "outcome"),
    [
        pytest.param(test_id, outcome, marks=pytest.mark.conformance(row), id=test_id)
        for test_id, outcome, row in (
            ("rp-init-logout", "confirmed", "62"),
            ("rp-init-logout-other-state", "unmatched", "63"),
            ("rp-init-logout-no-state", "unmatched", "64"),
        )
    ],
)
def test_rp_initiated_logout(apps: Apps, browser: Browser, test_id: str, outcome: str) -> None:
    app = apps.get(test_id)
    app.assert_logged_in(browser, app.login(browser))
    mark = app.mark()
    visit = app.action(browser, "/logout")
    assert visit.status == 200 and urlsplit(visit.url).path == "/logged-out", visit.url
    # A foreign or missing state is not taken for ours: the neutral note (RP-Initiated
    # Logout 1.0 §3), never an error; the local session is gone either way.
    assert _logged_out_outcome(visit.text) == outcome
    assert app.session(browser)[0] == 401
    [end_session] = _calls(app, mark, "end_session")
    assert end_session.status == 302, end_session.error
    assert end_session.query["id_token_hint"]
    assert end_session.query["post_logout_redirect_uri"] == f"{app.base_url}/logged-out"
    assert end_session.query["state"]
    assert end_session.query["client_id"] == app.settings.client_id
    assert app.op.backchannel_results(test_id)[-1] == 200  # registered: notified too


def _id_token_of(app: RunningApp, browser: Browser) -> str:
    """The ID token the home page shows (a user at the keyboard can copy it too)."""
    page = browser.get(f"{app.base_url}/").text
    for raw in re.findall(r'<pre class="raw">([^<]+)</pre>', page):
        value = unescape(raw).strip()
        if value.count(".") != 2:
            continue
        claims: dict[str, Any] = json.loads(extract_compact(value.encode()).payload)
        if claims.get("aud") == app.settings.client_id and "nonce" in claims:
            return value
    raise AssertionError("no ID token on the home page")


def _logout_at_op(app: RunningApp, browser: Browser) -> int:
    """Log out at the OP (as from another RP or the OP's own page); the OP notifies the app."""
    query = urlencode({"id_token_hint": _id_token_of(app, browser)})
    answer = browser.get(f"{app.op.issuer(app.test_id)}/end_session?{query}")
    assert answer.status_code == 200
    return app.op.backchannel_results(app.test_id)[-1]


@pytest.mark.conformance("70")
def test_backchannel_logout_valid(apps: Apps, browser: Browser) -> None:
    test_id = "rp-backchannel-rpinitlogout"
    app = apps.get(test_id)
    # As the suite plays it: RP-initiated logout, then the OP's back-channel notification.
    app.assert_logged_in(browser, app.login(browser))
    visit = app.action(browser, "/logout")
    assert visit.status == 200 and _logged_out_outcome(visit.text) == "confirmed"
    assert app.op.backchannel_results(test_id)[-1] == 200
    # And the notification alone ends a live session of that OP session (sid).
    other = Browser()
    try:
        app.assert_logged_in(other, app.login(other))
        assert _logout_at_op(app, other) == 200
        assert app.session(other)[0] == 401
    finally:
        other.close()


@pytest.mark.parametrize(
    "test_id",
    [
        pytest.param(f"rp-backchannel-rpinitlogout-{suffix}", marks=pytest.mark.conformance(row))
        for suffix, row in (
            ("alg-none", "71"),
            ("no-event", "72"),
            ("with-nonce", "73"),
            ("wrong-alg", "74"),
            ("wrong-aud", "75"),
            ("wrong-event", "76"),
            ("wrong-iss", "77"),
        )
    ],
)
def test_backchannel_logout_invalid(apps: Apps, browser: Browser, test_id: str) -> None:
    app = apps.get(test_id)
    app.assert_logged_in(browser, app.login(browser))
    # Back-Channel Logout 1.0 §2.8: "If the logout failed, the RP MUST respond with HTTP 400".
    assert _logout_at_op(app, browser) == 400
    assert app.session(browser)[0] == 200  # the session is kept
