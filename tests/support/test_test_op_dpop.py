"""The test OP's DPoP (RFC 9449) as an authorization server and a resource server, driven with
plain httpx2 and proofs crafted with joserfc (never oidc_rp).

The happy paths with and without nonces, the ``dPoP`` challenge spelling, then one row per
broken proof: each must be refused with the RFC's error code and the rule it broke.
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
from joserfc.jwk import ECKey, OctKey, RSAKey

from .plain_rp import REDIRECT_URI, _authorize, _discover, _register
from .test_op import TestOP

Key = ECKey | RSAKey | OctKey
ALG_OF = {ECKey: "ES256", RSAKey: "RS256", OctKey: "HS256"}


def _ath(token: str) -> str:
    digest = hashlib.sha256(token.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _proof(
    key: Key,
    htm: str,
    htu: str,
    /,
    *,
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A DPoP proof (RFC 9449 §4.2); ``header``/``claims`` override or (``None``) drop members."""
    values = {"typ": "dpop+jwt", "alg": ALG_OF[type(key)], "jwk": key.as_dict(private=False)}
    values.update(header or {})
    payload = {"jti": secrets.token_urlsafe(12), "htm": htm, "htu": htu, "iat": int(time.time())}
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode({k: v for k, v in values.items() if v is not None}, payload, key)


class Flow:
    """One client of one test id: a code, then token and userinfo requests with proofs."""

    def __init__(self, op: TestOP, http: httpx2.Client, test_id: str) -> None:
        self.http = http
        self.client = _register(op, test_id)
        self.meta = _discover(http, op, test_id)
        self.key: Key = ECKey.generate_key("P-256")

    def code(self, **extra: str) -> str:
        return _authorize(self.http, self.meta, self.client, "code", **extra)["code"]

    def token(self, code: str, proof: str | None) -> httpx2.Response:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        headers = {"DPoP": proof} if proof else {}
        auth = (self.client["client_id"], self.client["client_secret"])
        return self.http.post(self.meta["token_endpoint"], data=form, auth=auth, headers=headers)

    def token_proof(self, **claims: Any) -> str:
        return _proof(self.key, "POST", self.meta["token_endpoint"], **claims)

    def userinfo(self, authorization: str, proof: str | None) -> httpx2.Response:
        headers = {"Authorization": authorization, **({"DPoP": proof} if proof else {})}
        return self.http.get(self.meta["userinfo_endpoint"], headers=headers)

    def userinfo_proof(self, token: str, **claims: Any) -> str:
        claims.setdefault("ath", _ath(token))
        return _proof(self.key, "GET", self.meta["userinfo_endpoint"], **claims)

    def dpop_token(self) -> str:
        response = self.token(self.code(), self.token_proof())
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


def test_happy_path_with_nonces(op: TestOP, http: httpx2.Client) -> None:
    flow = Flow(op, http, "dpop-happy-path")
    code = flow.code()
    # RFC 9449 §8: the AS answers 400 use_dpop_nonce with a DPoP-Nonce header.
    first = flow.token(code, flow.token_proof())
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce"
    as_nonce = first.headers["dpop-nonce"]
    response = flow.token(code, flow.token_proof(nonce=as_nonce))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    token = body["access_token"]
    auth = (flow.client["client_id"], flow.client["client_secret"])
    info = http.post(flow.meta["introspection_endpoint"], data={"token": token}, auth=auth).json()
    assert info["cnf"] == {"jkt": flow.key.thumbprint()} and info["token_type"] == "DPoP"
    # RFC 9449 §9: the RS has its own nonce, demanded by a 401 DPoP challenge.
    challenge = flow.userinfo(f"DPoP {token}", flow.userinfo_proof(token))
    assert challenge.status_code == 401
    assert challenge.headers["www-authenticate"].startswith('DPoP error="use_dpop_nonce"')
    rs_nonce = challenge.headers["dpop-nonce"]
    assert rs_nonce != as_nonce
    ok = flow.userinfo(f"DPoP {token}", flow.userinfo_proof(token, nonce=rs_nonce))
    assert ok.status_code == 200 and ok.json()["sub"]
    assert [c.status for c in op.calls("dpop-happy-path") if c.endpoint == "userinfo"] == [401, 200]


def test_happy_path_without_nonce(op: TestOP, http: httpx2.Client) -> None:
    flow = Flow(op, http, "dpop-happy-path-no-nonce")
    token = flow.dpop_token()
    # RFC 9449 §7.1: the scheme is case-insensitive.
    response = flow.userinfo(f"dpop {token}", flow.userinfo_proof(token))
    assert response.status_code == 200
    # A proof is required at this test's token endpoint.
    refused = flow.token(flow.code(), None)
    assert refused.status_code == 400 and "requires a DPoP proof" in refused.text


