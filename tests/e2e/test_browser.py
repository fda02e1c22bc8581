"""End-to-end: a real headless Chromium signs in at node-oidc-provider through the app.

The browser does everything a person does: opens the app over HTTPS, presses Sign in, types a
name on the OP's login page, grants consent (OIDC Core §3.1.2.3-§3.1.2.4), lands back on the
app, presses each action button and signs out (RP-Initiated Logout 1.0). What reached the OP
is read from the authorization requests the browser sent (Playwright request events) and
from what the OP did with them (login_hint prefilled, auth_time and requested claims in the
ID token). The tests also save the README's screenshots to docs/screenshots/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jws
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, Response, expect

from e2e.conftest import CLIENT_ID, REQUEST_OBJECT_KEY, TestApi
from support.node_op import NodeOP

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CLAIMS_REQUEST = {"id_token": {"email": {"essential": True}}}


# Helpers ---------------------------------------------------------------------------------


class AuthorizationRequests:
    """The authorization requests (OIDC Core §3.1.2.1) the browser sent to the OP."""

    def __init__(self, page: Page, authorization_endpoint: str) -> None:
        self.endpoint = authorization_endpoint
        self.sent: list[dict[str, str]] = []
        page.on("request", self._record)

    def _record(self, request: Request) -> None:
        url = urlsplit(request.url)
        if f"{url.scheme}://{url.netloc}{url.path}" == self.endpoint:
            self.sent.append({k: v[0] for k, v in parse_qs(url.query).items()})

    @property
    def last(self) -> dict[str, str]:
        """The query of the last authorization request."""
        assert self.sent, "the browser sent no authorization request to the OP"
        return self.sent[-1]


def op_login(page: Page, username: str = "alice") -> None:
    """Sign in on the OP's dev login page (any password)."""
    page.locator('input[name="login"]').fill(username)
    page.locator('input[name="password"]').fill("any-password")
    page.locator('button[type="submit"]').click()


def op_consent(page: Page, *, grant: bool = True) -> None:
    """Press the consent page's submit button, or its "[ Cancel ]" link."""
    page.locator('input[name="prompt"][value="consent"]').wait_for(state="attached")
    if grant:
        page.locator('button[type="submit"]').click()
    else:
        page.locator('a[href$="/abort"]').click()


def sign_in(page: Page, app: str, username: str = "alice", **options: str) -> None:
    """GET /start-login with ``options``, sign in and consent at the OP, land on the home page."""
    query = f"?{urlencode(options)}" if options else ""
    page.goto(f"{app}/start-login{query}")
    op_login(page, username)
    op_consent(page)
    page.wait_for_url(f"{app}/")
    expect(page.locator("#user h1")).to_contain_text(f"Signed in as {username}")


def raw_token(page: Page, name: str) -> str:
    """The raw token shown in the token card ``name`` (Access token, Refresh token, ID token)."""
    return page.locator(f'article[data-token="{name}"] pre.raw').inner_text().strip()


