"""`oidc-rp demo`'s servers: the demo OP (oidc-provider-mock) and the protected demo API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest

from oidc_rp.client import RelyingParty
from oidc_rp.core.authorize import AuthorizationOptions
from oidc_rp.demo import DemoServers, demo_settings, run_demo_servers
from oidc_rp.settings import Settings


@pytest.fixture(scope="module")
def servers() -> Iterator[DemoServers]:
    with run_demo_servers() as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=5, follow_redirects=False) as client:
        yield client


def _settings(servers: DemoServers, tmp_path: Path) -> Settings:
    values = demo_settings(servers, port=5443, https=False)
    values["data_dir"] = str(tmp_path)
    return Settings.model_validate(values)


async def test_the_demo_op_is_on_loopback_with_discovery(
    servers: DemoServers, http: httpx2.AsyncClient
) -> None:
    assert urlsplit(servers.issuer).hostname == "127.0.0.1"
    response = await http.get(f"{servers.issuer}/.well-known/openid-configuration")
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer"] == servers.issuer
    assert metadata["authorization_endpoint"].startswith(servers.issuer + "/")
    assert metadata["token_endpoint"].startswith(servers.issuer + "/")
    assert urlsplit(servers.api_endpoint).hostname == "127.0.0.1"


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "invalid_request"),
        ({"authorization": "Basic dXNlcjpwYXNz"}, "invalid_request"),
        ({"authorization": "Bearer"}, "invalid_request"),
        ({"authorization": "Bearer not-a-token-the-op-issued"}, "invalid_token"),
    ],
)
async def test_the_demo_api_refuses_a_missing_or_bad_token(
    servers: DemoServers, http: httpx2.AsyncClient, headers: dict[str, str], error: str
) -> None:
    response = await http.get(servers.api_endpoint, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == error
    assert response.headers["www-authenticate"] == f'Bearer error="{error}"'


async def _login(rp: RelyingParty, http: httpx2.AsyncClient, sub: str) -> str:
    """Log in at the demo OP's form as ``sub``; return the access token."""
    url, pending = await rp.start_login(AuthorizationOptions(scope="openid profile email"))
    form = await http.get(url)
    assert form.status_code == 200
    assert 'name="sub"' in form.text
    answer = await http.post(url, data={"sub": sub})  # the form posts back to the same URL
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(pending.redirect_uri + "?")
    login = await rp.finish_login(pending, dict(parse_qsl(urlsplit(location).query)))
    assert login.sub == sub
    assert login.tokens.access_token is not None
    return login.tokens.access_token


async def test_the_demo_api_accepts_an_access_token_from_the_demo_op(
    servers: DemoServers, http: httpx2.AsyncClient, tmp_path: Path
) -> None:
    rp = RelyingParty(_settings(servers, tmp_path))
    try:
        access_token = await _login(rp, http, "alice")
    finally:
        await rp.aclose()
    response = await http.get(
        servers.api_endpoint, headers={"authorization": f"Bearer {access_token}"}
    )
    assert response.status_code == 200
    assert response.json() == {"message": "Hello from the demo API", "sub": "alice"}


def test_demo_settings_are_valid_and_secret_per_run(servers: DemoServers) -> None:
    first = Settings.model_validate(demo_settings(servers, port=5443, https=True))
    second = Settings.model_validate(demo_settings(servers, port=5443, https=True))
    assert first.issuer == servers.issuer
    assert first.api_endpoint == servers.api_endpoint
    assert first.effective_redirect_uri == "https://localhost:5443/callback"
    assert first.secret("client_secret") != second.secret("client_secret")
