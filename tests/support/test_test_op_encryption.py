"""The test OP's encrypted ID tokens and userinfo (OIDC Core §10.2, Registration §2).

Decrypted here with joserfc alone, never with oidc_rp.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx2
import pytest
from joserfc import jwe
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import OctKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .plain_rp import (
    REDIRECT_URI,
    _authorize,
    _code_exchange,
    _code_flow_id_token,
    _discover,
    _register,
    _token,
    _verify,
)
from .test_op import TestOP, serve_app
from .test_op.edits import unverified_claims
from .test_op.encryption import corrupt_tag

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