def decoded(page: Page, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The decoded header and payload shown for the JWT ``name``."""
    parts = page.locator(f'article[data-token="{name}"] .decoded pre')
    expect(parts).to_have_count(2)
    header: dict[str, Any] = json.loads(parts.nth(0).inner_text())
    payload: dict[str, Any] = json.loads(parts.nth(1).inner_text())
    return header, payload


def press(page: Page, label: str, app: str) -> str:
    """Press the action button ``label``; return the result panel's title (after the 303).

    The old document is marked first, so that what is read afterwards is the new page.
    """
    page.evaluate("document.documentElement.dataset.stale = 'yes'")
    page.get_by_role("button", name=label, exact=True).click()
    page.wait_for_url(f"{app}/")
    expect(page.locator("html[data-stale]")).to_have_count(0)
    result = page.locator("#result")
    expect(result).to_be_visible()
    return result.locator("h2").inner_text()


def result_data(page: Page) -> Any:
    """The result panel's JSON."""
    return json.loads(page.locator("#result pre").inner_text())


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot for the README."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


@pytest.fixture
def authorization_requests(page: Page, op_metadata: dict[str, Any]) -> AuthorizationRequests:
    """Records the authorization requests of the test's page."""
    return AuthorizationRequests(page, op_metadata["authorization_endpoint"])


# Sign in, see tokens ---------------------------------------------------------------------


def app_console_errors(page: Page, app: str) -> list[str]:
    """Collects the console errors of the app's pages (e.g. a CSP violation) as they come.

    Chromium's own request for /favicon.ico (the app has none: a 404) is not counted.
    """
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        url = message.location.get("url", "")
        if message.type == "error" and url.startswith(app) and url != f"{app}/favicon.ico":
            errors.append(f"{url}: {message.text}")

    page.on("console", record)
    return errors


def test_sign_in_shows_decoded_tokens_and_claims(page: Page, app: str, op: NodeOP) -> None:
    console_errors = app_console_errors(page, app)
    page.goto(f"{app}/")
    expect(page.locator("#client h1")).to_have_text("Sign in with OpenID Connect")
    expect(page.locator("header .issuer")).to_contain_text(op.issuer)
    expect(page.locator("#client")).to_contain_text(f"{CLIENT_ID} (registered statically)")
    screenshot(page, "logged-out.png")

    page.locator("#sign-in button").click()
    op_login(page)
    op_consent(page)
    page.wait_for_url(f"{app}/")

    expect(page.locator("#user h1")).to_have_text("Signed in as alice")
    header, payload = decoded(page, "ID token")
    assert header["alg"] == "RS256" and header["kid"]
    assert (payload["iss"], payload["sub"], payload["aud"]) == (op.issuer, "alice", CLIENT_ID)
    assert {"exp", "iat", "nonce"} <= set(payload)
    times = page.locator('article[data-token="ID token"] table.times')
    expect(times).to_contain_text("UTC")
    claims = json.loads(page.locator("#claims pre").first.inner_text())
    assert claims["sub"] == "alice"
    expect(page.locator("#claims")).to_contain_text("alice@example.com")  # UserInfo
    assert raw_token(page, "Access token") and raw_token(page, "Refresh token")
    screenshot(page, "logged-in.png")
    assert console_errors == []


# Actions and logout ----------------------------------------------------------------------


def test_actions_then_logout_ends_the_op_session(
    page: Page, app: str, op_metadata: dict[str, Any], test_api: TestApi
) -> None:
    sign_in(page, app)
    first_access_token = raw_token(page, "Access token")

    assert press(page, "Refresh tokens", app) == "Tokens refreshed"
    assert result_data(page)["access_token_changed"] is True
    access_token = raw_token(page, "Access token")
    assert access_token != first_access_token

    assert press(page, "Introspect access token", app) == "Introspection of the access_token"
    introspection = result_data(page)
    assert (introspection["active"], introspection["sub"]) == (True, "alice")

    assert press(page, "UserInfo", app) == "UserInfo"
    assert result_data(page)["email"] == "alice@example.com"

    assert press(page, "Call API", app) == "API answered 200"
    answer = result_data(page)
    assert (answer["status"], answer["body"]["sub"]) == (200, "alice")
    assert test_api.seen_tokens[-1] == access_token

    assert press(page, "Revoke access token", app) == "Revoked the access_token"
    expect(page.locator('article[data-token="Access token"] h3')).to_contain_text("revoked")
    assert press(page, "Call API", app) == "API answered 401"  # the OP says: not active

    # With the OP session alive, a new login comes straight back (no login page) ...
    page.goto(f"{app}/start-login")
    page.wait_for_url(f"{app}/")
    expect(page.locator("#user h1")).to_have_text("Signed in as alice")

    # ... Sign out: the OP asks for confirmation, then sends the browser back.
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(lambda url: url.startswith(op_metadata["end_session_endpoint"]))
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(lambda url: url.startswith(f"{app}/logged-out"))
    expect(page.locator("#logged-out")).to_have_attribute("data-outcome", "confirmed")
    page.goto(f"{app}/")
    expect(page.locator("#client h1")).to_have_text("Sign in with OpenID Connect")

    # The OP session ended: a new login shows the OP's login page again.
    page.goto(f"{app}/start-login")
    expect(page.locator('input[name="login"]')).to_be_visible()


# Advanced options ------------------------------------------------------------------------


def test_advanced_form_sends_every_option(
    page: Page, app: str, authorization_requests: AuthorizationRequests
) -> None:
    page.goto(f"{app}/")
    page.locator("#advanced summary").click()
    form = page.locator("#advanced form")
    form.locator('input[name="scope"]').fill("openid profile email phone")
    form.locator('input[name="acr"]').fill("urn:example:acr:silver")
    form.locator('input[name="forceAuthN"]').check()
    form.locator('input[name="forceConsent"]').check()
    form.locator('input[name="ui_locales"]').fill("sv en")
    form.locator('input[name="max_age"]').fill("600")
    form.locator('input[name="login_hint"]').fill("alice")
    form.locator('textarea[name="claims"]').fill(json.dumps(CLAIMS_REQUEST))
    form.locator('button[type="submit"]').click()

    expect(page.locator('input[name="login"]')).to_have_value("alice")  # login_hint
    sent = authorization_requests.last
    assert sent["scope"] == "openid profile email phone"
    assert sent["acr_values"] == "urn:example:acr:silver"
    assert sent["prompt"].split() == ["login", "consent"]
    assert (sent["ui_locales"], sent["max_age"], sent["login_hint"]) == ("sv en", "600", "alice")
    assert json.loads(sent["claims"]) == CLAIMS_REQUEST
    assert sent["code_challenge_method"] == "S256" and sent["state"] and sent["nonce"]

    op_login(page)
    op_consent(page)
    page.wait_for_url(f"{app}/")
    _, payload = decoded(page, "ID token")
    assert isinstance(payload["auth_time"], int)  # max_age (OIDC Core §3.1.2.1)
    assert payload["email"] == "alice@example.com"  # the claims parameter (§5.5)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"acr": "urn:example:acr:gold"}, {"acr_values": "urn:example:acr:gold"}),
        ({"scope": "openid email"}, {"scope": "openid email"}),
        ({"forceAuthN": "true"}, {"prompt": "login"}),
        ({"forceConsent": "true"}, {"prompt": "consent"}),
        ({"ui_locales": "de fr"}, {"ui_locales": "de fr"}),
        ({"max_age": "0"}, {"max_age": "0"}),
        ({"claims": json.dumps(CLAIMS_REQUEST)}, {"claims": json.dumps(CLAIMS_REQUEST)}),
        ({"login_hint": "alice"}, {"login_hint": "alice"}),
        ({"response_mode": "form_post"}, {"response_mode": "form_post"}),
    ],
    ids=[
        "acr",
        "scope",
        "forceAuthN",
        "forceConsent",
        "ui_locales",
        "max_age",
        "claims",
        "login_hint",
        "form_post",
    ],
)
def test_option_reaches_the_op(
    page: Page,
    app: str,
    authorization_requests: AuthorizationRequests,
    options: dict[str, str],
    expected: dict[str, str],
) -> None:
    sign_in(page, app, **options)
    sent = authorization_requests.sent[0]
    for name, value in expected.items():
        if name == "claims":
            assert json.loads(sent[name]) == json.loads(value)
        else:
            assert sent[name] == value, name
    _, payload = decoded(page, "ID token")
    assert payload["sub"] == "alice"
    if "max_age" in options:
        assert isinstance(payload["auth_time"], int)
    if "claims" in options:
        assert payload["email"] == "alice@example.com"


