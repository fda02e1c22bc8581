"""The RP's own keys: inline PEM or JWK, or a file path; the public JWK set for /jwks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa, x25519
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from oidc_rp.errors import ConfigurationError
from oidc_rp.keys import default_alg, load_encryption_key, load_private_key, public_jwks

PKCS8 = serialization.PrivateFormat.PKCS8
PEM = serialization.Encoding.PEM
NO_PASSWORD = serialization.NoEncryption()


def _pem(key: Any) -> str:
    return str(key.private_bytes(PEM, PKCS8, NO_PASSWORD).decode())


RSA = rsa.generate_private_key(65537, 2048)
EC256 = ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize(
    ("value", "kind", "alg"),
    [
        (_pem(RSA), RSAKey, "RS256"),
        (_pem(EC256), ECKey, "ES256"),
        (_pem(ec.generate_private_key(ec.SECP384R1())), ECKey, "ES384"),
        (_pem(ec.generate_private_key(ec.SECP521R1())), ECKey, "ES512"),
        (
            json.dumps(OKPKey.generate_key("Ed25519", private=True).as_dict(private=True)),
            OKPKey,
            "Ed25519",
        ),
        (_pem(ed448.Ed448PrivateKey.generate()), OKPKey, "Ed448"),
        (
            json.dumps(ECKey.generate_key("P-256", private=True).as_dict(private=True)),
            ECKey,
            "ES256",
        ),
        ("  \n" + _pem(RSA) + "\n", RSAKey, "RS256"),
    ],
)
def test_load_inline_key(value: str, kind: type, alg: str) -> None:
    key = load_private_key("request_object_key", value)
    assert isinstance(key, kind)
    assert key.is_private
    assert key.kid  # a thumbprint kid when the key had none
    assert default_alg(key) == alg


def test_load_key_from_file(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text(_pem(EC256))
    key = load_private_key("client_private_key", str(path))
    assert isinstance(key, ECKey)


def test_kid_of_a_jwk_is_kept() -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "rp-1"}, private=True)
    jwk = key.as_dict(private=True)
    assert load_private_key("k", json.dumps(jwk)).kid == "rp-1"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("/nonexistent/key.pem", "k: cannot read key file: No such file or directory"),
        ('{"kty": "EC",', "k: not a valid JWK (bad JSON)"),
        (
            "-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----",
            "k: not a private RSA, EC or OKP key",
        ),
        (
            json.dumps(ECKey.generate_key("P-256", private=True).as_dict(private=False)),
            "k: not a private RSA, EC or OKP key",
        ),
        (
            str(
                RSA.public_key()
                .public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                .decode()
            ),
            "k: not a private RSA, EC or OKP key",
        ),
        (
            json.dumps(OctKey.generate_key(256).as_dict(private=True)),
            "k: not a private RSA, EC or OKP key",
        ),
        (_pem(rsa.generate_private_key(65537, 1024)), "k: RSA key shorter than 2048 bits"),
        (_pem(x25519.X25519PrivateKey.generate()), "k: X25519 keys cannot sign"),
    ],
)
def test_bad_key(value: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_private_key("k", value)
    assert info.value.message == problem


def test_error_never_contains_the_key() -> None:
    jwk = ECKey.generate_key("P-256", private=True).as_dict(private=True)
    broken = json.dumps(jwk)[:-1]
    with pytest.raises(ConfigurationError) as info:
        load_private_key("k", broken)
    assert str(jwk["d"]) not in info.value.message


def test_public_jwks_has_only_public_parts_and_no_duplicates() -> None:
    rsa_key = load_private_key("a", _pem(RSA))
    ec_key = load_private_key("b", _pem(EC256))
    jwks = public_jwks(rsa_key, None, ec_key, rsa_key)
    assert [k["kty"] for k in jwks["keys"]] == ["RSA", "EC"]
    for jwk in jwks["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)
        assert jwk["use"] == "sig"
        assert jwk["kid"]
    assert [k["alg"] for k in jwks["keys"]] == ["RS256", "ES256"]


def test_public_jwks_of_nothing_is_empty() -> None:
    assert public_jwks(None) == {"keys": []}


def test_encryption_key_is_published_for_enc_with_its_alg() -> None:
    signing = load_private_key("a", _pem(EC256))
    encryption = load_encryption_key("e", _pem(RSA))
    jwks = public_jwks(signing, encryption_key=encryption, encryption_alg="RSA-OAEP-256")
    assert [(k["kty"], k["use"], k["alg"]) for k in jwks["keys"]] == [
        ("EC", "sig", "ES256"),
        ("RSA", "enc", "RSA-OAEP-256"),
    ]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwks["keys"][1])
    # Two algorithms use the key: no alg, so that neither is excluded (RFC 7517 §4.4).
    without_alg = public_jwks(encryption_key=encryption)["keys"][0]
    assert without_alg["use"] == "enc" and "alg" not in without_alg


def test_a_signing_key_is_not_also_an_encryption_key() -> None:
    key = load_private_key("a", _pem(RSA))
    with pytest.raises(ConfigurationError, match=r"^client_encryption_key: must not be a signing"):
        public_jwks(key, encryption_key=load_encryption_key("e", _pem(RSA)))
    assert key.kid  # same material, same thumbprint kid


def test_encryption_key_must_be_rsa_or_ec() -> None:
    ed = json.dumps(OKPKey.generate_key("Ed25519", private=True).as_dict(private=True))
    with pytest.raises(ConfigurationError, match=r"^e: not a private RSA or EC key$"):
        load_encryption_key("e", ed)
