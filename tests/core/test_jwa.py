"""core/jwa.py: the JWS algorithm table (RFC 7518 §3, RFC 8037 §3.1, RFC 9864)."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey, Key, OctKey, OKPKey, RSAKey

from oidc_rp.core.jwa import EC_ALG_FOR_CURVE, HMAC_ALGS, KEY_FOR_ALG, key_fits_alg

RSA = RSAKey.generate_key(2048)
P256 = ECKey.generate_key("P-256")
P384 = ECKey.generate_key("P-384")
K256 = ECKey.generate_key("secp256k1")
ED25519 = OKPKey.generate_key("Ed25519")
ED448 = OKPKey.generate_key("Ed448")
X25519 = OKPKey.generate_key("X25519")
OCT = OctKey.generate_key(256)


def test_each_ec_curve_has_its_one_algorithm() -> None:
    assert dict(EC_ALG_FOR_CURVE) == {
        "P-256": "ES256",
        "P-384": "ES384",
        "P-521": "ES512",
        "secp256k1": "ES256K",
    }


@pytest.mark.parametrize(
    ("key", "alg", "fits"),
    [
        (RSA, "RS256", True),
        (RSA, "PS512", True),
        (P256, "ES256", True),
        (K256, "ES256K", True),
        (ED25519, "Ed25519", True),
        (ED448, "Ed448", True),
        (ED25519, "EdDSA", True),
        (ED448, "EdDSA", True),
        (P256, "ES384", False),
        (P384, "ES256", False),
        (K256, "ES256", False),
        (ED25519, "Ed448", False),
        (ED448, "Ed25519", False),
        (X25519, "EdDSA", False),
        (RSA, "ES256", False),
        (P256, "RS256", False),
        (OCT, "HS256", False),
        (RSA, "none", False),
    ],
)
def test_key_fits_alg(key: Key, alg: str, fits: bool) -> None:
    assert key_fits_alg(key, alg) is fits


def test_hmac_algorithms_need_no_key_of_the_jwk_set() -> None:
    assert {"HS256", "HS384", "HS512"} == HMAC_ALGS
    assert not HMAC_ALGS & set(KEY_FOR_ALG)
