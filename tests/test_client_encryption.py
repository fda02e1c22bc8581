"""RelyingParty against node-oidc-provider with encryption on: encrypted ID tokens and
UserInfo (OIDC Core §10.2, Registration §2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from oidc_rp.client import RelyingParty
from oidc_rp.core.authorize import AuthorizationOptions
from oidc_rp.errors import IDTokenError
from oidc_rp.http import Exchange
from oidc_rp.settings import Settings
from support.node_op import NodeOP, start_node_op
from support.node_rp import _client, _login, _settings

pytestmark = pytest.mark.integration

ENC_KEY = RSAKey.generate_key(2048, parameters={"kid": "rp-enc"}, private=True)


ENC_JWKS = {"keys": [{**ENC_KEY.as_dict(private=False), "use": "enc", "alg": "RSA-OAEP-256"}]}


ENC_CLIENTS = [
    _client("plain"),
    _client("enc-idt", jwks=ENC_JWKS, id_token_encrypted_response_alg="RSA-OAEP-256"),
    _client(
        "enc-ui",
        jwks=ENC_JWKS,
        userinfo_encrypted_response_alg="RSA-OAEP-256",
        userinfo_encrypted_response_enc="A256GCM",
        userinfo_signed_response_alg="RS256",
    ),
    _client(
        "enc-kw",
        id_token_encrypted_response_alg="A128KW",
        userinfo_encrypted_response_alg="dir",
        userinfo_encrypted_response_enc="A128CBC-HS256",
        userinfo_signed_response_alg="RS256",
    ),
]


@pytest.fixture(scope="module")
def enc_op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeOP]:
    node_op = start_node_op(
        ENC_CLIENTS,
        tmp_dir=tmp_path_factory.mktemp("node-op-enc"),
        extra={"features": {"encryption": {"enabled": True}}},
    )
    yield node_op
    node_op.stop()


def _enc_settings(op: NodeOP, tmp_path: Path, client_id: str | None, **values: Any) -> Settings:
    return _settings(op, tmp_path, client_id=client_id, **values)


ENC_KEY_JSON = json.dumps(ENC_KEY.as_dict(private=True))


async def test_encrypted_id_token_rsa_oaep_256(enc_op: NodeOP, tmp_path: Path) -> None:
    settings = _enc_settings(
        enc_op,
        tmp_path,
        "enc-idt",
        id_token_encrypted_response_alg="RSA-OAEP-256",
        client_encryption_key=ENC_KEY_JSON,
    )
    party = RelyingParty(settings)
    try:
        published = party.public_jwks()["keys"]
        assert [(k["kid"], k["use"], k["alg"]) for k in published] == [
            ("rp-enc", "enc", "RSA-OAEP-256")
        ]
        assert "d" not in published[0]
        login = await _login(party)
        assert login.sub == "alice" and login.userinfo is not None
        # The session keeps the signed inner JWT (RP-Initiated Logout §2: id_token_hint).
        assert login.tokens.id_token is not None and login.tokens.id_token.count(".") == 2
        # OIDC Core §12.2: the refreshed ID token comes encrypted too and is checked.
        exchanges: list[Exchange] = []
        refreshed = await party.refresh(login.tokens, trace=exchanges.append)
        assert '"id_token"' in exchanges[-1].response_body  # redacted, but it was there
        assert refreshed.id_token is not None and refreshed.id_token.count(".") == 2
    finally:
        await party.aclose()


async def test_encrypted_userinfo_signed_then_encrypted(enc_op: NodeOP, tmp_path: Path) -> None:
    settings = _enc_settings(
        enc_op,
        tmp_path,
        "enc-ui",
        userinfo_encrypted_response_alg="RSA-OAEP-256",
        userinfo_encrypted_response_enc="A256GCM",
        userinfo_signed_response_alg="RS256",
        client_encryption_key=ENC_KEY_JSON,
    )
    party = RelyingParty(settings)
    try:
        login = await _login(party, AuthorizationOptions(scope="openid email"))
        assert login.userinfo is not None and login.userinfo["email"] == "alice@example.com"
        assert login.userinfo["iss"] == enc_op.issuer
    finally:
        await party.aclose()


async def test_encryption_with_keys_derived_from_the_client_secret(
    enc_op: NodeOP, tmp_path: Path
) -> None:
    settings = _enc_settings(
        enc_op,
        tmp_path,
        "enc-kw",
        id_token_encrypted_response_alg="A128KW",
        userinfo_encrypted_response_alg="dir",
        userinfo_signed_response_alg="RS256",
    )
    party = RelyingParty(settings)
    try:
        login = await _login(party, AuthorizationOptions(scope="openid email"))
        assert login.sub == "alice"
        assert login.userinfo is not None and login.userinfo["email"] == "alice@example.com"
    finally:
        await party.aclose()


@pytest.mark.parametrize(
    ("client_id", "values", "rule"),
    [
        # Encryption negotiated (in our settings) but the OP's client does not encrypt.
        (
            "plain",
            {"id_token_encrypted_response_alg": "A128KW"},
            "id_token.jwe: not encrypted, although encryption was negotiated",
        ),
        # The OP encrypts, but this RP expects nothing of the kind.
        ("enc-kw", {}, "id_token.jwe: encrypted, but no encryption is configured"),
        # The OP encrypts with A128KW; the RP is configured for another algorithm.
        (
            "enc-kw",
            {"id_token_encrypted_response_alg": "A256KW"},
            "id_token.jwe.alg: 'A128KW' is not the negotiated 'A256KW'",
        ),
    ],
    ids=["unencrypted", "unexpected-jwe", "other-alg"],
)
async def test_encrypted_id_token_mismatches_are_rejected(
    enc_op: NodeOP, tmp_path: Path, client_id: str, values: dict[str, Any], rule: str
) -> None:
    party = RelyingParty(_enc_settings(enc_op, tmp_path, client_id, **values))
    try:
        with pytest.raises(IDTokenError) as info:
            await _login(party, AuthorizationOptions(scope="openid"))
        assert str(info.value).startswith(rule)
    finally:
        await party.aclose()


async def test_dynamic_registration_asks_for_encryption(enc_op: NodeOP, tmp_path: Path) -> None:
    settings = _enc_settings(
        enc_op,
        tmp_path,
        None,
        client_secret=None,
        id_token_encrypted_response_alg="RSA-OAEP",
        id_token_encrypted_response_enc="A256GCM",
        userinfo_encrypted_response_alg="RSA-OAEP",
        # node-oidc-provider wants it with userinfo encryption (signed, then encrypted).
        userinfo_signed_response_alg="RS256",
        client_encryption_key=ENC_KEY_JSON,
    )
    party = RelyingParty(settings)
    try:
        registration = await party.register()
        assert registration.raw["id_token_encrypted_response_alg"] == "RSA-OAEP"
        assert registration.raw["id_token_encrypted_response_enc"] == "A256GCM"
        assert registration.raw["userinfo_encrypted_response_enc"] == "A128CBC-HS256"
        assert registration.raw["jwks"]["keys"][0]["use"] == "enc"
        login = await _login(party, AuthorizationOptions(scope="openid email"))
        assert login.userinfo is not None and login.userinfo["email"] == "alice@example.com"
    finally:
        await party.aclose()
