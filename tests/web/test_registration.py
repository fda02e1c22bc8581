"""Dynamic client registration from the web app (RFC 7591) against node-oidc-provider."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx2
import pytest

from web.conftest import ServedApp, session_json, sign_in

pytestmark = pytest.mark.integration


async def test_register_log_in_and_clean_registration(
    aux_app: Callable[..., ServedApp], op_browser: httpx2.AsyncClient
) -> None:
    app = aux_app(client_id=None, client_secret=None)
    async with httpx2.AsyncClient() as browser:
        home = await browser.get(f"{app.url}/")
        assert "not registered" in home.text
        refused = await browser.get(
            f"{app.url}/start-login", headers={"accept": "application/json"}
        )
        assert refused.status_code == 400
        assert refused.json()["error"] == "configuration_error"
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
        assert csrf is not None

        registered = await browser.post(
            f"{app.url}/register",
            data={"csrf_token": csrf.group(1)},
            headers={"accept": "application/json"},
        )
        assert registered.status_code == 200, registered.text
        client_id = registered.json()["data"]["client_id"]
        assert 'client_secret"' not in registered.text  # only client_secret_expires_at
        home = await browser.get(f"{app.url}/")
        assert client_id in home.text and "registered dynamically" in home.text

        assert (await sign_in(browser, op_browser, app.url)).status_code == 303
        info = await session_json(browser, app.url)
        assert info["claims"]["aud"] == client_id

        cleaned = await browser.post(
            f"{app.url}/clean-registration",
            headers={"x-csrf-token": info["csrf_token"], "accept": "application/json"},
        )
        assert cleaned.status_code == 200
        assert cleaned.json()["data"] == {"client_id": None}


@pytest.mark.parametrize("path", ["/register", "/clean-registration"])
async def test_registration_routes_are_refused_with_a_static_client(
    main_app: ServedApp, op_browser: httpx2.AsyncClient, path: str
) -> None:
    async with httpx2.AsyncClient() as visitor:  # anonymous: nothing on the page to post
        home = await visitor.get(f"{main_app.url}/")
        assert 'action="/register"' not in home.text and "csrf_token" not in home.text
        assert "dynamic registration is off" in home.text
        refused = await visitor.post(
            f"{main_app.url}{path}", headers={"accept": "application/json"}
        )
        assert refused.status_code == 403
    async with httpx2.AsyncClient() as user:  # logged in: the same
        assert (await sign_in(user, op_browser, main_app.url)).status_code == 303
        info = await session_json(user, main_app.url)
        assert 'action="/register"' not in (await user.get(f"{main_app.url}/")).text
        refused = await user.post(
            f"{main_app.url}{path}",
            headers={"x-csrf-token": info["csrf_token"], "accept": "application/json"},
        )
        assert refused.status_code == 403
        assert refused.json()["error"] == "forbidden"
        assert "static client_id" in refused.json()["error_description"]
        as_page = await user.post(f"{main_app.url}{path}", data={"csrf_token": info["csrf_token"]})
        assert as_page.status_code == 403 and "static client_id" in as_page.text
        # The static client is untouched: the session still works with it.
        assert (await session_json(user, main_app.url))["authenticated"] is True
