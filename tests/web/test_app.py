"""The app without an OP (or with a dead one): start-up, headers, cookies, error format."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from joserfc.jwk import ECKey

from oidc_rp.sessions import MemoryStore
from oidc_rp.web import create_app
from support.node_op import NodeOP, free_port, login_via_dev_interactions
from web.conftest import ServedApp, make_settings, query_of, serve

DEAD_ISSUER = "http://127.0.0.1:9"  # the discard port: nothing listens


@pytest.fixture
def offline_app(tmp_path: Path) -> Iterator[ServedApp]:
    """The app pointed at an OP that is down, with the default (SQLite) session store."""
    port = free_port()
    settings = make_settings(port, tmp_path / "data", issuer=DEAD_ISSUER, session_store="sqlite")
    served = serve(create_app(settings), port)
    yield served
    served.stop()


@pytest.fixture
def offline_dynamic_app(tmp_path: Path) -> Iterator[ServedApp]:
    """The offline app without a static client: its logged-out page has the registration
    form, hence an anonymous session's CSRF token."""
    port = free_port()
    settings = make_settings(
        port, tmp_path / "data", issuer=DEAD_ISSUER, client_id=None, client_secret=None
    )
    served = serve(create_app(settings), port)
    yield served
    served.stop()


async def test_healthz_and_home_page_without_the_op(offline_app: ServedApp, tmp_path: Path) -> None:
    async with httpx2.AsyncClient() as client:
        health = await client.get(f"{offline_app.url}/healthz")
        assert (health.status_code, health.text) == (200, "ok")
        home = await client.get(f"{offline_app.url}/")
    assert home.status_code == 200
    assert "Could not read the discovery document" in home.text
    assert "cannot reach 127.0.0.1:9" in home.text
    assert "The OP's features are unknown" in home.text
    # The default store is SQLite in the data directory, with a generated key.
    assert (tmp_path / "data" / "sessions.sqlite3").exists()
    assert (tmp_path / "data" / "session.key").exists()


async def test_op_down_is_a_502(offline_app: ServedApp) -> None:
    async with httpx2.AsyncClient() as client:
        page = await client.get(f"{offline_app.url}/start-login")
        as_json = await client.get(
            f"{offline_app.url}/start-login", headers={"accept": "application/json"}
        )
    assert page.status_code == 502
    assert "The OpenID Provider cannot be reached" in page.text
    assert as_json.status_code == 502
    assert as_json.json() == {
        "error": "op_unreachable",
        "error_description": "http: cannot reach 127.0.0.1:9 (ConnectError)",
    }


async def test_security_headers_on_every_response(offline_app: ServedApp) -> None:
    async with httpx2.AsyncClient() as client:
        for path in ("/", "/healthz", "/callback", "/nowhere", "/static/style.css"):
            response = await client.get(f"{offline_app.url}{path}")
            headers = response.headers
            csp = headers["content-security-policy"]
            assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
            assert re.search(r"script-src 'nonce-[A-Za-z0-9_-]{22}'(;|$)", csp)
            assert "unsafe-inline" not in csp
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["x-frame-options"] == "DENY"
            if path != "/static/style.css":
                assert headers["cache-control"] == "no-store"
        home = await client.get(f"{offline_app.url}/")
    assert "<script" not in home.text  # no inline script outside the callback pages


async def test_not_found_as_html_and_json(offline_app: ServedApp) -> None:
    async with httpx2.AsyncClient() as client:
        html = await client.get(f"{offline_app.url}/nowhere")
        as_json = await client.get(
            f"{offline_app.url}/nowhere", headers={"accept": "text/html;q=0.5, application/json"}
        )
    assert html.status_code == 404 and html.headers["content-type"].startswith("text/html")
    assert as_json.status_code == 404
    assert as_json.json()["error"] == "not_found"


async def test_cookie_under_http() -> None:
    port = free_port()
    settings = make_settings(port, Path("/nonexistent"), issuer=DEAD_ISSUER)
    served = serve(create_app(settings, store=MemoryStore()), port)
    try:
        async with httpx2.AsyncClient() as client:
            response = await client.get(f"{served.url}/")
    finally:
        served.stop()
    assert "strict-transport-security" not in response.headers  # plain http: no HSTS
    cookie = response.headers["set-cookie"]
    name, value = cookie.split(";")[0].split("=", 1)
    assert name == "oidc-rp-session"
    assert len(value) >= 43  # 256 bits, base64url
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=lax"} <= attributes
    assert "secure" not in attributes


async def test_under_https_the_cookie_is_secure_and_host_prefixed_and_hsts_is_sent(
    tmp_path: Path,
) -> None:
    port = free_port()
    settings = make_settings(
        port, tmp_path, issuer=DEAD_ISSUER, base_url=f"https://127.0.0.1:{port}"
    )
    served = serve(create_app(settings), port)  # TLS is the CLI's job; the flags are ours
    try:
        async with httpx2.AsyncClient() as client:
            response = await client.get(f"{served.url}/")
            others = [await client.get(f"{served.url}{p}") for p in ("/healthz", "/nowhere")]
    finally:
        served.stop()
    # RFC 6797: the https app pins itself (one year), not the other hosts of its domain.
    for answer in (response, *others):
        assert answer.headers["strict-transport-security"] == "max-age=31536000"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-oidc-rp-session=")
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=lax", "secure"} <= attributes
    assert not any(a.startswith("domain=") for a in attributes)