def test_form_post_response_mode(
    page: Page, app: str, authorization_requests: AuthorizationRequests
) -> None:
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.method) if "/callback" in r.url else None)
    sign_in(page, app, response_mode="form_post")
    assert authorization_requests.last["response_mode"] == "form_post"
    # OAuth 2.0 Form Post Response Mode: the response came as a POST, never in a URL.
    assert callbacks and set(callbacks) == {"POST"}


def test_signed_request_object(
    page: Page, app: str, op: NodeOP, authorization_requests: AuthorizationRequests
) -> None:
    sign_in(page, app, send_parameters_via="request_object", login_hint="alice", max_age="60")
    sent = authorization_requests.sent[0]
    assert sent["client_id"] == CLIENT_ID and "request" in sent
    # RFC 9101 §4: signed with the app's key; verified here with its public half.
    request_object = jws.deserialize_compact(sent["request"], REQUEST_OBJECT_KEY)
    assert request_object.protected["alg"] == "RS256"
    claims = json.loads(request_object.payload)
    assert (claims["iss"], claims["aud"], claims["client_id"]) == (CLIENT_ID, op.issuer, CLIENT_ID)
    assert (claims["login_hint"], claims["max_age"]) == ("alice", 60)
    _, payload = decoded(page, "ID token")
    assert isinstance(payload["auth_time"], int)