def test_scheme_spelled_dpop_in_the_challenge(op: TestOP, http: httpx2.Client) -> None:
    flow = Flow(op, http, "dpop-scheme-case-insensitivity")
    code = flow.code()
    nonce = flow.token(code, flow.token_proof()).headers["dpop-nonce"]
    token = flow.token(code, flow.token_proof(nonce=nonce)).json()["access_token"]
    challenge = flow.userinfo(f"DPoP {token}", flow.userinfo_proof(token))
    assert challenge.headers["www-authenticate"].startswith('dPoP error="use_dpop_nonce"')
    nonce = challenge.headers["dpop-nonce"]
    assert (
        flow.userinfo(f"DPoP {token}", flow.userinfo_proof(token, nonce=nonce)).status_code == 200
    )


def test_ignored_proof_gives_an_unbound_bearer_token(op: TestOP, http: httpx2.Client) -> None:
    flow = Flow(op, http, "dpop-token-type-bearer")
    response = flow.token(flow.code(), flow.token_proof())
    assert response.json()["token_type"] == "Bearer"
    token = response.json()["access_token"]
    assert flow.userinfo(f"Bearer {token}", None).status_code == 200
    refused = flow.userinfo(f"DPoP {token}", flow.userinfo_proof(token))
    assert refused.status_code == 401 and "not a DPoP-bound" in refused.text


def test_proof_at_par_binds_the_code(op: TestOP, http: httpx2.Client) -> None:
    flow = Flow(op, http, "dpop-happy-path-no-nonce")
    form = {
        "client_id": flow.client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid",
    }
    par = flow.meta["pushed_authorization_request_endpoint"]
    auth = (flow.client["client_id"], flow.client["client_secret"])
    proof = _proof(flow.key, "POST", par)
    pushed = http.post(par, data=form, auth=auth, headers={"DPoP": proof})
    assert pushed.status_code == 201, pushed.text
    code = flow.code(request_uri=pushed.json()["request_uri"])
    # RFC 9449 §10: the token request must be proven with the same key.
    other = _proof(ECKey.generate_key("P-256"), "POST", flow.meta["token_endpoint"])
    refused = flow.token(code, other)
    assert refused.json() == {
        "error": "invalid_dpop_proof",
        "error_description": "the DPoP key is not the code's dpop_jkt",
    }


def _token_endpoint_rows() -> list[Any]:
    rsa = RSAKey.generate_key(2048)
    oct_key = OctKey.generate_key(256)
    future = int(time.time()) + 600
    return [
        pytest.param({"header": {"typ": "JWT"}}, "typ must be dpop+jwt", id="typ"),
        pytest.param(
            {"header": {"jwk": oct_key.as_dict()}, "key": oct_key},
            "alg must be an asymmetric one",
            id="alg-hs256",
        ),
        pytest.param(
            {"header": {"jwk": rsa.as_dict(private=True)}, "key": rsa},
            "jwk must be a public key",
            id="private-jwk",
        ),
        pytest.param({"header": {"jwk": None}}, "jwk header missing", id="no-jwk"),
        pytest.param(
            {"header": {"jwk": ECKey.generate_key("P-256").as_dict(private=False)}},
            "signature does not verify",
            id="other-key",
        ),
        pytest.param({"htm": "GET"}, "htm is not the request method", id="htm"),
        pytest.param({"htu": "USERINFO"}, "htu is not the endpoint URL", id="htu"),
        pytest.param({"htu": "TOKEN?x=1"}, "htu is not the endpoint URL", id="htu-query"),
        pytest.param({"iat": future}, "iat is not recent", id="iat-future"),
        pytest.param({"iat": int(time.time()) - 600}, "iat is not recent", id="iat-old"),
        pytest.param({"jti": None}, "jti claim missing", id="no-jti"),
        pytest.param({"htu": None}, "htu claim missing", id="no-htu"),
    ]


