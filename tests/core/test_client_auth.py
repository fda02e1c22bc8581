"""Tests for oidc_rp.core.client_auth (RFC 6749 §2.3, OIDC Core §9, RFC 7523)."""

from __future__ import annotations

import base64
import json
import warnings
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, OctKey, OKPKey, RSAKey

from oidc_rp.core.client_auth import (
    CLIENT_ASSERTION_TYPE,
    ClientAuthentication,
    basic_authorization,
    client_auth_parameters,
    default_signing_alg,
    secret_key,
    sign_jwt,
)

CLIENT_ID = "client-123"
SECRET = "a-client-secret-of-sufficient-length"
AUDIENCE = "https://op.example.com/token"
NOW = 1_700_000_000
JTI = "jti-1"

RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
EC256 = ECKey.generate_key("P-256", parameters={"kid": "ec-256"})
EC384 = ECKey.generate_key("P-384")
EC521 = ECKey.generate_key("P-521")
ED = OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1"})
ED448 = OKPKey.generate_key("Ed448", parameters={"kid": "ed448-1"})


def params(auth: ClientAuthentication) -> tuple[dict[str, str], dict[str, str]]:
    return client_auth_parameters(auth, audience=AUDIENCE, now=NOW, jti=JTI)


def decode_header(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))))


@pytest.mark.parametrize(
    ("client_id", "secret", "expected_pair"),
    [
        pytest.param("client", "secret", "client:secret", id="plain"),
        # RFC 6749 §2.3.1: form-urlencode each part first (space -> +, : -> %3A).
        pytest.param(
            "id:with colon", "p@ss w/rd+%", "id%3Awith+colon:p%40ss+w%2Frd%2B%25", id="enc"
        ),
        pytest.param("ünï", "sécret", "%C3%BCn%C3%AF:s%C3%A9cret", id="non-ascii"),
    ],
)
def test_client_secret_basic(client_id: str, secret: str, expected_pair: str) -> None:
    auth = ClientAuthentication("client_secret_basic", client_id, client_secret=secret)
    headers, form = params(auth)
    assert form == {}
    assert headers == {
        "authorization": "Basic " + base64.b64encode(expected_pair.encode()).decode()
    }
    assert basic_authorization(client_id, secret) == headers["authorization"]


def test_client_secret_post() -> None:
    auth = ClientAuthentication("client_secret_post", CLIENT_ID, client_secret=SECRET)
    assert params(auth) == ({}, {"client_id": CLIENT_ID, "client_secret": SECRET})


def test_none_sends_only_client_id() -> None:
    auth = ClientAuthentication("none", CLIENT_ID, client_secret=SECRET, private_key=RSA)
    assert params(auth) == ({}, {"client_id": CLIENT_ID})