def test_pushed_authorization_request(
    page: Page, app: str, authorization_requests: AuthorizationRequests
) -> None:
    options = {"send_parameters_via": "par", "login_hint": "alice", "max_age": "60"}
    page.goto(f"{app}/start-login?{urlencode(options)}")
    # RFC 9126 §4: the front channel carries only client_id and the request_uri.
    sent = authorization_requests.sent[0]
    assert set(sent) == {"client_id", "request_uri"}
    assert sent["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    # The pushed parameters reached the OP over the back channel: login_hint is prefilled.
    expect(page.locator('input[name="login"]')).to_have_value("alice")
    op_login(page)
    op_consent(page)
    page.wait_for_url(f"{app}/")
    _, payload = decoded(page, "ID token")
    assert payload["sub"] == "alice" and isinstance(payload["auth_time"], int)


def test_hybrid_flow_fragment_is_relayed_by_callback_js(
    page: Page, app: str, authorization_requests: AuthorizationRequests
) -> None:
    # OIDC Core §3.3: the response comes in the fragment, which only the browser sees;
    # /callback-js's nonce'd script (allowed by the app's CSP) posts it to /callback.
    console_errors = app_console_errors(page, app)
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.method) if r.url == f"{app}/callback" else None)
    sign_in(page, app, responseType="code id_token")
    assert authorization_requests.last["response_type"] == "code id_token"
    assert "POST" in posted
    assert console_errors == []
    _, payload = decoded(page, "ID token")
    assert payload["sub"] == "alice"


def test_two_logins_in_two_tabs(context: BrowserContext, app: str) -> None:
    first, second = context.new_page(), context.new_page()
    first.goto(f"{app}/start-login")
    second.goto(f"{app}/start-login?ui_locales=en")
    expect(first.locator('input[name="login"]')).to_be_visible()
    op_login(second)
    op_consent(second)
    second.wait_for_url(f"{app}/")
    expect(second.locator("#user h1")).to_have_text("Signed in as alice")
    # The first tab's pending login is still there, bound to the same browser.
    op_login(first, "bob")
    first.wait_for_url(lambda url: url == f"{app}/" or "/interaction/" in url)
    if first.url != f"{app}/":
        op_consent(first)
        first.wait_for_url(f"{app}/")
    expect(first.locator("#user h1")).to_have_text("Signed in as bob")


# Errors ----------------------------------------------------------------------------------


def test_consent_denied_shows_the_op_error(page: Page, app: str) -> None:
    page.goto(f"{app}/start-login")
    op_login(page)
    with page.expect_response(lambda r: urlsplit(r.url).path == "/callback") as callback:
        op_consent(page, grant=False)
    response: Response = callback.value
    assert 400 <= response.status < 500
    error = page.locator("#error")
    expect(error).to_contain_text("access_denied")
    expect(error).to_contain_text("End-User aborted interaction")
    expect(error.get_by_role("link", name="Back to the home page")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Traceback")
    screenshot(page, "error.png")
    # A failed login creates no session.
    page.goto(f"{app}/")
    expect(page.locator("#client h1")).to_have_text("Sign in with OpenID Connect")
