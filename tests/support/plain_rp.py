"""A plain RP (httpx2 and joserfc, never oidc_rp) for the test OP's own tests.

Register, discover, authorize, redeem the code, verify: each round trip as a small helper.
(Not named test_*.py so that pytest does not collect it.)
"""

from __future__ import annotations

import secrets
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .test_op import TestOP
from .test_op.edits import unverified_header

REDIRECT_URI = "http://127.0.0.1:9/cb"


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        if tag == "input":
            self.fields[values["name"]] = values.get("value", "")


def _register(op: TestOP, test_id: str, **metadata: Any) -> dict[str, Any]:
    op.reset(test_id)
    metadata.setdefault("redirect_uris", [REDIRECT_URI])
    return op.register_client(test_id, metadata)


def _discover(http: httpx2.Client, op: TestOP, test_id: str) -> dict[str, Any]:
    response = http.get(f"{op.issuer(test_id)}/.well-known/openid-configuration")
    assert response.status_code == 200
    metadata: dict[str, Any] = response.json()
    return metadata


def _authorize(
    http: httpx2.Client,
    meta: dict[str, Any],
    client: dict[str, Any],
    response_type: str,
    **extra: str,
) -> dict[str, str]:
    """Send an authorization request; return the response parameters wherever they are."""
    params = {
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "response_type": response_type,
        "scope": "openid profile email",
        "state": "state-" + secrets.token_hex(4),
        "nonce": "nonce-" + secrets.token_hex(4),
        **extra,
    }
    response = http.get(meta["authorization_endpoint"], params=params)
    if extra.get("response_mode") == "form_post":
        assert response.status_code == 200, response.text
        parser = _FormParser()
        parser.feed(response.text)
        assert parser.action == REDIRECT_URI
        return parser.fields
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return dict(parse_qsl(location.fragment or location.query))


def _token(
    http: httpx2.Client, meta: dict[str, Any], client: dict[str, Any], **form: str
) -> httpx2.Response:
    auth = (client["client_id"], client["client_secret"])
    return http.post(meta["token_endpoint"], data=form, auth=auth)


def _code_exchange(
    http: httpx2.Client, meta: dict[str, Any], client: dict[str, Any], code: str
) -> dict[str, Any]:
    response = _token(
        http, meta, client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _verify(http: httpx2.Client, meta: dict[str, Any], token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(http.get(meta["jwks_uri"]).json())
    alg = unverified_header(token)["alg"]
    return dict(jwt.decode(token, keys, algorithms=[alg]).claims)


def _code_flow_id_token(
    http: httpx2.Client, op: TestOP, test_id: str, **metadata: Any
) -> tuple[dict[str, Any], str]:
    client = _register(op, test_id, **metadata)
    meta = _discover(http, op, test_id)
    return client, _code_exchange(
        http, meta, client, _authorize(http, meta, client, "code")["code"]
    )["id_token"]


def _fake_rp(received: list[dict[str, str]], status: int, request_object: list[str]) -> Any:
    async def backchannel(request: Request) -> Response:
        received.append(dict((await request.form()).items()))  # type: ignore[arg-type]
        return PlainTextResponse("", status_code=status, headers={"Cache-Control": "no-store"})

    async def request_uri(request: Request) -> Response:
        return Response(request_object[0], media_type="application/oauth-authz-req+jwt")

    routes = [Route("/bcl", backchannel, methods=["POST"]), Route("/req", request_uri)]
    return lambda base_url: Starlette(routes=routes)
