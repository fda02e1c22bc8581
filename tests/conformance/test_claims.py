"""Certification rows 41-42: the ``claims`` request parameter (OIDC Core §5.5).

The login form's ``claims`` option (JSON text) asks ``name`` for the ID token or for userinfo,
with scope ``openid`` alone so that no scope value releases it (OIDC Core §5.4). The parameter
goes in the query, in a signed request object or in a pushed request (RFC 9126); the test OP's
case refuses a request that does not ask it. The app must show the claim where the OP put it:
the home page has one block of ID token claims and one of UserInfo claims, and ``/api/session``
merges both.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from conformance.browser import Browser
from conformance.harness import RP_KEY_JWK, Apps
from support.test_op import Call
from support.test_op.edits import unverified_claims

#: How the app sends the authorization parameters (settings and login option).
VIA: dict[str, dict[str, Any]] = {
    "query": {},
    "request_object": {"request_object_key": RP_KEY_JWK},
    "par": {},
}
#: Row, test OP case, claims member.
ROWS = [
    ("41", "claims-request-id-token", "id_token"),
    ("42", "claims-request-userinfo", "userinfo"),
]


def _shown_claims(page: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ID token claims and the UserInfo claims of the home page's claims section."""
    section = page.split('<section id="claims">', 1)[1].split("</section>", 1)[0]
    blocks = [
        json.loads(html.unescape(text)) for text in re.findall(r"<pre>(.*?)</pre>", section, re.S)
    ]
    assert len(blocks) == 2, section
    return blocks[0], blocks[1]


def _sent_claims(calls: list[Call]) -> Any:
    """The ``claims`` parameter the OP received, wherever the app put it."""
    for call in calls:
        if call.endpoint == "par" and "claims" in call.form:
            return json.loads(call.form["claims"])
        if call.endpoint == "authorization" and "request" in call.query:
            return unverified_claims(call.query["request"]).get("claims")
        if call.endpoint == "authorization" and "claims" in call.query:
            return json.loads(call.query["claims"])
    raise AssertionError(f"no claims parameter in {[call.endpoint for call in calls]}")


def _params() -> list[Any]:
    return [
        pytest.param(
            test_id, member, via, marks=pytest.mark.conformance(row), id=f"{test_id}-{via}"
        )
        for row, test_id, member in ROWS
        for via in VIA
    ]


@pytest.mark.parametrize(("test_id", "member", "via"), _params())
def test_claims_request(apps: Apps, browser: Browser, test_id: str, member: str, via: str) -> None:
    app = apps.get(test_id, **VIA[via])
    mark = app.mark()
    claims = {member: {"name": None}}
    visit = app.login(browser, scope="openid", claims=json.dumps(claims), send_parameters_via=via)
    body = app.assert_logged_in(browser, visit)
    calls = app.calls_since(mark)
    [authorization] = [call for call in calls if call.endpoint == "authorization"]
    assert authorization.status == 302, authorization.error
    assert _sent_claims(calls) == claims
    in_id_token, in_userinfo = _shown_claims(visit.text)
    issued = app.op.last_id_token_claims(test_id) or {}
    assert body["claims"]["name"] == "Jane Doe"
    if member == "id_token":
        # OIDC Core §5.5: id_token asks the claims "returned in the ID Token".
        assert in_id_token["name"] == issued["name"] == "Jane Doe"
        assert "name" not in in_userinfo
    else:
        # OIDC Core §5.5: userinfo asks the claims "returned from the UserInfo Endpoint".
        assert in_userinfo["name"] == "Jane Doe"
        assert "name" not in in_id_token and "name" not in issued
