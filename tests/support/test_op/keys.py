"""The test OP's signing keys, its published JWK set, and JWS signing with any alg.

Default layout (as the conformance suite's OIDCCGenerateServerJWKs, minus secp256k1): 2 RSA,
2 EC P-256 and 1 Ed25519 signing keys, each with a random ``kid`` and no ``alg``. Cases change the
layout: ``single_no_kid`` (one key per type, no kid), ``multiple_no_kid`` (three per type, no kid)
and ``unparseable`` (the RSA signing key plus two keys no library can parse, RFC 7517 §5).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc._rfc7515.model import JWSAlgModel
from joserfc.errors import UnsupportedAlgorithmError
from joserfc.jwk import ECKey, KeyParameters, OctKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

Key = RSAKey | ECKey | OKPKey

ALG_KTY = {
    "RS256": "RSA",
    "PS256": "RSA",
    "ES256": "EC",
    "EdDSA": "OKP",
    "Ed25519": "OKP",
}


class QuietRegistry(JWSRegistry):
    """A JWS registry allowing exactly the listed algs, without joserfc's deprecation warnings.

    The test OP must sign ``alg: none`` and ``EdDSA`` on purpose; joserfc warns about both, and
    ``warnings.catch_warnings`` is not thread-safe (the OP runs in a thread next to pytest).
    """

    def get_alg(self, name: str) -> JWSAlgModel:
        """The alg model, if listed; never warns."""
        if name not in self.algorithms or not self.allowed or name not in self.allowed:
            raise UnsupportedAlgorithmError(f"Algorithm of '{name}' is not allowed")
        return self.algorithms[name]


def registry_for(*algs: str) -> QuietRegistry:
    """A registry allowing only ``algs``."""
    return QuietRegistry(algorithms=list(algs))


def _kid() -> str:
    return secrets.token_urlsafe(12)


def _generate(kty: str, with_kid: bool) -> Key:
    params: KeyParameters = {"use": "sig"}
    if with_kid:
        params["kid"] = _kid()
    if kty == "RSA":
        return RSAKey.generate_key(2048, parameters=params)
    if kty == "EC":
        return ECKey.generate_key("P-256", parameters=params)
    return OKPKey.generate_key("Ed25519", parameters=params)


@dataclass
class OPKeys:
    """The OP's private signing keys and the JWK set it publishes at ``jwks_uri``."""

    layout: str
    keys: list[Key] = field(default_factory=list)
    extra_published: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def generate(cls, layout: str) -> OPKeys:
        """Fresh keys with fresh kids for one layout (see the module docstring)."""
        if layout == "single_no_kid":
            keys = [_generate(kty, False) for kty in ("RSA", "EC", "OKP")]
        elif layout == "multiple_no_kid":
            keys = [_generate(kty, False) for kty in ("RSA", "EC", "OKP") for _ in range(3)]
        elif layout == "unparseable":
            return cls(layout, [_generate("RSA", True)], _unparseable_keys())
        else:
            kinds = ("RSA", "RSA", "EC", "EC", "OKP")
            keys = [_generate(kty, True) for kty in kinds]
        return cls(layout, keys)

    def jwks(self) -> dict[str, Any]:
        """The public JWK set (RFC 7517 §5)."""
        published = [key.as_dict(private=False) for key in self.keys]
        return {"keys": published + list(self.extra_published)}

    def kids(self) -> list[str]:
        """The kids published (for tests of rotation)."""
        return [str(key.kid) for key in self.keys if key.kid]

    def key_for(self, alg: str) -> Key:
        """A signing key for ``alg``: the first of its type, or a random one without kids."""
        kty = ALG_KTY.get(alg)
        candidates = [key for key in self.keys if key.key_type == kty]
        if not candidates:
            raise ValueError(f"no signing key for alg {alg}")
        if self.layout == "multiple_no_kid":
            return secrets.choice(candidates)
        return candidates[0]


def _unparseable_keys() -> list[dict[str, Any]]:
    filler = base64.urlsafe_b64encode(secrets.token_bytes(48)).rstrip(b"=").decode()
    return [
        {"kty": "AKP", "alg": "ML-DSA-99", "pub": filler, "kid": _kid(), "use": "sig"},
        {"kty": "XYZ-UNKNOWN", "crv": "none", "x": filler, "kid": _kid(), "use": "sig"},
    ]


def sign(
    claims: dict[str, Any],
    *,
    alg: str,
    keys: OPKeys,
    client_secret: str | None,
    with_kid: bool = True,
    typ: str | None = "JWT",
) -> str:
    """A compact JWS over ``claims`` with ``alg`` (``none``, HS256 keyed with the client secret,
    or an OP key of the matching type), with the key's kid in the header when asked."""
    header: dict[str, Any] = {"alg": alg}
    if typ:
        header["typ"] = typ
    key: Key | OctKey
    if alg == "none":
        key = OctKey.import_key(secrets.token_bytes(32))
    elif alg.startswith("HS"):
        if not client_secret:
            raise ValueError("HS* signing needs a client secret")
        key = OctKey.import_key(client_secret)
    else:
        key = keys.key_for(alg)
        if with_kid and key.kid:
            header["kid"] = key.kid
    return jwt.encode(header, claims, key, algorithms=[alg], registry=registry_for(alg))


def half_hash(value: str, alg: str) -> str:
    """at_hash / c_hash: left half of the hash of the ASCII value, base64url (OIDC Core §3.3.2.11).

    The hash follows the alg's size; Ed25519 uses SHA-512 (OIDC Core errata).
    """
    bits = {"384": hashlib.sha384, "512": hashlib.sha512}
    digest_fn = hashlib.sha256
    for size, fn in bits.items():
        if alg.endswith(size):
            digest_fn = fn
    if alg in ("EdDSA", "Ed25519"):
        digest_fn = hashlib.sha512
    digest = digest_fn(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")
