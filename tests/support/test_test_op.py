"""Tests of the test OP itself, with plain httpx2 and joserfc (never oidc_rp).

They check the happy path end to end for all six response types, and that a sample of the
misbehaviours really happen as the conformance suite does them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest
from joserfc import jwe, jwt
from joserfc.errors import BadSignatureError, JoseError, SecurityWarning
from joserfc.jwk import KeySet, OctKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .test_op import CASES, TestOP, run_test_op, serve_app
from .test_op.edits import corrupt_signature, unverified_claims, unverified_header
from .test_op.encryption import corrupt_tag

REDIRECT_URI = "http://127.0.0.1:9/cb"
RESPONSE_TYPES = [
    "code",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
]


@pytest.fixture(scope="module")
def op() -> Iterator[TestOP]:
    with run_test_op() as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx2.Client]:
    with httpx2.Client(timeout=10.0) as client:
        yield client


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


def test_invalid_iss_appends_1(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "invalid-iss")
    meta = _discover(http, op, "invalid-iss")
    body = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])
    claims = _verify(http, meta, body["id_token"])  # the signature itself is valid
    assert claims["iss"] == op.issuer("invalid-iss") + "1"
    assert op.last_id_token_claims("invalid-iss") == claims


def test_invalid_sig_rs256_xors_the_signature(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "invalid-sig-rs256")
    meta = _discover(http, op, "invalid-sig-rs256")
    token = _authorize(http, meta, client, "code")["code"]
    id_token = _code_exchange(http, meta, client, token)["id_token"]
    with pytest.raises(BadSignatureError):
        _verify(http, meta, id_token)
    # XOR 0x5A twice restores the genuine signature: the only fault is the XOR.
    assert _verify(http, meta, corrupt_signature(id_token))["sub"]


def test_kid_absent_single_jwks(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "kid-absent-single-jwks")
    meta = _discover(http, op, "kid-absent-single-jwks")
    id_token = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])[
        "id_token"
    ]
    assert "kid" not in unverified_header(id_token)
    jwks = http.get(meta["jwks_uri"]).json()["keys"]
    assert [k["kty"] for k in jwks] == ["RSA", "EC", "OKP"]
    assert all("kid" not in k for k in jwks)
    rsa = RSAKey.import_key(jwks[0])
    assert jwt.decode(id_token, rsa, algorithms=["RS256"]).claims["sub"]


def test_signing_key_rotation_changes_the_kids(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "signing-key-rotation")
    meta = _discover(http, op, "signing-key-rotation")
    first = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])[
        "id_token"
    ]
    first_kids = {k["kid"] for k in http.get(meta["jwks_uri"]).json()["keys"]}
    assert unverified_header(first)["kid"] in first_kids
    second = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])[
        "id_token"
    ]
    new_kids = {k["kid"] for k in http.get(meta["jwks_uri"]).json()["keys"]}
    assert not first_kids & new_kids
    assert unverified_header(second)["kid"] in new_kids
    assert _verify(http, meta, second)["sub"]


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


def test_refresh_token_invalid_sub(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "refresh-token-invalid-sub")
    meta = _discover(http, op, "refresh-token-invalid-sub")
    body = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])
    first_sub = unverified_claims(body["id_token"])["sub"]
    refreshed = _token(
        http, meta, client, grant_type="refresh_token", refresh_token=body["refresh_token"]
    ).json()
    assert unverified_claims(refreshed["id_token"])["sub"] == first_sub + "1"


def _fake_rp(received: list[dict[str, str]], status: int, request_object: list[str]) -> Any:
    async def backchannel(request: Request) -> Response:
        received.append(dict((await request.form()).items()))  # type: ignore[arg-type]
        return PlainTextResponse("", status_code=status, headers={"Cache-Control": "no-store"})

    async def request_uri(request: Request) -> Response:
        return Response(request_object[0], media_type="application/oauth-authz-req+jwt")

    routes = [Route("/bcl", backchannel, methods=["POST"]), Route("/req", request_uri)]
    return lambda base_url: Starlette(routes=routes)


@pytest.mark.parametrize(
    ("test_id", "rp_status"),
    [("rp-backchannel-rpinitlogout", 200), ("rp-backchannel-rpinitlogout-wrong-aud", 400)],
)
def test_backchannel_logout_is_delivered_and_recorded(
    op: TestOP, http: httpx2.Client, test_id: str, rp_status: int
) -> None:
    received: list[dict[str, str]] = []
    with serve_app(_fake_rp(received, rp_status, [])) as rp_url:
        client = _register(
            op,
            test_id,
            backchannel_logout_uri=f"{rp_url}/bcl",
            post_logout_redirect_uris=[f"{rp_url}/bye"],
        )
        meta = _discover(http, op, test_id)
        id_token = _code_exchange(
            http, meta, client, _authorize(http, meta, client, "code")["code"]
        )["id_token"]
        params = {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": f"{rp_url}/bye",
            "state": "s9",
        }
        response = http.get(meta["end_session_endpoint"], params=params)
    assert response.status_code == 302
    assert response.headers["location"] == f"{rp_url}/bye?state=s9"
    assert op.backchannel_results(test_id) == [rp_status]
    assert set(received[0]) == {"logout_token", "extra_param"}
    claims = _verify(http, meta, received[0]["logout_token"])
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
    assert claims["sid"] == unverified_claims(id_token)["sid"]
    expected_aud = client["client_id"] + ("INVALID" if test_id.endswith("wrong-aud") else "")
    assert claims["aud"] == expected_aud


def test_rp_init_logout_other_state(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "rp-init-logout-other-state", post_logout_redirect_uris=[REDIRECT_URI])
    meta = _discover(http, op, "rp-init-logout-other-state")
    id_token = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])[
        "id_token"
    ]
    params = {"id_token_hint": id_token, "post_logout_redirect_uri": REDIRECT_URI, "state": "s1"}
    response = http.get(meta["end_session_endpoint"], params=params)
    assert response.headers["location"] == f"{REDIRECT_URI}?state=s1_INVALID"
    params["id_token_hint"] = "not-an-id-token"
    assert http.get(meta["end_session_endpoint"], params=params).status_code == 400


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


@pytest.mark.parametrize(
    ("test_id", "response_type", "check"),
    [
        ("nonce-invalid", "code", lambda c, cid, n: c["nonce"] == n + "1"),
        ("missing-sub", "code", lambda c, cid, n: "sub" not in c),
        ("invalid-missing-iss", "code", lambda c, cid, n: "iss" not in c and c["sub"]),
        ("invalid-missing-nonce", "code id_token", lambda c, cid, n: "nonce" not in c),
        ("invalid-aud", "code", lambda c, cid, n: c["aud"] == cid + "1"),
        (
            "invalid-secondary-aud",
            "code",
            lambda c, cid, n: c["aud"] == [cid, cid + "1"] and "azp" not in c,
        ),
        ("valid-aud-as-array", "code", lambda c, cid, n: c["aud"] == [cid]),
        ("invalid-expired-exp", "code", lambda c, cid, n: c["exp"] < time.time() - 300),
        ("iat-is-week-in-past", "code", lambda c, cid, n: c["iat"] < time.time() - 6 * 86400),
        ("missing-athash", "id_token token", lambda c, cid, n: "at_hash" not in c),
        ("invalid-chash", "code id_token", lambda c, cid, n: c["c_hash"].endswith("1")),
    ],
)
def test_id_token_edits(
    op: TestOP, http: httpx2.Client, test_id: str, response_type: str, check: Any
) -> None:
    client = _register(op, test_id, response_types=[response_type])
    meta = _discover(http, op, test_id)
    nonce = "n-" + secrets.token_hex(4)
    mode = {} if response_type == "code" else {"response_mode": "fragment"}
    result = _authorize(http, meta, client, response_type, nonce=nonce, **mode)
    id_token = (
        result.get("id_token") or _code_exchange(http, meta, client, result["code"])["id_token"]
    )
    assert check(_verify(http, meta, id_token), client["client_id"], nonce)


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


def _code_flow_id_token(
    http: httpx2.Client, op: TestOP, test_id: str, **metadata: Any
) -> tuple[dict[str, Any], str]:
    client = _register(op, test_id, **metadata)
    meta = _discover(http, op, test_id)
    return client, _code_exchange(
        http, meta, client, _authorize(http, meta, client, "code")["code"]
    )["id_token"]


def test_signature_algs_of_the_sig_cases(op: TestOP, http: httpx2.Client) -> None:
    _, unsigned = _code_flow_id_token(http, op, "idtoken-sig-none")
    assert unverified_header(unsigned)["alg"] == "none"
    assert unsigned.endswith(".")
    client, hs256 = _code_flow_id_token(http, op, "sig-hs256")
    secret = OctKey.import_key(client["client_secret"])
    assert jwt.decode(hs256, secret, algorithms=["HS256"]).claims["aud"] == client["client_id"]
    client, bad_hs256 = _code_flow_id_token(http, op, "invalid-sig-hs256")
    with pytest.raises(BadSignatureError):
        jwt.decode(bad_hs256, OctKey.import_key(client["client_secret"]), algorithms=["HS256"])
    _, es256 = _code_flow_id_token(http, op, "sig-es256")
    assert _verify(http, _discover(http, op, "sig-es256"), es256)["sub"]


def test_kid_absent_multiple_and_unparseable_jwks(op: TestOP, http: httpx2.Client) -> None:
    _, token = _code_flow_id_token(http, op, "kid-absent-multiple-jwks")
    assert "kid" not in unverified_header(token)
    keys = op.jwks("kid-absent-multiple-jwks")["keys"]
    assert [k["kty"] for k in keys].count("RSA") == 3
    _, token = _code_flow_id_token(http, op, "ignores-unparseable-key-in-jwks")
    keys = op.jwks("ignores-unparseable-key-in-jwks")["keys"]
    assert [k["kty"] for k in keys] == ["RSA", "AKP", "XYZ-UNKNOWN"]
    rsa = RSAKey.import_key(keys[0])
    assert unverified_header(token)["kid"] == keys[0]["kid"]
    assert jwt.decode(token, rsa, algorithms=["RS256"]).claims["sub"]


def test_rotation_just_before_signing(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "signing-key-rotation-just-before-signing")
    meta = _discover(http, op, "signing-key-rotation-just-before-signing")
    early_kids = {k["kid"] for k in http.get(meta["jwks_uri"]).json()["keys"]}
    token = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])[
        "id_token"
    ]
    assert unverified_header(token)["kid"] not in early_kids
    assert _verify(http, meta, token)["sub"]


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


@pytest.mark.parametrize(
    ("test_id", "alg"),
    [
        ("rp-backchannel-rpinitlogout-alg-none", "none"),
        ("rp-backchannel-rpinitlogout-wrong-alg", "ES256"),
    ],
)
def test_backchannel_logout_token_algs(
    op: TestOP, http: httpx2.Client, test_id: str, alg: str
) -> None:
    received: list[dict[str, str]] = []
    with serve_app(_fake_rp(received, 400, [])) as rp_url:
        metadata = {
            "backchannel_logout_uri": f"{rp_url}/bcl",
            "post_logout_redirect_uris": [REDIRECT_URI],
        }
        _, id_token = _code_flow_id_token(http, op, test_id, **metadata)
        end_session = _discover(http, op, test_id)["end_session_endpoint"]
        response = http.get(
            end_session,
            params={"id_token_hint": id_token, "post_logout_redirect_uri": REDIRECT_URI},
        )
    assert response.headers["location"] == REDIRECT_URI
    assert unverified_header(received[0]["logout_token"])["alg"] == alg
    assert op.backchannel_results(test_id) == [400]


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


# Encrypted ID tokens and userinfo (OIDC Core §10.2, Registration §2) ---------------------

ENC_KEY = RSAKey.generate_key(
    2048, parameters={"kid": "rp-enc", "use": "enc", "alg": "RSA-OAEP-256"}
)
ENC_JWKS = {
    "keys": [
        RSAKey.generate_key(2048, parameters={"kid": "rp-sig", "use": "sig"}).as_dict(),
        ENC_KEY.as_dict(private=False),
    ]
}
RSA_OAEP_256 = {"id_token_encrypted_response_alg": "RSA-OAEP-256", "jwks": ENC_JWKS}


def _decrypt(
    token: str, key: Any, alg: str, enc: str = "A128CBC-HS256"
) -> tuple[dict[str, Any], str]:
    """The protected header and plaintext of a compact JWE (five parts, RFC 7516 §7.1)."""
    assert token.count(".") == 4, token
    result = jwe.decrypt_compact(token, key, algorithms=[alg, enc])
    return dict(result.protected), (result.plaintext or b"").decode()


def test_id_token_sig_enc_front_channel_token_and_refresh(op: TestOP, http: httpx2.Client) -> None:
    test_id = "id-token-sig-enc"
    client = _register(op, test_id, response_types=["code id_token"], **RSA_OAEP_256)
    meta = _discover(http, op, test_id)
    assert "RSA-OAEP-256" in meta["id_token_encryption_alg_values_supported"]
    response = _authorize(http, meta, client, "code id_token")
    body = _code_exchange(http, meta, client, response["code"])
    refreshed = _token(
        http, meta, client, grant_type="refresh_token", refresh_token=body["refresh_token"]
    ).json()
    expected = {"alg": "RSA-OAEP-256", "enc": "A128CBC-HS256", "cty": "JWT", "kid": "rp-enc"}
    subs = set()
    for token in (response["id_token"], body["id_token"], refreshed["id_token"]):
        header, signed = _decrypt(token, ENC_KEY, "RSA-OAEP-256")
        assert header == expected
        subs.add(_verify(http, meta, signed)["sub"])
    assert len(subs) == 1
    # The case needs the client to have registered the encryption.
    refused = http.post(meta["registration_endpoint"], json={"redirect_uris": [REDIRECT_URI]})
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_client_metadata"


def test_id_token_sig_enc_a128kw_uses_the_key_derived_from_the_secret(
    op: TestOP, http: httpx2.Client
) -> None:
    client, token = _code_flow_id_token(
        http, op, "id-token-sig-enc-a128kw", id_token_encrypted_response_alg="A128KW"
    )
    # OIDC Core §10.2: left-truncated SHA-256 of the UTF-8 octets of the client secret.
    key = OctKey.import_key(hashlib.sha256(client["client_secret"].encode()).digest()[:16])
    header, signed = _decrypt(token, key, "A128KW")
    assert header == {"alg": "A128KW", "enc": "A128CBC-HS256", "cty": "JWT"}
    meta = _discover(http, op, "id-token-sig-enc-a128kw")
    assert _verify(http, meta, signed)["aud"] == client["client_id"]


def test_id_token_jwe_faults(op: TestOP, http: httpx2.Client) -> None:
    _, plain = _code_flow_id_token(http, op, "id-token-sig-enc-unencrypted", **RSA_OAEP_256)
    meta = _discover(http, op, "id-token-sig-enc-unencrypted")
    assert _verify(http, meta, plain)["sub"]  # a signed JWT, not a JWE
    _, tampered = _code_flow_id_token(http, op, "id-token-sig-enc-invalid-tag", **RSA_OAEP_256)
    with pytest.raises(JoseError):
        _decrypt(tampered, ENC_KEY, "RSA-OAEP-256")
    # Only the tag was changed: XOR it back and the JWE decrypts.
    assert _decrypt(corrupt_tag(tampered), ENC_KEY, "RSA-OAEP-256")[0]["kid"] == "rp-enc"
    _, rsa15 = _code_flow_id_token(http, op, "encrypted-idtoken-usingrsa15", **RSA_OAEP_256)
    with pytest.warns(SecurityWarning):
        header, signed = _decrypt(rsa15, ENC_KEY, "RSA1_5")
    assert header["alg"] == "RSA1_5" and unverified_claims(signed)["sub"]


def _jwks_app(jwks: dict[str, Any]) -> Any:
    async def serve(request: Request) -> Response:
        return Response(json.dumps(jwks), media_type="application/json")

    return lambda base_url: Starlette(routes=[Route("/jwks", serve)])


@pytest.mark.parametrize("test_id", ["userinfo-enc", "userinfo-sig-enc"])
def test_userinfo_encrypted_to_the_key_at_jwks_uri(
    op: TestOP, http: httpx2.Client, test_id: str
) -> None:
    with serve_app(_jwks_app(ENC_JWKS)) as rp_url:
        client = _register(
            op,
            test_id,
            jwks_uri=f"{rp_url}/jwks",
            userinfo_encrypted_response_alg="RSA-OAEP-256",
            userinfo_encrypted_response_enc="A256GCM",
        )
        meta = _discover(http, op, test_id)
        body = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])
        info = http.get(
            meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {body['access_token']}"}
        )
    assert info.status_code == 200 and info.headers["content-type"] == "application/jwt"
    header, plaintext = _decrypt(info.text, ENC_KEY, "RSA-OAEP-256", "A256GCM")
    sub = _verify(http, meta, body["id_token"])["sub"]
    if test_id == "userinfo-enc":
        assert header == {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "rp-enc"}
        claims = json.loads(plaintext)
        assert claims["sub"] == sub and claims["email"] and "iss" not in claims
    else:
        assert header["cty"] == "JWT"
        claims = _verify(http, meta, plaintext)
        assert (claims["sub"], claims["iss"]) == (sub, op.issuer(test_id))
        assert claims["aud"] == client["client_id"]
