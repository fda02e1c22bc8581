"""Login through the web app against node-oidc-provider, and every way a callback can be bad."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import httpx2
import pytest

from support.node_op import NodeOP, login_via_dev_interactions
from web.conftest import CLIENT_ID, ServedApp, query_of, session_json, sign_in

pytestmark = pytest.mark.integration

COOKIE = "oidc-rp-session"


async def test_sign_in_shows_claims_and_decoded_tokens(
    main_app: ServedApp, op: NodeOP, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    first = await browser.get(f"{main_app.url}/")
    anonymous_id = browser.cookies[COOKIE]
    assert "Sign in" in first.text and CLIENT_ID in first.text

    done = await sign_in(browser, op_browser, main_app.url)

    assert (done.status_code, done.headers["location"]) == (303, "/")
    # OIDC Core / RFC 9700 §4.2.4: a new session id at login (session fixation).
    assert browser.cookies[COOKIE] != anonymous_id
    page = await browser.get(f"{main_app.url}/")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "Signed in as <code>alice</code>" in page.text
    assert "alice@example.com" in page.text  # userinfo claims
    assert "op-rsa-1" in page.text  # the ID token's decoded header (kid)
    assert re.search(r"<th>exp</th><td>\d{4}-\d\d-\d\d", page.text)
    assert "opaque" in page.text  # node's access tokens are opaque
    for path in ("/refresh", "/revoke", "/introspect", "/userinfo", "/call-api", "/logout"):
        assert f'action="{path}"' in page.text
    info = await session_json(browser, main_app.url)
    assert info["authenticated"] is True
    assert info["sub"] == "alice"
    assert info["claims"]["iss"] == op.issuer
    assert info["tokens"]["has_refresh_token"] is True
    assert info["tokens"]["access_token_expires_at"] > 0
    assert info["csrf_token"] in page.text


async def test_api_session_never_returns_token_values(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    anonymous = await browser.get(f"{main_app.url}/api/session")
    assert (anonymous.status_code, anonymous.json()) == (401, {"authenticated": False})
    await sign_in(browser, op_browser, main_app.url)
    page = await browser.get(f"{main_app.url}/")
    tokens = re.findall(r'<pre class="raw">([^<]+)</pre>', page.text)
    assert len(tokens) == 3  # access, refresh, ID token
    text = (await browser.get(f"{main_app.url}/api/session")).text
    assert not [token for token in tokens if token in text]
    assert '"access_token"' not in text and '"id_token"' not in text


async def test_replayed_callback_is_refused(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    start = await browser.get(f"{main_app.url}/start-login")
    result = await login_via_dev_interactions(start.headers["location"], cookies_client=op_browser)
    assert (await browser.get(result.url)).status_code == 303
    replay = await browser.get(result.url, headers={"accept": "application/json"})
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_state"
    assert "already used" in replay.json()["error_description"]


async def test_callback_from_another_browser_is_refused(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    start = await browser.get(f"{main_app.url}/start-login")
    result = await login_via_dev_interactions(start.headers["location"], cookies_client=op_browser)
    async with httpx2.AsyncClient() as other:
        await other.get(f"{main_app.url}/")  # the other browser has a session of its own
        stolen = await other.get(result.url)
        assert stolen.status_code == 400
        assert "another browser" in stolen.text
        assert (await session_json(other, main_app.url))["authenticated"] is False
    async with httpx2.AsyncClient() as cookieless:
        assert (await cookieless.get(result.url)).status_code == 400
        assert COOKIE not in cookieless.cookies  # a failed login creates no session


async def test_several_tabs_log_in_at_once(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    first = await browser.get(f"{main_app.url}/start-login")
    second = await browser.get(f"{main_app.url}/start-login")
    tab1 = await login_via_dev_interactions(first.headers["location"], cookies_client=op_browser)
    tab2 = await login_via_dev_interactions(second.headers["location"], cookies_client=op_browser)
    assert (await browser.get(tab2.url)).status_code == 303
    assert (await browser.get(tab1.url)).status_code == 303  # after the id rotation, too
    assert (await session_json(browser, main_app.url))["authenticated"] is True


@pytest.mark.parametrize(
    ("query", "rule"),
    [
        ("", "callback.state: missing"),
        ("code=abc", "callback.state: missing"),
        ("code=abc&state=forged-state-value", "no pending login"),
        ("state=" + "x" * 600, "callback.state: unknown"),
        ("state=a&state=b", "repeated"),
        ("error=access_denied", "callback.state: missing"),
    ],
)
async def test_bad_callback_is_a_400_page(
    main_app: ServedApp, browser: httpx2.AsyncClient, query: str, rule: str
) -> None:
    await browser.get(f"{main_app.url}/")
    response = await browser.get(f"{main_app.url}/callback?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert rule in response.text
    as_json = await browser.get(
        f"{main_app.url}/callback?{query}", headers={"accept": "application/json"}
    )
    assert as_json.status_code == 400
    assert set(as_json.json()) == {"error", "error_description"}


async def test_forged_state_with_a_real_pending_login(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    start = await browser.get(f"{main_app.url}/start-login")
    result = await login_via_dev_interactions(start.headers["location"], cookies_client=op_browser)
    params = query_of(result.url)
    forged = urlencode({**params, "state": params["state"][:-2] + "xx"})
    assert (await browser.get(f"{main_app.url}/callback?{forged}")).status_code == 400
    assert (await browser.get(result.url)).status_code == 303  # the real one still works


async def test_consent_denied_is_shown_as_the_ops_error(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    start = await browser.get(f"{main_app.url}/start-login", params={"forceConsent": "true"})
    assert query_of(start.headers["location"])["prompt"] == "consent"
    result = await login_via_dev_interactions(
        start.headers["location"], consent=False, cookies_client=op_browser
    )
    response = await browser.get(result.url)
    assert response.status_code == 400
    assert "access_denied" in response.text
    assert "The OpenID Provider refused the request" in response.text
    assert (await session_json(browser, main_app.url))["authenticated"] is False


async def test_advanced_options_reach_the_op(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    claims = {"id_token": {"email": {"essential": True}}}
    options = {
        "scope": "openid email",
        "acr": "urn:example:acr",
        "forceAuthN": "true",
        "ui_locales": "sv en",
        "max_age": "600",
        "claims": json.dumps(claims),
        "login_hint": "alice",
    }
    start = await browser.get(f"{main_app.url}/start-login", params=options)
    sent = query_of(start.headers["location"])
    assert sent["scope"] == "openid email"
    assert sent["acr_values"] == "urn:example:acr"
    assert sent["prompt"] == "login"
    assert (sent["ui_locales"], sent["max_age"], sent["login_hint"]) == ("sv en", "600", "alice")
    assert json.loads(sent["claims"]) == claims
    assert sent["code_challenge_method"] == "S256"
    assert sent["redirect_uri"] == f"{main_app.url}/callback"
    result = await login_via_dev_interactions(start.headers["location"], cookies_client=op_browser)
    assert (await browser.get(result.url)).status_code == 303
    info = await session_json(browser, main_app.url)
    assert info["claims"]["email"] == "alice@example.com"


async def test_consent_deselection_sends_the_samples_prompt(
    main_app: ServedApp, browser: httpx2.AsyncClient
) -> None:
    start = await browser.get(
        f"{main_app.url}/start-login", params={"allowConsentOptionDeselection": "true"}
    )
    assert query_of(start.headers["location"])["prompt"] == "consent consent_allow_deselection"


@pytest.mark.parametrize(
    ("params", "rule"),
    [
        ({"claims": "{not json"}, "authorization.claims: not valid JSON"),
        ({"claims": "[1, 2]"}, "authorization.claims: must be a JSON object"),
        ({"max_age": "-5"}, "max_age: must be a non-negative integer"),
        ({"max_age": "ten"}, "max_age: must be a non-negative integer"),
        ({"responseType": "token"}, "response_type: unsupported"),
        ({"response_mode": "web_message"}, "response_mode: unsupported"),
        ({"send_parameters_via": "carrier_pigeon"}, "send_parameters_via: unsupported"),
        ({"prompt": "bogus"}, "prompt: unsupported"),
    ],
)
async def test_bad_login_options_are_a_400(
    main_app: ServedApp, browser: httpx2.AsyncClient, params: dict[str, str], rule: str
) -> None:
    response = await browser.get(
        f"{main_app.url}/start-login", params=params, headers={"accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert rule in response.json()["error_description"]


async def test_form_post_with_the_cookie(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    done = await sign_in(browser, op_browser, main_app.url, response_mode="form_post")
    assert done.status_code == 303
    assert (await session_json(browser, main_app.url))["authenticated"] is True


async def test_form_post_without_the_cookie_is_relayed_same_site(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    start = await browser.get(f"{main_app.url}/start-login", params={"response_mode": "form_post"})
    result = await login_via_dev_interactions(start.headers["location"], cookies_client=op_browser)
    assert result.form is not None
    # A cross-site POST: the SameSite=Lax cookie stays home.
    async with httpx2.AsyncClient() as cross_site:
        relay = await cross_site.post(result.url, data=result.form)
    assert relay.status_code == 200
    nonce = re.search(r"script-src 'nonce-([^']+)'", relay.headers["content-security-policy"])
    assert nonce is not None
    assert f'<script nonce="{nonce.group(1)}">' in relay.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', relay.text))
    assert fields["state"] == result.form["state"]
    assert fields["oidc_rp_relay"] == "1"
    # The relay page's own POST is same-site: the cookie goes along.
    done = await browser.post(f"{main_app.url}/callback", data=fields)
    assert done.status_code == 303
    # A relayed post that still has no cookie is refused, never relayed again.
    async with httpx2.AsyncClient() as cross_site:
        again = await cross_site.post(f"{main_app.url}/callback", data=fields)
    assert again.status_code == 400


async def test_fragment_response_mode_via_callback_js(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    start = await browser.get(f"{main_app.url}/start-login", params={"response_mode": "fragment"})
    assert query_of(start.headers["location"])["response_mode"] == "fragment"
    result = await login_via_dev_interactions(start.headers["location"], cookies_client=op_browser)
    url, _, fragment = result.url.partition("#")
    assert fragment and "code=" in fragment
    landing = await browser.get(url)  # the browser never sends the fragment
    assert (landing.status_code, landing.headers["location"]) == (303, "/callback-js")
    page = await browser.get(f"{main_app.url}/callback-js")
    nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"])
    assert nonce is not None and f'<script nonce="{nonce.group(1)}">' in page.text
    assert "location.hash" in page.text
    # What the page's script posts: the fragment's parameters plus the marker.
    fields = {**query_of("?" + fragment), "oidc_rp_fragment": "1"}
    done = await browser.post(f"{main_app.url}/callback", data=fields)
    assert done.status_code == 303, done.text
    assert (await session_json(browser, main_app.url))["authenticated"] is True


async def test_pushed_authorization_request(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    start = await browser.get(f"{main_app.url}/start-login", params={"send_parameters_via": "par"})
    sent = query_of(start.headers["location"])
    assert set(sent) == {"client_id", "request_uri"}
    result = await login_via_dev_interactions(start.headers["location"], cookies_client=op_browser)
    assert (await browser.get(result.url)).status_code == 303


async def test_signed_request_object(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    done = await sign_in(browser, op_browser, main_app.url, send_parameters_via="request_object")
    assert done.status_code == 303, done.text


async def test_request_uri_is_published_by_the_app(
    main_app: ServedApp, browser: httpx2.AsyncClient
) -> None:
    start = await browser.get(
        f"{main_app.url}/start-login", params={"send_parameters_via": "request_uri"}
    )
    request_uri = query_of(start.headers["location"])["request_uri"]
    assert request_uri.startswith(f"{main_app.url}/request-object/")
    assert len(request_uri.rsplit("/", 1)[1]) >= 43  # >= 256 bits
    async with httpx2.AsyncClient() as op_fetch:
        published = await op_fetch.get(request_uri)
        assert published.status_code == 200
        assert published.headers["content-type"] == "application/oauth-authz-req+jwt"
        assert published.text.count(".") == 2
        unknown = await op_fetch.get(f"{main_app.url}/request-object/{'A' * 43}")
        assert unknown.status_code == 404


# Initiating login from a third party (OIDC Core §4).


async def test_third_party_initiated_login_starts_a_login_at_our_issuer(
    main_app: ServedApp, op: NodeOP, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    query = urlencode(
        {"iss": op.issuer, "login_hint": "bob", "target_link_uri": f"{main_app.url}/?from=3pi"}
    )
    start = await browser.get(f"{main_app.url}/initiate-login?{query}")
    assert start.status_code == 302
    sent = query_of(start.headers["location"])
    assert sent["login_hint"] == "bob" and sent["client_id"] == CLIENT_ID
    result = await login_via_dev_interactions(
        start.headers["location"], username="bob", cookies_client=op_browser
    )
    done = await browser.get(result.url)
    # The login lands on the target_link_uri (a page of this site).
    assert (done.status_code, done.headers["location"]) == (303, "/?from=3pi")
    assert (await session_json(browser, main_app.url))["sub"] == "bob"


async def test_third_party_initiated_login_by_post(
    main_app: ServedApp, op: NodeOP, browser: httpx2.AsyncClient
) -> None:
    start = await browser.post(f"{main_app.url}/initiate-login", data={"iss": op.issuer})
    assert start.status_code == 302
    assert start.headers["location"].startswith(op.issuer)


@pytest.mark.parametrize(
    ("params", "rule"),
    [
        ({}, "initiate_login.iss: missing"),
        ({"iss": "https://evil.example"}, "initiate_login.iss"),
        ({"target_link_uri": "https://evil.example/"}, "initiate_login.target_link_uri"),
        ({"target_link_uri": "//evil.example/x"}, "initiate_login.target_link_uri"),
    ],
)
async def test_third_party_initiated_login_refuses_foreign_issuers_and_targets(
    main_app: ServedApp,
    op: NodeOP,
    browser: httpx2.AsyncClient,
    params: dict[str, str],
    rule: str,
) -> None:
    query = {"iss": op.issuer, **params} if params else {}
    response = await browser.get(
        f"{main_app.url}/initiate-login?{urlencode(query)}", headers={"accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error_description"].startswith(rule)
    assert "location" not in response.headers
