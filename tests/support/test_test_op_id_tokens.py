"""The test OP's ID token cases: claim edits, signatures, key layouts in the JWKS, rotation.

Each case must really misbehave as the conformance suite expects (OIDC Core §3.1.3.7, §10.1).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx2
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import OctKey, RSAKey

from .plain_rp import (
    _authorize,
    _code_exchange,
    _code_flow_id_token,
    _discover,
    _register,
    _token,
    _verify,
)
from .test_op import TestOP
from .test_op.edits import corrupt_signature, unverified_claims, unverified_header


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


def test_refresh_token_invalid_sub(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "refresh-token-invalid-sub")
    meta = _discover(http, op, "refresh-token-invalid-sub")
    body = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])
    first_sub = unverified_claims(body["id_token"])["sub"]
    refreshed = _token(
        http, meta, client, grant_type="refresh_token", refresh_token=body["refresh_token"]
    ).json()
    assert unverified_claims(refreshed["id_token"])["sub"] == first_sub + "1"


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


def test_rotation_just_before_signing(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "signing-key-rotation-just-before-signing")
    meta = _discover(http, op, "signing-key-rotation-just-before-signing")
    early_kids = {k["kid"] for k in http.get(meta["jwks_uri"]).json()["keys"]}
    token = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])[
        "id_token"
    ]
    assert unverified_header(token)["kid"] not in early_kids
    assert _verify(http, meta, token)["sub"]
