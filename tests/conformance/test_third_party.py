"""Certification row 58: login initiated by the OP at the RP's initiate_login_uri (OIDC Core §4).

The test OP's part is to send the browser to ``initiate_login_uri?iss=<issuer>``; the driver
does exactly that, then the login runs like any other.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from conformance.browser import Browser
from conformance.harness import Apps


@pytest.mark.conformance("58")
def test_third_party_initiated_login(apps: Apps, browser: Browser) -> None:
    app = apps.get("client-test")
    mark = app.mark()
    issuer = app.op.issuer("client-test")
    visit = browser.navigate(f"{app.base_url}/initiate-login?{urlencode({'iss': issuer})}")
    app.assert_logged_in(browser, visit)
    endpoints = [call.endpoint for call in app.calls_since(mark) if call.endpoint != "discovery"]
    assert endpoints[:2] == ["authorization", "token"], endpoints


@pytest.mark.conformance("58")
def test_third_party_initiated_login_for_another_issuer_is_refused(
    apps: Apps, browser: Browser
) -> None:
    app = apps.get("client-test")
    mark = app.mark()
    other = app.op.issuer("nonce-invalid")
    visit = browser.navigate(f"{app.base_url}/initiate-login?{urlencode({'iss': other})}")
    assert visit.status == 400
    assert "initiate_login.iss" in visit.text
    assert app.calls_since(mark) == []
    assert browser.get(f"{app.base_url}/api/session").status_code == 401
