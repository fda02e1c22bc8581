"""JWS algorithms and the keys they need (RFC 7518 §3, RFC 8037 §3.1, RFC 9864).

The one table of the core: which key type and curve each asymmetric ``alg`` takes, the
HMAC algorithms, the smallest RSA key accepted, and the curves of ECDH-ES key agreement.
``core/jwks.py`` (verification), ``core/dpop.py`` (proofs), ``core/client_auth.py``
(assertions) and ``core/jwe.py`` (decryption) read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from joserfc.jwk import Key

__all__ = [
    "ECDH_CURVES",
    "EC_ALG_FOR_CURVE",
    "HMAC_ALGS",
    "KEY_FOR_ALG",
    "MIN_RSA_BITS",
    "key_fits_alg",
]

#: Key type and curves that each asymmetric JWS ``alg`` needs (RFC 7518 §3.3-3.5,
#: RFC 8812 §3.2 for ES256K, RFC 8037 §3.1 for EdDSA, RFC 9864 §2 for Ed25519 / Ed448).
KEY_FOR_ALG: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType(
    {
        **{f"{p}{n}": ("RSA", ()) for p in ("RS", "PS") for n in (256, 384, 512)},
        "ES256": ("EC", ("P-256",)),
        "ES384": ("EC", ("P-384",)),
        "ES512": ("EC", ("P-521",)),
        "ES256K": ("EC", ("secp256k1",)),
        "EdDSA": ("OKP", ("Ed25519", "Ed448")),
        "Ed25519": ("OKP", ("Ed25519",)),
        "Ed448": ("OKP", ("Ed448",)),
    }
)
#: The ECDSA algorithm of each EC curve (RFC 7518 §3.4: one curve per algorithm).
EC_ALG_FOR_CURVE: Mapping[str, str] = MappingProxyType(
    {curves[0]: alg for alg, (kty, curves) in KEY_FOR_ALG.items() if kty == "EC"}
)
#: The MAC algorithms (RFC 7518 §3.2), keyed with the client secret (OIDC Core §10.1).
HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})
#: RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms."
MIN_RSA_BITS = 2048
#: The curves of ECDH-ES key agreement with EC keys (RFC 7518 §4.6, §6.2.1.1).
ECDH_CURVES = ("P-256", "P-384", "P-521")


def key_fits_alg(key: Key, alg: str) -> bool:
    """True when ``key`` has the key type and curve that ``alg`` needs (not its size or use)."""
    kty, curves = KEY_FOR_ALG.get(alg, ("", ()))
    if key.key_type != kty:
        return False
    return not curves or getattr(key, "curve_name", None) in curves
