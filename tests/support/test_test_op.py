"""Tests of the test OP itself, with plain httpx2 and joserfc (never oidc_rp).

They check the happy path end to end for all six response types, and that a sample of the
misbehaviours really happen as the conformance suite does them. The other test_test_op_*.py
files cover ID tokens, request objects, logout and encryption.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from .plain_rp import (
    REDIRECT_URI,
    _authorize,
    _code_exchange,
    _discover,
    _register,
    _token,
    _verify,
)
from .test_op import CASES, TestOP

RESPONSE_TYPES = [
    "code",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
]


def _half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


@pytest.mark.parametrize("response_type", RESPONSE_TYPES)
def test_happy_path_end_to_end(op: TestOP, http: httpx2.Client, response_type: str) -> None:
    client = _register(op, "client-test", response_types=[response_type])
    meta = _discover(http, op, "client-test")
    mode = {} if response_type == "code" else {"response_mode": "fragment"}
    nonce = "n-" + secrets.token_hex(4)
    result = _authorize(http, meta, client, response_type, nonce=nonce, **mode)
    assert result["iss"] == op.issuer("client-test")
    assert "state" in result
    access_token = result.get("access_token")
    if "id_token" in result:
        claims = _verify(http, meta, result["id_token"])
        assert claims["nonce"] == nonce
        assert claims["aud"] == client["client_id"]
        assert claims["exp"] == claims["iat"] + 300
        if "code" in result:
            assert claims["c_hash"] == _half_hash(result["code"])
        if access_token:
            assert claims["at_hash"] == _half_hash(access_token)
    if "code" in result:
        body = _code_exchange(http, meta, client, result["code"])
        assert body["token_type"] == "Bearer"
        claims = _verify(http, meta, body["id_token"])
        assert claims["iss"] == op.issuer("client-test")
        assert claims["nonce"] == nonce
        access_token = body["access_token"]
        # RFC 6749 §4.1.2: codes are single use.
        again = _token(http, meta, client, grant_type="authorization_code", code=result["code"])
        assert again.json()["error"] == "invalid_grant"
    if access_token:
        info = http.get(
            meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"}
        )
        assert info.status_code == 200
        assert info.json()["email"] == "janedoe@example.com"
    assert op.calls("client-test")[0].endpoint == "discovery"


def test_form_post_response_mode_delivers_the_fields(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "client-test", response_types=["code id_token"])
    meta = _discover(http, op, "client-test")
    fields = _authorize(http, meta, client, "code id_token", response_mode="form_post")
    assert set(fields) == {"code", "id_token", "state", "iss"}


def test_authorization_request_failing_validation_gets_a_400_page(
    op: TestOP, http: httpx2.Client
) -> None:
    client = _register(op, "client-test", response_types=["id_token"])
    meta = _discover(http, op, "client-test")
    params = {"client_id": client["client_id"], "redirect_uri": REDIRECT_URI}
    params.update(response_type="id_token", scope="openid")  # no nonce
    response = http.get(meta["authorization_endpoint"], params=params)
    assert response.status_code == 400
    assert "nonce is required" in response.text
    assert op.calls("client-test")[-1].error == "nonce is required for this response_type"


def test_pkce_verifier_is_checked(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "client-test")
    meta = _discover(http, op, "client-test")
    verifier = secrets.token_urlsafe(40)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    code = _authorize(http, meta, client, "code", **pkce)["code"]
    bad = _token(
        http, meta, client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )
    assert bad.json()["error"] == "invalid_grant"
    code = _authorize(http, meta, client, "code", **pkce)["code"]
    good = _token(
        http,
        meta,
        client,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )
    assert good.status_code == 200


def test_private_key_jwt_client_authentication(op: TestOP, http: httpx2.Client) -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "rp-key"})
    client = _register(
        op,
        "client-test",
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [key.as_dict(private=False)]},
    )
    meta = _discover(http, op, "client-test")
    code = _authorize(http, meta, client, "code")["code"]
    now = int(time.time())
    claims = {"iss": client["client_id"], "sub": client["client_id"], "aud": meta["token_endpoint"]}
    claims.update(jti=secrets.token_hex(8), iat=now, exp=now + 60)
    assertion = jwt.encode({"alg": "RS256", "kid": "rp-key"}, claims, key)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    form.update(client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    response = http.post(meta["token_endpoint"], data={**form, "client_assertion": assertion})
    assert response.status_code == 200, response.text
    # The same assertion again (jti replay) is refused.
    replay = http.post(meta["token_endpoint"], data={**form, "client_assertion": assertion})
    assert replay.json()["error"] == "invalid_client"


def test_client_secret_jwt_and_forced_basic(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "client-test", token_endpoint_auth_method="client_secret_jwt")
    meta = _discover(http, op, "client-test")
    code = _authorize(http, meta, client, "code")["code"]
    now = int(time.time())
    claims = {"iss": client["client_id"], "sub": client["client_id"], "aud": meta["issuer"]}
    claims.update(jti=secrets.token_hex(8), exp=now + 60)
    assertion = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(client["client_secret"]))
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    form.update(client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    assert (
        http.post(meta["token_endpoint"], data={**form, "client_assertion": assertion}).status_code
        == 200
    )
    client = _register(op, "client-secret-basic", token_endpoint_auth_method="client_secret_post")
    assert client["token_endpoint_auth_method"] == "client_secret_basic"
    meta = _discover(http, op, "client-secret-basic")
    code = _authorize(http, meta, client, "code")["code"]
    creds = {"client_id": client["client_id"], "client_secret": client["client_secret"]}
    post = http.post(
        meta["token_endpoint"], data={**creds, "grant_type": "authorization_code", "code": code}
    )
    assert post.status_code == 401


def test_form_post_error_answers_login_required(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "form-post-error")
    meta = _discover(http, op, "form-post-error")
    fields = _authorize(
        http, meta, client, "code", response_mode="form_post", prompt="none", max_age="0"
    )
    assert fields["error"] == "login_required"
    assert fields["state"].startswith("state-")
    plain = http.get(meta["authorization_endpoint"], params={"client_id": client["client_id"]})
    assert plain.status_code == 400


def test_discovery_issuer_mismatch(op: TestOP, http: httpx2.Client) -> None:
    meta = _discover(http, op, "discovery-issuer-mismatch")
    assert meta["issuer"] == op.issuer("discovery-issuer-mismatch") + "INVALID"


def test_discovery_jwks_uri_is_random(op: TestOP, http: httpx2.Client) -> None:
    op.reset("discovery-jwks-uri-keys")
    meta = _discover(http, op, "discovery-jwks-uri-keys")
    assert not meta["jwks_uri"].endswith("/jwks")
    assert http.get(meta["jwks_uri"]).status_code == 200
    assert http.get(op.issuer("discovery-jwks-uri-keys") + "/jwks").status_code == 404
    assert op.calls("discovery-jwks-uri-keys")[-1].endpoint == "unknown"


def test_unknown_test_id(op: TestOP, http: httpx2.Client) -> None:
    assert (
        http.get(f"{op.base_url}/no-such-test/.well-known/openid-configuration").status_code == 404
    )
    with pytest.raises(ValueError, match="unknown test OP case"):
        op.issuer("no-such-test")


def test_every_case_serves_discovery_and_is_described(op: TestOP, http: httpx2.Client) -> None:
    for test_id, case in CASES.items():
        assert case.test_id == test_id
        assert case.description
        assert case.expected in ("accept", "reject")
        assert _discover(http, op, test_id)["token_endpoint"] == op.issuer(test_id) + "/token"
    meta = _discover(http, op, "idtoken-sig-none")
    assert meta["id_token_signing_alg_values_supported"] == ["none", "RS256"]


@pytest.mark.parametrize(
    ("test_id", "check"),
    [
        ("invalid-authorization-response-iss", lambda r, iss, st: r["iss"] == iss + "1"),
        ("remove-authorization-response-iss", lambda r, iss, st: "iss" not in r),
        ("invalid-state", lambda r, iss, st: r["state"] == st + "1"),
        ("missing-state", lambda r, iss, st: "state" not in r),
    ],
)
def test_authorization_response_edits(
    op: TestOP, http: httpx2.Client, test_id: str, check: Any
) -> None:
    client = _register(op, test_id)
    result = _authorize(http, _discover(http, op, test_id), client, "code", state="st")
    assert check(result, op.issuer(test_id), "st")


def test_token_response_edits(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "token-type-case-insensitivity")
    meta = _discover(http, op, "token-type-case-insensitivity")
    body = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])
    assert body["token_type"] == "bEARER"
    client = _register(op, "token-endpoint-response-without-expires_in")
    meta = _discover(http, op, "token-endpoint-response-without-expires_in")
    assert "expires_in" not in _code_exchange(
        http, meta, client, _authorize(http, meta, client, "code")["code"]
    )
    client = _register(op, "no-scope-in-token-endpoint-response")
    meta = _discover(http, op, "no-scope-in-token-endpoint-response")
    body = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])
    assert "scope" not in body and "expires_in" not in body and body["access_token"]


def test_userinfo_refuses_a_token_in_the_query(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "userinfo-bearer-header")
    meta = _discover(http, op, "userinfo-bearer-header")
    token = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])[
        "access_token"
    ]
    assert http.get(meta["userinfo_endpoint"], params={"access_token": token}).status_code == 401
    assert http.post(meta["userinfo_endpoint"], data={"access_token": token}).status_code == 401
    headers = {"Authorization": f"Bearer {token}"}
    assert http.get(meta["userinfo_endpoint"], headers=headers).status_code == 200
    assert (
        op.errors("userinfo-bearer-header")[0] == "access_token must not be sent in the URL query"
    )


def test_userinfo_signed_and_bearer_body(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "userinfo-signed")
    meta = _discover(http, op, "userinfo-signed")
    token = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])[
        "access_token"
    ]
    info = http.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token}"})
    assert info.headers["content-type"] == "application/jwt"
    claims = _verify(http, meta, info.text)
    assert (claims["iss"], claims["aud"]) == (op.issuer("userinfo-signed"), client["client_id"])
    client = _register(op, "userinfo-bearer-body")
    meta = _discover(http, op, "userinfo-bearer-body")
    token = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])[
        "access_token"
    ]
    assert (
        http.get(
            meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )
    assert http.post(meta["userinfo_endpoint"], data={"access_token": token}).status_code == 200


def test_scope_userinfo_claims_and_webfinger(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "scope-userinfo-claims", response_types=["id_token"])
    meta = _discover(http, op, "scope-userinfo-claims")
    bare = {
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "response_type": "id_token",
    }
    refused = http.get(
        meta["authorization_endpoint"], params={**bare, "scope": "openid", "nonce": "n"}
    )
    assert refused.status_code == 400
    result = _authorize(http, meta, client, "id_token")
    assert _verify(http, meta, result["id_token"])["name"] == "Jane Doe"
    host = op.base_url.split("://")[1]
    finger = http.get(
        f"{op.base_url}/.well-known/webfinger",
        params={
            "resource": f"acct:joe.client-test@{host}",
            "rel": "http://openid.net/specs/connect/1.0/issuer",
        },
    )
    assert finger.json()["links"][0]["href"] == op.issuer("client-test")
