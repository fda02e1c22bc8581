"""The POST actions (refresh, revoke, introspect, userinfo, call-api, logout), CSRF and
sessions, and back-channel logout, against node-oidc-provider."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable

import httpx2
import pytest
from joserfc import jws

from support.node_op import NodeOP, logout_via_end_session
from web.conftest import CLIENT_ID, ServedApp, logout_token, query_of, session_json, sign_in

pytestmark = pytest.mark.integration

ACTIONS = (
    "/refresh",
    "/revoke",
    "/introspect",
    "/userinfo",
    "/call-api",
    "/register",
    "/clean-registration",
    "/logout",
)


async def logged_in(
    app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> str:
    """Sign in as alice; return the session's CSRF token."""
    assert (await sign_in(browser, op_browser, app.url)).status_code == 303
    token: str = (await session_json(browser, app.url))["csrf_token"]
    return token


async def act(
    browser: httpx2.AsyncClient, app: ServedApp, path: str, csrf: str, **fields: str
) -> httpx2.Response:
    """POST an action asking for JSON."""
    return await browser.post(
        f"{app.url}{path}",
        data={"csrf_token": csrf, **fields},
        headers={"accept": "application/json"},
    )


def raw_tokens(page: str) -> list[str]:
    return re.findall(r'<pre class="raw">([^<]+)</pre>', page)


