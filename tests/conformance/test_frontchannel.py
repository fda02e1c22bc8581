"""Certification rows 66-69: front-channel logout (Front-Channel Logout 1.0).

The test OP has no front-channel page of its own, so the driver plays its part: it loads the
app's frontchannel_logout_uri with ``iss`` and ``sid`` from a cookie-less client, as the OP's
cross-site iframe does (the SameSite=Lax session cookie is not sent there).
"""

from __future__ import annotations

import httpx2
import pytest

from conformance.browser import Browser
from conformance.harness import Apps, RunningApp

TEST_ID = "rp-init-logout"


def _iframe(app: RunningApp, **query: str) -> httpx2.Response:
    """The OP's iframe load of the frontchannel_logout_uri (no cookie: cross-site)."""
    with httpx2.Client() as iframe:
        return iframe.get(f"{app.base_url}/frontchannel-logout", params=query)


def _sid(app: RunningApp, browser: Browser) -> str:
    status, body = app.session(browser)
    assert status == 200, body
    return str(body["claims"]["sid"])


@pytest.mark.conformance("66")
def test_rp_initiated_front_channel_logout(apps: Apps, browser: Browser) -> None:
    app = apps.get(TEST_ID)
    app.assert_logged_in(browser, app.login(browser))
    sid = _sid(app, browser)
    visit = app.action(browser, "/logout")
    assert visit.status == 200  # back at /logged-out through the OP's end_session
    page = _iframe(app, iss=app.op.issuer(TEST_ID), sid=sid)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    # The OP must be able to frame it (no DENY), and only the OP.
    assert "x-frame-options" not in page.headers
    assert "frame-ancestors http://127.0.0.1:" in page.headers["content-security-policy"]


@pytest.mark.conformance("67")
def test_op_initiated_front_channel_logout(apps: Apps, browser: Browser) -> None:
    app = apps.get(TEST_ID)
    app.assert_logged_in(browser, app.login(browser))
    page = _iframe(app, iss=app.op.issuer(TEST_ID), sid=_sid(app, browser))
    assert 'data-ended="1"' in page.text
    assert app.session(browser)[0] == 401


@pytest.mark.conformance("68")
def test_front_channel_logout_with_a_wrong_iss_is_refused(apps: Apps, browser: Browser) -> None:
    app = apps.get(TEST_ID)
    app.assert_logged_in(browser, app.login(browser))
    page = _iframe(app, iss=app.op.issuer(TEST_ID) + "INVALID", sid=_sid(app, browser))
    assert page.status_code == 400
    assert app.session(browser)[0] == 200


@pytest.mark.conformance("69")
def test_front_channel_logout_with_another_sid_ends_nothing(apps: Apps, browser: Browser) -> None:
    app = apps.get(TEST_ID)
    app.assert_logged_in(browser, app.login(browser))
    page = _iframe(app, iss=app.op.issuer(TEST_ID), sid="another_sid")
    assert page.status_code == 200 and 'data-ended="0"' in page.text
    assert app.session(browser)[0] == 200