async def test_op_error_strings_are_escaped(
    main_app: ServedApp, op: NodeOP, browser: httpx2.AsyncClient
) -> None:
    start = await browser.get(f"{main_app.url}/start-login")
    state = query_of(start.headers["location"])["state"]
    evil = '<script>alert("x")</script>'
    response = await browser.get(
        f"{main_app.url}/callback",
        params={
            "state": state,
            "iss": op.issuer,
            "error": "access_denied",
            "error_description": evil,
            "error_uri": "javascript:alert(1)",
        },
    )
    assert response.status_code == 400
    assert evil not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in response.text
    assert 'href="javascript' not in response.text


async def test_jwks_route_publishes_only_public_keys(
    aux_app: Callable[..., ServedApp],
) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "rp-key-1"})
    served = aux_app(request_object_key=json.dumps(key.as_dict(private=True)))
    async with httpx2.AsyncClient() as client:
        response = await client.get(f"{served.url}/jwks")
    assert response.status_code == 200
    (published,) = response.json()["keys"]
    assert published["kid"] == "rp-key-1"
    assert published["kty"] == "EC" and "d" not in published


async def test_garbage_post_callback(main_app: ServedApp, browser: httpx2.AsyncClient) -> None:
    await browser.get(f"{main_app.url}/")
    for data in ({}, {"state": "x", "code": "y"}, {"oidc_rp_relay": "1"}):
        response = await browser.post(f"{main_app.url}/callback", data=data)
        assert response.status_code == 400
    multipart = await browser.post(
        f"{main_app.url}/callback", files={"state": ("f.txt", b"x")}, data={"code": "y"}
    )
    assert multipart.status_code == 400


async def test_empty_callback_without_a_fragment_login_is_a_400(
    main_app: ServedApp, browser: httpx2.AsyncClient, op_browser: httpx2.AsyncClient
) -> None:
    start = await browser.get(f"{main_app.url}/start-login")
    await login_via_dev_interactions(start.headers["location"], cookies_client=op_browser)
    assert (await browser.get(f"{main_app.url}/callback")).status_code == 400


# Request bodies: one limit for the whole body (413), form limits for every route (400).

FORM_ROUTES = ("/callback", "/backchannel-logout", "/initiate-login", "/refresh")


async def _csrf(client: httpx2.AsyncClient, app: ServedApp) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get(f"{app.url}/")).text)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("path", FORM_ROUTES)
@pytest.mark.parametrize("accept", ["application/json", "text/html"])
async def test_a_body_over_the_limit_is_a_413(
    offline_dynamic_app: ServedApp, path: str, accept: str
) -> None:
    async with httpx2.AsyncClient() as client:
        csrf = await _csrf(client, offline_dynamic_app)
        response = await client.post(
            f"{offline_dynamic_app.url}{path}",
            data={"csrf_token": csrf, "state": "s", "pad": "x" * (300 * 1024)},
            headers={"accept": accept},
        )
    assert response.status_code == 413
    assert response.headers["cache-control"] == "no-store"
    if accept == "application/json":
        assert response.json()["error"] == "payload_too_large"
    else:
        assert "Request too large" in response.text


async def test_a_streamed_body_over_the_limit_is_a_413(offline_dynamic_app: ServedApp) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: counted as it arrives. 8 fields of 40 KiB, each within the
        # form limits, 320 KiB in all.
        for i in range(8):
            yield f"&f{i}=".encode()
            for _ in range(40):
                yield b"x" * 1024

    async with httpx2.AsyncClient() as client:
        response = await client.post(
            f"{offline_dynamic_app.url}/callback",
            content=chunks(),
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "accept": "application/json",
            },
        )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def _fields(csrf: str, count: int) -> dict[str, str]:
    return {"csrf_token": csrf, "iss": DEAD_ISSUER, **{f"f{i}": "v" for i in range(count)}}


@pytest.mark.parametrize("path", FORM_ROUTES)
@pytest.mark.parametrize(
    ("case", "rule"),
    [
        ("too many fields", "Too many fields"),
        ("a field over 64 KiB", "Field exceeded maximum size"),
        ("a file", "Too many files"),
    ],
)
async def test_form_limits_are_a_400(
    offline_dynamic_app: ServedApp, path: str, case: str, rule: str
) -> None:
    async with httpx2.AsyncClient() as client:
        csrf = await _csrf(client, offline_dynamic_app)
        kwargs: dict[str, Any] = {"data": _fields(csrf, 64)}
        if case == "a field over 64 KiB":
            kwargs = {"data": {**_fields(csrf, 0), "big": "x" * (65 * 1024)}}
        elif case == "a file":
            kwargs = {"data": _fields(csrf, 0), "files": {"logout_token": ("t.txt", b"x")}}
        response = await client.post(
            f"{offline_dynamic_app.url}{path}", headers={"accept": "application/json"}, **kwargs
        )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"].startswith("form: ")
    assert rule in response.json()["error_description"]


async def test_forms_within_the_limits_still_work(offline_dynamic_app: ServedApp) -> None:
    async with httpx2.AsyncClient() as client:
        csrf = await _csrf(client, offline_dynamic_app)
        response = await client.post(
            f"{offline_dynamic_app.url}/refresh",
            data=_fields(csrf, 60),
            headers={"accept": "application/json"},
        )
    assert response.status_code == 401  # read, CSRF checked, then: nobody is logged in