async def test_refresh_changes_the_access_token(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    csrf = await logged_in(main_app, browser, op_browser)
    before = raw_tokens((await browser.get(f"{main_app.url}/")).text)
    # The HTML flow: 303 to the home page, which shows the result once.
    response = await browser.post(f"{main_app.url}/refresh", data={"csrf_token": csrf})
    assert (response.status_code, response.headers["location"]) == (303, "/")
    page = (await browser.get(f"{main_app.url}/")).text
    assert "Tokens refreshed" in page
    after = raw_tokens(page)
    assert after[0] != before[0]  # the access token changed
    assert "Tokens refreshed" not in (await browser.get(f"{main_app.url}/")).text
    as_json = await act(browser, main_app, "/refresh", csrf)
    assert as_json.status_code == 200
    assert as_json.json()["data"]["access_token_changed"] is True
    assert after[0] not in as_json.text


async def test_refresh_shows_the_claims_of_the_new_id_token(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    csrf = await logged_in(main_app, browser, op_browser)
    before = raw_tokens((await browser.get(f"{main_app.url}/")).text)[-1]
    await asyncio.sleep(1.1)  # a new iat: the new ID token's claims differ from the old
    refreshed = await act(browser, main_app, "/refresh", csrf)
    assert refreshed.json()["data"]["id_token_changed"] is True
    after = raw_tokens((await browser.get(f"{main_app.url}/")).text)[-1]
    assert after != before
    new_claims = json.loads(jws.extract_compact(after.encode()).payload)
    claims = (await session_json(browser, main_app.url))["claims"]
    assert new_claims["iat"] > json.loads(jws.extract_compact(before.encode()).payload)["iat"]
    assert {k: claims[k] for k in new_claims} == new_claims


async def test_revoke_then_introspect_and_call_api(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    csrf = await logged_in(main_app, browser, op_browser)
    active = await act(browser, main_app, "/introspect", csrf, token="access")
    assert active.status_code == 200
    assert active.json()["data"]["active"] is True
    assert active.json()["data"]["client_id"] == CLIENT_ID
    api = await act(browser, main_app, "/call-api", csrf)
    assert api.json()["data"]["status"] == 200
    assert api.json()["data"]["body"] == {"message": "hello from the API", "sub": "alice"}
    assert api.json()["data"]["headers"]["x-test-api"] == "yes"

    revoked = await act(browser, main_app, "/revoke", csrf, token="access")
    assert (revoked.status_code, revoked.json()["data"]) == (200, {"revoked": "access_token"})
    inactive = await act(browser, main_app, "/introspect", csrf, token="access")
    assert inactive.json()["data"] == {"active": False}
    refused = await act(browser, main_app, "/call-api", csrf)
    assert refused.status_code == 200  # the API's answer is shown, not raised
    assert refused.json()["data"]["status"] == 401
    assert refused.json()["title"] == "API answered 401"
    page = (await browser.get(f"{main_app.url}/")).text
    assert "revoked</span>" in page
    refresh_info = await act(browser, main_app, "/introspect", csrf, token="refresh")
    # RFC 7009 §2.1: the OP may revoke the grant's refresh token too (node does).
    assert refresh_info.status_code == 200 and "active" in refresh_info.json()["data"]


async def test_failed_refresh_keeps_the_old_tokens(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    csrf = await logged_in(main_app, browser, op_browser)
    before = raw_tokens((await browser.get(f"{main_app.url}/")).text)
    assert (await act(browser, main_app, "/revoke", csrf, token="refresh")).status_code == 200
    failed = await act(browser, main_app, "/refresh", csrf)
    assert failed.status_code == 400  # the OP said no (invalid_grant)
    assert failed.json()["error"] == "invalid_grant"
    page = await browser.get(f"{main_app.url}/")
    assert raw_tokens(page.text) == before
    html = await browser.post(f"{main_app.url}/refresh", data={"csrf_token": csrf})
    assert html.status_code == 400
    assert "invalid_grant" in html.text and 'href="/"' in html.text


async def test_userinfo_action(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    csrf = await logged_in(main_app, browser, op_browser)
    response = await act(browser, main_app, "/userinfo", csrf)
    assert response.status_code == 200
    assert response.json()["data"]["email"] == "alice@example.com"


@pytest.mark.parametrize("path", ACTIONS)
async def test_get_on_post_routes_is_405(main_app: ServedApp, path: str) -> None:
    async with httpx2.AsyncClient() as client:
        response = await client.get(f"{main_app.url}{path}")
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]


@pytest.mark.parametrize("path", ACTIONS)
async def test_actions_without_a_session_are_401(main_app: ServedApp, path: str) -> None:
    async with httpx2.AsyncClient(cookies={"oidc-rp-session": "A" * 43}) as client:
        response = await client.post(  # an unknown session id
            f"{main_app.url}{path}",
            data={"csrf_token": "x" * 43},
            headers={"accept": "application/json"},
        )
    assert response.status_code == 401
    assert response.json()["error"] == "login_required"


@pytest.mark.parametrize("path", ACTIONS)
async def test_actions_with_a_bad_csrf_token_are_403(
    main_app: ServedApp, browser: httpx2.AsyncClient, path: str
) -> None:
    await browser.get(f"{main_app.url}/")  # an anonymous session with its CSRF token
    for data, headers in (
        ({}, {}),
        ({"csrf_token": "wrong"}, {}),
        ({}, {"x-csrf-token": "wrong"}),
    ):
        response = await browser.post(
            f"{main_app.url}{path}", data=data, headers={"accept": "application/json", **headers}
        )
        assert response.status_code == 403
        assert response.json()["error"] == "invalid_csrf_token"


async def test_csrf_token_in_the_header_and_logged_out_actions(
    aux_app: Callable[..., ServedApp], browser: httpx2.AsyncClient
) -> None:
    app = aux_app(client_id=None, client_secret=None)  # the page offers registration
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', (await browser.get(f"{app.url}/")).text)
    assert csrf is not None
    response = await browser.post(
        f"{app.url}/refresh",
        headers={"x-csrf-token": csrf.group(1), "accept": "application/json"},
    )
    assert response.status_code == 401  # right token, but nobody is logged in
    assert "not logged in" in response.json()["error_description"]


async def test_bad_token_choice_is_a_400(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    csrf = await logged_in(main_app, browser, op_browser)
    for path in ("/revoke", "/introspect"):
        response = await act(browser, main_app, path, csrf, token="id")
        assert response.status_code == 400
        assert "token: must be 'access' or 'refresh'" in response.json()["error_description"]


async def test_logout_redirects_to_the_op_and_lands_confirmed(
    main_app: ServedApp,
    op: NodeOP,
    browser: httpx2.AsyncClient,
    op_browser: httpx2.AsyncClient,
) -> None:
    csrf = await logged_in(main_app, browser, op_browser)
    id_token = raw_tokens((await browser.get(f"{main_app.url}/")).text)[-1]
    response = await browser.post(f"{main_app.url}/logout", data={"csrf_token": csrf})
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(f"{op.issuer}/session/end?")
    sent = query_of(location)
    assert sent["id_token_hint"] == id_token
    assert sent["post_logout_redirect_uri"] == f"{main_app.url}/logged-out"
    assert sent["client_id"] == CLIENT_ID
    assert len(sent["state"]) >= 43
    assert (await session_json(browser, main_app.url))["authenticated"] is False
    final = await logout_via_end_session(location, cookies_client=op_browser)
    assert final == f"{main_app.url}/logged-out?state={sent['state']}"
    landed = await browser.get(final)
    assert (landed.status_code, 'data-outcome="confirmed"' in landed.text) == (200, True)


@pytest.mark.parametrize("query", ["", "?state=not-the-one-we-sent"])
async def test_logged_out_with_an_unmatched_state_is_a_neutral_note(
    main_app: ServedApp,
    browser: httpx2.AsyncClient,
    op_browser: httpx2.AsyncClient,
    query: str,
) -> None:
    csrf = await logged_in(main_app, browser, op_browser)
    await browser.post(f"{main_app.url}/logout", data={"csrf_token": csrf})
    landed = await browser.get(f"{main_app.url}/logged-out{query}")
    assert landed.status_code == 200
    assert 'data-outcome="unmatched"' in landed.text
    async with httpx2.AsyncClient() as stranger:
        assert (await stranger.get(f"{main_app.url}/logged-out{query}")).status_code == 200


async def test_back_channel_logout_ends_the_other_sessions_of_the_op_session(
    main_app: ServedApp, op: NodeOP, op_browser: httpx2.AsyncClient
) -> None:
    async with httpx2.AsyncClient() as tab_a, httpx2.AsyncClient() as tab_b:
        csrf_a = await logged_in(main_app, tab_a, op_browser)
        await logged_in(main_app, tab_b, op_browser)  # the same OP session (same sid)
        response = await tab_a.post(f"{main_app.url}/logout", data={"csrf_token": csrf_a})
        await logout_via_end_session(response.headers["location"], cookies_client=op_browser)
        assert (await session_json(tab_b, main_app.url))["authenticated"] is False, op.log()


async def test_back_channel_logout_by_sub_and_replay(
    main_app: ServedApp,
    op: NodeOP,
    browser: httpx2.AsyncClient,
    op_browser: httpx2.AsyncClient,
) -> None:
    await logged_in(main_app, browser, op_browser)
    token = logout_token(op, sub="alice")
    async with httpx2.AsyncClient() as op_server:
        done = await op_server.post(
            f"{main_app.url}/backchannel-logout", data={"logout_token": token}
        )
        assert (done.status_code, done.headers["cache-control"]) == (200, "no-store")
        assert (await session_json(browser, main_app.url))["authenticated"] is False
        replay = await op_server.post(
            f"{main_app.url}/backchannel-logout", data={"logout_token": token}
        )
        assert replay.status_code == 400


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"logout_token": "garbage"},
        {"logout_token": "a.b.c"},
        {"logout_token": "nonce-bearing"},
        {"logout_token": "no-events"},
    ],
)
async def test_invalid_back_channel_logout_is_a_400(
    main_app: ServedApp, op: NodeOP, form: dict[str, str]
) -> None:
    if form.get("logout_token") == "nonce-bearing":
        form = {"logout_token": logout_token(op, sub="alice", nonce="n")}
    elif form.get("logout_token") == "no-events":
        form = {"logout_token": logout_token(op, sub="alice", events=None)}
    async with httpx2.AsyncClient() as op_server:
        response = await op_server.post(f"{main_app.url}/backchannel-logout", data=form)
    assert response.status_code == 400
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"] == "invalid_request"


async def test_debug_trace_shows_redacted_exchanges(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    csrf = await logged_in(main_app, browser, op_browser)
    await act(browser, main_app, "/userinfo", csrf)
    page = (await browser.get(f"{main_app.url}/")).text
    assert "Protocol trace" in page
    assert "/token" in page and "/me" in page
    assert "[redacted]" in page
    for token in raw_tokens(page):
        assert page.count(token) == 1  # only in its own token panel, never in the trace


# Front-Channel Logout 1.0: the OP loads /frontchannel-logout?iss=...&sid=... in an iframe.


async def test_front_channel_logout_ends_the_sessions_of_that_sid(
    main_app: ServedApp, op: NodeOP, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    await logged_in(main_app, browser, op_browser)
    sid = (await session_json(browser, main_app.url))["claims"]["sid"]
    async with httpx2.AsyncClient() as op_iframe:  # cross-site: no session cookie
        query = {"iss": op.issuer, "sid": sid}
        page = await op_iframe.get(f"{main_app.url}/frontchannel-logout", params=query)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    # Only the OP may frame this page (the other pages may not be framed at all).
    assert f"frame-ancestors {op.issuer}" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers
    assert 'data-ended="1"' in page.text
    assert (await session_json(browser, main_app.url))["authenticated"] is False


@pytest.mark.parametrize(
    "query",
    [
        {"iss": "https://evil.example", "sid": "SID"},
        {"iss": "ISSUER"},
        {"sid": "SID"},
    ],
)
async def test_front_channel_logout_with_a_wrong_iss_or_sid_ends_nothing(
    main_app: ServedApp,
    op: NodeOP,
    browser: httpx2.AsyncClient,
    op_browser: httpx2.AsyncClient,
    query: dict[str, str],
) -> None:
    await logged_in(main_app, browser, op_browser)
    sid = (await session_json(browser, main_app.url))["claims"]["sid"]
    values = {k: v.replace("SID", sid).replace("ISSUER", op.issuer) for k, v in query.items()}
    async with httpx2.AsyncClient() as op_iframe:
        page = await op_iframe.get(f"{main_app.url}/frontchannel-logout", params=values)
    assert page.status_code == 400
    assert (await session_json(browser, main_app.url))["authenticated"] is True
    # Another sid (another OP session) ends nothing either.
    async with httpx2.AsyncClient() as op_iframe:
        other = {"iss": op.issuer, "sid": sid + "-other"}
        page = await op_iframe.get(f"{main_app.url}/frontchannel-logout", params=other)
    assert (page.status_code, 'data-ended="0"' in page.text) == (200, True)
    assert (await session_json(browser, main_app.url))["authenticated"] is True


@pytest.mark.parametrize("query", [{}, {"iss": "ISSUER"}, {"sid": "SID"}, {"iss": "", "sid": ""}])
async def test_front_channel_logout_never_uses_the_cookie(
    main_app: ServedApp,
    op: NodeOP,
    browser: httpx2.AsyncClient,
    op_browser: httpx2.AsyncClient,
    query: dict[str, str],
) -> None:
    # Any site can navigate the browser here at top level, and SameSite=Lax cookies are
    # sent on such a GET: without both iss and sid, nothing ends (400).
    await logged_in(main_app, browser, op_browser)
    sid = (await session_json(browser, main_app.url))["claims"]["sid"]
    values = {k: v.replace("SID", sid).replace("ISSUER", op.issuer) for k, v in query.items()}
    page = await browser.get(f"{main_app.url}/frontchannel-logout", params=values)
    assert page.status_code == 400
    assert "frontchannel_logout." in page.text
    assert "set-cookie" not in page.headers
    assert (await session_json(browser, main_app.url))["authenticated"] is True


async def test_other_pages_cannot_be_framed(main_app: ServedApp) -> None:
    async with httpx2.AsyncClient() as client:
        page = await client.get(f"{main_app.url}/")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
