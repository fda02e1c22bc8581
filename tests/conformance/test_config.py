"""Certification rows 43-51, 57 (Config and Dynamic RP) and the request-object variant.

Key rotation: the app's JWK set may be refetched on an unknown kid once every
``client.JWKS_REFETCH_INTERVAL`` seconds; the tests advance the app's injected clock instead of
sleeping.
"""

from __future__ import annotations

import base64
from urllib.parse import unquote_plus

import pytest

from conformance.browser import Browser
from conformance.harness import RP_KEY_JWK, Apps, RunningApp
from oidc_rp.client import JWKS_REFETCH_INTERVAL
from support.test_op import Call


def _calls(app: RunningApp, mark: int, endpoint: str) -> list[Call]:
    return [call for call in app.calls_since(mark) if call.endpoint == endpoint]


def _basic_client_id(call: Call) -> str:
    encoded = call.headers["authorization"].removeprefix("Basic ")
    return unquote_plus(base64.b64decode(encoded).decode().partition(":")[0])


@pytest.mark.conformance("47")
def test_discovery_openid_config(apps: Apps, browser: Browser) -> None:
    app = apps.get("discovery-openid-config")
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser))
    endpoints = app.endpoints_since(mark)
    assert endpoints[0] == "discovery", endpoints  # nothing before the configuration
    assert {"authorization", "token", "jwks", "userinfo"} <= set(endpoints)


@pytest.mark.conformance("48")
def test_discovery_jwks_uri_keys(apps: Apps, browser: Browser) -> None:
    app = apps.get("discovery-jwks-uri-keys")
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser))
    endpoints = app.endpoints_since(mark)
    assert endpoints[0] == "discovery", endpoints
    # The random jwks_uri (only that path serves the keys) is fetched before userinfo.
    jwks = _calls(app, mark, "jwks")
    assert jwks and jwks[0].status == 200
    assert jwks[0].path != "/discovery-jwks-uri-keys/jwks"
    assert endpoints.index("jwks") < endpoints.index("userinfo")
    assert "unknown" not in endpoints


@pytest.mark.conformance("49", "F3", "G3")
def test_discovery_issuer_mismatch(apps: Apps, browser: Browser) -> None:
    app = apps.get("discovery-issuer-mismatch")
    mark = app.mark()
    visit = app.login(browser)
    # Discovery §4.3: the issuer MUST be identical; a ProtocolError -> 502.
    app.assert_rejected(
        browser,
        visit,
        status=502,
        code="invalid_discovery",
        rule="discovery.issuer",
        mark=mark,
        after="discovery",
        forbidden=("authorization", "token", "userinfo", "jwks"),
    )
    assert set(app.endpoints_since(mark)) == {"discovery"}


@pytest.mark.conformance("50")
def test_signing_key_rotation(apps: Apps, browser: Browser) -> None:
    test_id = "signing-key-rotation"
    app = apps.get(test_id)
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser))
    first_kids = {key.get("kid") for key in app.op.jwks(test_id)["keys"]}
    # The OP rotates at the second authorization request; the RP may refetch its cached
    # JWK set once the rate limit allows (no sleeping: the app's clock moves on).
    app.clock.advance(JWKS_REFETCH_INTERVAL)
    second = Browser()
    try:
        app.assert_logged_in(second, app.login(second))
    finally:
        second.close()
    assert not first_kids & {key.get("kid") for key in app.op.jwks(test_id)["keys"]}
    endpoints = app.endpoints_since(mark)
    assert endpoints.count("authorization") == 2 and endpoints.count("userinfo") == 2
    assert endpoints.count("jwks") == 2, endpoints
    second_auth = len(endpoints) - 1 - endpoints[::-1].index("authorization")
    assert "jwks" in endpoints[second_auth:]  # refetched for the unknown kid


@pytest.mark.conformance("51")
def test_signing_key_rotation_just_before_signing(apps: Apps, browser: Browser) -> None:
    app = apps.get("signing-key-rotation-just-before-signing")
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser))
    endpoints = app.endpoints_since(mark)
    assert endpoints.index("token") < endpoints.index("jwks") < endpoints.index("userinfo")


def _register(app: RunningApp, browser: Browser) -> Call:
    mark = app.mark()
    visit = app.action(browser, "/register")
    assert visit.status == 200 and visit.url == f"{app.base_url}/", visit.text[-400:]
    [registration] = _calls(app, mark, "registration")
    assert registration.status == 201, registration.error
    return registration


@pytest.mark.conformance("57")
def test_dynamic_registration(apps: Apps, browser: Browser) -> None:
    app = apps.get("dynamic-registration", dynamic=True)
    assert app.settings.client_id is None
    registration = _register(app, browser)
    metadata = registration.json
    assert isinstance(metadata, dict)
    assert metadata["redirect_uris"] == [f"{app.base_url}/callback"]
    assert "code" in metadata["response_types"]
    assert "authorization_code" in metadata["grant_types"]
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser))
    [authorization] = _calls(app, mark, "authorization")
    [token] = _calls(app, mark, "token")
    # The client_id and secret issued at registration are the ones used.
    assert token.status == 200
    assert _basic_client_id(token) == authorization.query["client_id"]
    assert authorization.query["client_id"].startswith("client-")


@pytest.mark.parametrize(
    ("test_id", "settings"),
    [
        pytest.param(
            "request-uri-signed-none",
            {"request_object_signing_alg": "none"},
            marks=pytest.mark.conformance("43"),
            id="request-uri-signed-none",
        ),
        pytest.param(
            "request-uri-signed-rs256",
            {"request_object_key": RP_KEY_JWK},
            marks=pytest.mark.conformance("44"),
            id="request-uri-signed-rs256",
        ),
    ],
)
def test_request_uri(apps: Apps, browser: Browser, test_id: str, settings: dict[str, str]) -> None:
    app = apps.get(test_id, dynamic=True, send_parameters_via="request_uri", **settings)
    _register(app, browser)
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser))
    [authorization] = _calls(app, mark, "authorization")
    assert authorization.query["request_uri"].startswith(f"{app.base_url}/request-object/")
    assert authorization.query["response_type"] == "code"
    assert "openid" in authorization.query["scope"].split()
    [fetch] = _calls(app, mark, "request_uri_fetch")
    assert fetch.status == 200  # the app served the object; the OP verified it
    assert authorization.status == 302, authorization.error


@pytest.mark.conformance("V2")
def test_request_object_by_value(apps: Apps, browser: Browser) -> None:
    app = apps.get(
        "request-object-signed-rs256",
        send_parameters_via="request_object",
        request_object_key=RP_KEY_JWK,
    )
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser))
    [authorization] = _calls(app, mark, "authorization")
    assert authorization.status == 302, authorization.error
    assert authorization.query["request"].count(".") == 2
    assert "request_uri" not in authorization.query
