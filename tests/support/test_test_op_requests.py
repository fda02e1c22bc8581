"""The test OP's request cases: request objects (RFC 9101), PAR (RFC 9126), the claims
parameter (OIDC Core §5.5) and dynamic registration (RFC 7591).
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from .plain_rp import (
    REDIRECT_URI,
    _authorize,
    _code_exchange,
    _discover,
    _fake_rp,
    _register,
    _token,
    _verify,
)
from .test_op import TestOP, serve_app
from .test_op.edits import unverified_claims


def test_request_uri_signed_rs256_is_fetched_and_verified(op: TestOP, http: httpx2.Client) -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "rp-sig"})
    request_object: list[str] = []
    with serve_app(_fake_rp([], 200, request_object)) as rp_url:
        client = _register(
            op, "request-uri-signed-rs256", jwks={"keys": [key.as_dict(private=False)]}
        )
        meta = _discover(http, op, "request-uri-signed-rs256")
        params = {
            "client_id": client["client_id"],
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
        }
        params.update(
            scope="openid", state="st", nonce="nn", iss=client["client_id"], aud=meta["issuer"]
        )
        request_object.append(jwt.encode({"alg": "RS256", "kid": "rp-sig"}, params, key))
        query = {"client_id": client["client_id"], "response_type": "code", "scope": "openid"}
        response = http.get(
            meta["authorization_endpoint"], params={**query, "request_uri": f"{rp_url}/req"}
        )
        assert response.status_code == 302, response.text
        assert "state=st" in response.headers["location"]
        # The same request without a request object is refused by this case.
        plain = http.get(
            meta["authorization_endpoint"], params={**query, "redirect_uri": REDIRECT_URI}
        )
        assert plain.status_code == 400
    endpoints = [call.endpoint for call in op.calls("request-uri-signed-rs256")]
    assert endpoints == ["discovery", "authorization", "request_uri_fetch", "authorization"]


def test_request_object_by_value_and_unsigned_request_uri(op: TestOP, http: httpx2.Client) -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "rp-sig"})
    client = _register(
        op, "request-object-signed-rs256", jwks={"keys": [key.as_dict(private=False)]}
    )
    meta = _discover(http, op, "request-object-signed-rs256")
    params = {
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
    }
    params.update(scope="openid", state="st", nonce="nn")
    signed = jwt.encode({"alg": "RS256", "kid": "rp-sig"}, params, key)
    query = {"client_id": client["client_id"], "response_type": "code", "scope": "openid"}
    assert (
        http.get(meta["authorization_endpoint"], params={**query, "request": signed}).status_code
        == 302
    )
    mismatch = http.get(
        meta["authorization_endpoint"], params={**query, "scope": "openid email", "request": signed}
    )
    assert mismatch.status_code == 400
    client = _register(op, "request-uri-signed-none")
    meta = _discover(http, op, "request-uri-signed-none")
    stale = _unsigned(params)  # names the client of the other test
    query["client_id"] = params["client_id"] = client["client_id"]
    for request_object, status in ((stale, 400), (_unsigned(params), 302)):
        with serve_app(_fake_rp([], 200, [request_object])) as rp_url:
            response = http.get(
                meta["authorization_endpoint"], params={**query, "request_uri": f"{rp_url}/req"}
            )
        assert response.status_code == status, response.text


def _unsigned(claims: dict[str, str]) -> str:
    parts = (b'{"alg":"none"}', json.dumps(claims).encode())
    return ".".join(base64.urlsafe_b64encode(part).rstrip(b"=").decode() for part in parts) + "."


def test_dynamic_registration_par_refresh_revocation(op: TestOP, http: httpx2.Client) -> None:
    op.reset("dynamic-registration")
    meta = _discover(http, op, "dynamic-registration")
    refused = http.post(meta["registration_endpoint"], json={"client_name": "x"})
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_redirect_uri"
    registered = http.post(
        meta["registration_endpoint"],
        json={"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "client_secret_post"},
    )
    assert registered.status_code == 201
    client = registered.json()
    creds = {"client_id": client["client_id"], "client_secret": client["client_secret"]}
    pushed = http.post(
        meta["pushed_authorization_request_endpoint"],
        data={
            **creds,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": REDIRECT_URI,
            "state": "p",
        },
    )
    assert pushed.status_code == 201, pushed.text
    params = {"client_id": client["client_id"], "request_uri": pushed.json()["request_uri"]}
    location = http.get(meta["authorization_endpoint"], params=params).headers["location"]
    code = dict(parse_qsl(urlsplit(location).query))["code"]
    form = {**creds, "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    body = http.post(meta["token_endpoint"], data=form).json()
    refreshed = http.post(
        meta["token_endpoint"],
        data={**creds, "grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    ).json()
    assert (
        unverified_claims(refreshed["id_token"])["sub"]
        == unverified_claims(body["id_token"])["sub"]
    )
    introspect = http.post(
        meta["introspection_endpoint"], data={**creds, "token": refreshed["access_token"]}
    )
    assert introspect.json()["active"] is True
    assert (
        http.post(
            meta["revocation_endpoint"], data={**creds, "token": refreshed["access_token"]}
        ).status_code
        == 200
    )
    introspect = http.post(
        meta["introspection_endpoint"], data={**creds, "token": refreshed["access_token"]}
    )
    assert introspect.json() == {"active": False}
    # Basic credentials are refused for a client_secret_post client.
    assert (
        _token(http, meta, client, grant_type="refresh_token", refresh_token="x").status_code == 401
    )


def _userinfo(http: httpx2.Client, meta: dict[str, Any], access_token: str) -> dict[str, Any]:
    response = http.get(
        meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


NAME_IN_ID_TOKEN = {"id_token": {"name": None, "unknown_claim": {"essential": True}}}


NAME_IN_USERINFO = {"userinfo": {"name": {"essential": True}}}


def test_claims_request_in_the_query_puts_name_in_the_id_tokens(
    op: TestOP, http: httpx2.Client
) -> None:
    test_id = "claims-request-id-token"
    client = _register(op, test_id, response_types=["code id_token"])
    meta = _discover(http, op, test_id)
    # The case refuses a request whose claims parameter asks nothing for the ID token.
    refused = (None, json.dumps(NAME_IN_USERINFO), "{not json", '{"id_token": []}')
    for claims in refused:
        params = {"client_id": client["client_id"], "redirect_uri": REDIRECT_URI, "nonce": "n"}
        params.update(response_type="code id_token", scope="openid")
        if claims is not None:
            params["claims"] = claims
        assert http.get(meta["authorization_endpoint"], params=params).status_code == 400
    assert op.errors(test_id) == [
        "this test needs the claims parameter asking id_token",
        "this test needs the claims parameter asking id_token",
        "claims is not valid JSON (OIDC Core §5.5)",
        "claims.id_token must be a JSON object",
    ]
    result = _authorize(
        http, meta, client, "code id_token", scope="openid", claims=json.dumps(NAME_IN_ID_TOKEN)
    )
    front = _verify(http, meta, result["id_token"])
    body = _code_exchange(http, meta, client, result["code"])
    back = _verify(http, meta, body["id_token"])
    assert front["name"] == back["name"] == "Jane Doe"
    assert "unknown_claim" not in back and "email" not in back
    assert "name" not in _userinfo(http, meta, body["access_token"])  # scope is only openid
    refreshed = _token(
        http, meta, client, grant_type="refresh_token", refresh_token=body["refresh_token"]
    ).json()
    assert _verify(http, meta, refreshed["id_token"])["name"] == "Jane Doe"


def test_claims_request_in_a_request_object_and_a_par_puts_name_in_userinfo(
    op: TestOP, http: httpx2.Client
) -> None:
    test_id = "claims-request-userinfo"
    client = _register(op, test_id)
    meta = _discover(http, op, test_id)
    params: dict[str, Any] = {
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid",
        "state": "st",
    }
    by_value = jwt.encode(
        {"alg": "HS256"},
        {**params, "claims": NAME_IN_USERINFO},  # a JSON object inside the request object
        OctKey.import_key(client["client_secret"]),
    )
    query = {"client_id": client["client_id"], "request": by_value}
    location = http.get(meta["authorization_endpoint"], params=query).headers["location"]
    code = dict(parse_qsl(urlsplit(location).query))["code"]
    body = _code_exchange(http, meta, client, code)
    assert _userinfo(http, meta, body["access_token"])["name"] == "Jane Doe"
    assert "name" not in _verify(http, meta, body["id_token"])
    auth = (client["client_id"], client["client_secret"])
    pushed = http.post(
        meta["pushed_authorization_request_endpoint"],
        data={**params, "claims": json.dumps(NAME_IN_USERINFO)},
        auth=auth,
    )
    assert pushed.status_code == 201, pushed.text
    query = {"client_id": client["client_id"], "request_uri": pushed.json()["request_uri"]}
    location = http.get(meta["authorization_endpoint"], params=query).headers["location"]
    body = _code_exchange(http, meta, client, dict(parse_qsl(urlsplit(location).query))["code"])
    assert _userinfo(http, meta, body["access_token"]) == {
        "sub": _verify(http, meta, body["id_token"])["sub"],
        "name": "Jane Doe",
    }