@pytest.mark.parametrize(("change", "rule"), _token_endpoint_rows())
def test_token_endpoint_refuses_a_bad_proof(
    op: TestOP, http: httpx2.Client, change: dict[str, Any], rule: str
) -> None:
    flow = Flow(op, http, "dpop-happy-path-no-nonce")
    change = dict(change)
    key = change.pop("key", flow.key)
    header = change.pop("header", None)
    if isinstance(change.get("htu"), str):
        htu = change["htu"].replace("TOKEN", flow.meta["token_endpoint"])
        change["htu"] = htu.replace("USERINFO", flow.meta["userinfo_endpoint"])
    proof = _proof(key, "POST", flow.meta["token_endpoint"], header=header, **change)
    response = flow.token(flow.code(), proof)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_dpop_proof", "error_description": rule}
    assert op.errors("dpop-happy-path-no-nonce")[-1] == rule


def test_rsa_proof_accepted_and_two_proofs_refused(op: TestOP, http: httpx2.Client) -> None:
    flow = Flow(op, http, "dpop-happy-path-no-nonce")
    flow.key = RSAKey.generate_key(2048)  # a jwk header of over 512 bytes
    assert flow.token(flow.code(), flow.token_proof()).json()["token_type"] == "DPoP"
    # RFC 9449 §4.3 (1): not more than one DPoP header field.
    form = {"grant_type": "authorization_code", "code": flow.code(), "redirect_uri": REDIRECT_URI}
    headers = [("DPoP", flow.token_proof()), ("DPoP", flow.token_proof())]
    auth = (flow.client["client_id"], flow.client["client_secret"])
    twice = http.post(flow.meta["token_endpoint"], data=form, auth=auth, headers=headers)
    assert twice.status_code == 400 and twice.json()["error"] == "invalid_dpop_proof"


def test_token_endpoint_refuses_a_replayed_proof(op: TestOP, http: httpx2.Client) -> None:
    flow = Flow(op, http, "dpop-happy-path-no-nonce")
    proof = flow.token_proof()
    assert flow.token(flow.code(), proof).status_code == 200
    replay = flow.token(flow.code(), proof)
    assert replay.json()["error_description"] == "jti already used"


def test_token_endpoint_refuses_a_wrong_nonce(op: TestOP, http: httpx2.Client) -> None:
    flow = Flow(op, http, "dpop-happy-path")
    response = flow.token(flow.code(), flow.token_proof(nonce="not-the-nonce"))
    assert response.status_code == 400 and response.json()["error"] == "use_dpop_nonce"
    assert response.headers["dpop-nonce"] != "not-the-nonce"


def test_stale_nonce_case_never_accepts(op: TestOP, http: httpx2.Client) -> None:
    flow = Flow(op, http, "dpop-nonce-always-stale")
    code = flow.code()
    first = flow.token(code, flow.token_proof())
    nonce = first.headers["dpop-nonce"]
    again = flow.token(code, flow.token_proof(nonce=nonce))
    assert again.json()["error"] == "use_dpop_nonce"
    assert again.headers["dpop-nonce"] != nonce


def _resource_rows() -> list[Any]:
    return [
        pytest.param("Bearer", {}, "invalid_token", "without the DPoP scheme", id="bearer-use"),
        pytest.param("DPoP", None, "invalid_dpop_proof", "DPoP proof missing", id="no-proof"),
        pytest.param(
            "DPoP", {"ath": "AAAA"}, "invalid_dpop_proof", "ath is not the", id="wrong-ath"
        ),
        pytest.param("DPoP", {"ath": None}, "invalid_dpop_proof", "ath is not the", id="no-ath"),
        pytest.param("DPoP", {"htm": "POST"}, "invalid_dpop_proof", "htm is not", id="htm"),
        pytest.param("DPoP", {"other_key": True}, "invalid_dpop_proof", "cnf.jkt", id="other-key"),
    ]


@pytest.mark.parametrize(("scheme", "change", "error", "rule"), _resource_rows())
def test_userinfo_refuses_a_bad_dpop_use(
    op: TestOP,
    http: httpx2.Client,
    scheme: str,
    change: dict[str, Any] | None,
    error: str,
    rule: str,
) -> None:
    flow = Flow(op, http, "dpop-happy-path-no-nonce")
    token = flow.dpop_token()
    proof = None
    if change is not None:
        change = dict(change)
        if change.pop("other_key", False):
            flow.key = ECKey.generate_key("P-256")
        htm = change.pop("htm", "GET")
        ath = change.pop("ath", _ath(token))
        proof = _proof(flow.key, htm, flow.meta["userinfo_endpoint"], ath=ath)
    response = flow.userinfo(f"{scheme} {token}", proof)
    assert response.status_code == 401
    # RFC 9449 §7.1: the RS challenges in the DPoP scheme, naming the error.
    assert response.headers["www-authenticate"].startswith(f'DPoP error="{error}"')
    assert rule in response.json()["error_description"]