def check_assertion(form: dict[str, str], key: Key, alg: str) -> dict[str, Any]:
    assert set(form) == {"client_assertion_type", "client_assertion"}
    assert form["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # joserfc frowns on EdDSA
        token = jwt.decode(form["client_assertion"], key, algorithms=[alg])
    assert token.header["alg"] == alg
    assert token.claims == {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": AUDIENCE,
        "jti": JTI,
        "iat": NOW,
        "exp": NOW + 60,
    }
    return dict(token.header)


@pytest.mark.parametrize(
    ("signing_alg", "alg"),
    [(None, "HS256"), ("HS384", "HS384"), ("HS512", "HS512")],
)
def test_client_secret_jwt(signing_alg: str | None, alg: str) -> None:
    auth = ClientAuthentication("client_secret_jwt", CLIENT_ID, SECRET, signing_alg=signing_alg)
    headers, form = params(auth)
    assert headers == {}
    check_assertion(form, OctKey.import_key(SECRET), alg)


def test_client_secret_jwt_with_a_short_secret_raises_no_warning() -> None:
    auth = ClientAuthentication("client_secret_jwt", CLIENT_ID, "short")
    _, form = params(auth)
    assert form["client_assertion"].count(".") == 2


@pytest.mark.parametrize(
    ("key", "signing_alg", "alg", "kid"),
    [
        pytest.param(RSA, None, "RS256", "rsa-1", id="rsa-default"),
        pytest.param(RSA, "PS256", "PS256", "rsa-1", id="rsa-ps256"),
        pytest.param(EC256, None, "ES256", "ec-256", id="p256"),
        pytest.param(EC384, None, "ES384", None, id="p384-no-kid"),
        pytest.param(EC521, None, "ES512", None, id="p521"),
        # RFC 9864 §2: the fully specified names by default; EdDSA only when asked for.
        pytest.param(ED, None, "Ed25519", "ed-1", id="ed25519"),
        pytest.param(ED448, None, "Ed448", "ed448-1", id="ed448"),
        pytest.param(ED, "EdDSA", "EdDSA", "ed-1", id="ed25519-eddsa-asked"),
    ],
)
def test_private_key_jwt(key: Key, signing_alg: str | None, alg: str, kid: str | None) -> None:
    auth = ClientAuthentication(
        "private_key_jwt", CLIENT_ID, private_key=key, signing_alg=signing_alg
    )
    headers, form = params(auth)
    assert headers == {}
    header = check_assertion(form, key, alg)
    assert header.get("kid") == kid


PUBLIC_RSA = RSAKey.import_key(RSA.as_dict(private=False))


@pytest.mark.parametrize(
    ("auth", "rule"),
    [
        pytest.param(
            ClientAuthentication("secret_basic", CLIENT_ID, SECRET),
            "client_auth.method",
            id="unknown",
        ),
        pytest.param(
            ClientAuthentication("client_secret_basic", CLIENT_ID),
            "client_auth.client_secret",
            id="basic-no-secret",
        ),
        pytest.param(
            ClientAuthentication("client_secret_post", CLIENT_ID, ""),
            "client_auth.client_secret",
            id="post-empty",
        ),
        pytest.param(
            ClientAuthentication("client_secret_jwt", CLIENT_ID),
            "client_auth.client_secret",
            id="jwt-no-secret",
        ),
        pytest.param(
            ClientAuthentication("client_secret_jwt", CLIENT_ID, SECRET, signing_alg="RS256"),
            "client_auth.signing_alg",
            id="jwt-asymmetric-alg",
        ),
        pytest.param(
            ClientAuthentication("private_key_jwt", CLIENT_ID, SECRET),
            "client_auth.private_key",
            id="pk-no-key",
        ),
        pytest.param(
            ClientAuthentication("private_key_jwt", CLIENT_ID, private_key=PUBLIC_RSA),
            "client_auth.private_key",
            id="pk-public-only",
        ),
        pytest.param(
            ClientAuthentication("private_key_jwt", CLIENT_ID, private_key=secret_key(SECRET)),
            "client_auth.private_key",
            id="pk-symmetric",
        ),
    ],
)
def test_client_auth_parameters_rejects(auth: ClientAuthentication, rule: str) -> None:
    with pytest.raises(ValueError, match=rf"^{rule}: "):
        params(auth)


def test_repr_hides_the_secret() -> None:
    auth = ClientAuthentication("client_secret_basic", CLIENT_ID, SECRET, private_key=RSA)
    assert SECRET not in repr(auth)
    assert "client_secret_basic" in repr(auth)


@pytest.mark.parametrize(
    ("key", "alg"),
    [
        (RSA, "RS256"),
        (EC256, "ES256"),
        (EC384, "ES384"),
        (EC521, "ES512"),
        (ED, "Ed25519"),
        (ED448, "Ed448"),
        (secret_key(SECRET), "HS256"),
    ],
)
def test_default_signing_alg(key: Key, alg: str) -> None:
    assert default_signing_alg(key) == alg


def test_default_signing_alg_refuses_key_agreement_curves() -> None:
    with pytest.raises(ValueError, match=r"^client_auth\.private_key: 'X25519' is not a signing"):
        default_signing_alg(OKPKey.generate_key("X25519"))


def test_default_signing_alg_for_secp256k1() -> None:
    assert default_signing_alg(ECKey.generate_key("secp256k1")) == "ES256K"


def test_default_signing_alg_rejects_unknown_curve() -> None:
    class FutureCurveKey(ECKey):
        @property
        def curve_name(self) -> str:
            return "P-999"

    key = FutureCurveKey.import_key(EC256.as_dict())
    with pytest.raises(ValueError, match=r"^client_auth\.private_key: unsupported curve"):
        default_signing_alg(key)


def test_default_signing_alg_rejects_other_key_types() -> None:
    class Strange:
        key_type = "strange"

    with pytest.raises(ValueError, match=r"^client_auth\.private_key: unsupported key type"):
        default_signing_alg(Strange())  # type: ignore[arg-type]


def test_sign_jwt_none_is_unsigned() -> None:
    token = sign_jwt({"a": 1}, None, "none", header={"typ": "x"})
    _, payload, signature = token.split(".")
    assert signature == ""
    assert decode_header(token) == {"typ": "x", "alg": "none"}
    assert json.loads(base64.urlsafe_b64decode(payload + "==")) == {"a": 1}


@pytest.mark.parametrize(
    ("key", "alg", "rule"),
    [
        pytest.param(RSA, "none", "jwt.alg", id="none-with-key"),
        pytest.param(None, "RS256", "jwt.key", id="rs256-without-key"),
    ],
)
def test_sign_jwt_rejects(key: Key | None, alg: str, rule: str) -> None:
    with pytest.raises(ValueError, match=rf"^{rule}: "):
        sign_jwt({"a": 1}, key, alg)
