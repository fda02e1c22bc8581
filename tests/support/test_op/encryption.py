"""Encrypted ID tokens and userinfo responses (OIDC Core §10.2, Registration §2, RFC 7516).

When the client registered ``id_token_encrypted_response_alg`` (``userinfo_...``), the OP signs
first and then encrypts (a Nested JWT, ``cty: JWT``); an unsigned userinfo response is the JSON
text of the claims, encrypted. ``enc`` defaults to A128CBC-HS256 (Registration §2). The key is
the client's public key with ``use: enc`` (or no ``use``) of the alg's key type, from its
``jwks`` or ``jwks_uri``, its ``kid`` in the header; for the symmetric algs, the key derived
from the client secret (§10.2: left-truncated SHA-256/384/512 of its UTF-8 octets).

The case's ``id_token_jwe_fault`` breaks the ID tokens on purpose: sent unencrypted, every
authentication tag byte XORed with 0x5A, or key wrapping with RSA1_5 (FAPI forbids it).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Literal

from joserfc import jwe
from joserfc._rfc7516.models import JWEAlgModel
from joserfc.errors import UnsupportedAlgorithmError
from joserfc.jwk import ECKey, OctKey, RSAKey

from .errors import OPFailure
from .state import TestState

Kind = Literal["id_token", "userinfo"]
DEFAULT_ENC = "A128CBC-HS256"
#: Key management the OP offers (Discovery §3 ``*_encryption_alg_values_supported``).
ASYMMETRIC_ALGS = {
    "RSA-OAEP": "RSA",
    "RSA-OAEP-256": "RSA",
    "ECDH-ES": "EC",
    "ECDH-ES+A128KW": "EC",
    "ECDH-ES+A256KW": "EC",
}
#: Symmetric key management: the key length in bits (``dir``: the length of ``enc``'s key).
SYMMETRIC_ALGS: dict[str, int | None] = {"A128KW": 128, "A256KW": 256, "dir": None}
#: Content encryption the OP offers: the content encryption key length in bits.
CONTENT_ENCRYPTION = {"A128CBC-HS256": 256, "A256CBC-HS512": 512, "A128GCM": 128, "A256GCM": 256}
ENCRYPTION_ALGS = [*ASYMMETRIC_ALGS, *SYMMETRIC_ALGS]


class QuietJWERegistry(jwe.JWERegistry):
    """A JWE registry allowing exactly the listed algs, without joserfc's security warnings.

    The RSA1_5 case must encrypt with a deprecated alg on purpose, and ``warnings`` filters
    are not thread-safe (the OP runs in a thread next to pytest).
    """

    def get_alg(self, name: str) -> JWEAlgModel:
        """The alg model, if listed; never warns."""
        registry = self.algorithms["alg"]
        if name not in registry or not self.allowed or name not in self.allowed:
            raise UnsupportedAlgorithmError(f"Algorithm of '{name}' is not allowed")
        model: JWEAlgModel = registry[name]
        return model


def check_encryption_metadata(client: dict[str, Any]) -> None:
    """Registration §2: the encryption members must name algs this OP offers."""
    for kind in ("id_token", "userinfo"):
        alg = client.get(f"{kind}_encrypted_response_alg")
        enc = client.get(f"{kind}_encrypted_response_enc")
        # Registration §2: "If ..._enc is included, ..._alg MUST also be provided."
        if enc is not None and alg is None:
            raise OPFailure("invalid_client_metadata", f"{kind}_encrypted_response_enc without alg")
        if alg is not None and alg not in ENCRYPTION_ALGS:
            raise OPFailure("invalid_client_metadata", f"unsupported {kind} encryption alg")
        if enc is not None and enc not in CONTENT_ENCRYPTION:
            raise OPFailure("invalid_client_metadata", f"unsupported {kind} encryption enc")
        if alg in ASYMMETRIC_ALGS and not (client.get("jwks") or client.get("jwks_uri")):
            raise OPFailure("invalid_client_metadata", f"{alg} needs the client's jwks or jwks_uri")


def derive_key(client_secret: str, alg: str, enc: str) -> OctKey:
    """OIDC Core §10.2: a left-truncated SHA-2 hash of the UTF-8 octets of the client secret."""
    bits = SYMMETRIC_ALGS[alg] or CONTENT_ENCRYPTION[enc]
    name = "sha256" if bits <= 256 else "sha384" if bits <= 384 else "sha512"
    return OctKey.import_key(hashlib.new(name, client_secret.encode("utf-8")).digest()[: bits // 8])


async def recipient_key(client: dict[str, Any], alg: str, enc: str) -> OctKey | RSAKey | ECKey:
    """The key to encrypt to: derived from the secret, or the client's public ``enc`` key."""
    if alg in SYMMETRIC_ALGS:
        secret = client.get("client_secret")
        if not secret:
            raise OPFailure("invalid_client_metadata", f"{alg} needs a client secret")
        return derive_key(str(secret), alg, enc)
    from .clients import client_keys  # clients.py imports this module (registration checks)

    kty = "RSA" if alg == "RSA1_5" else ASYMMETRIC_ALGS[alg]
    keys = await client_keys(client)
    candidates = [k for k in keys if k.key_type == kty and k.get("use") in ("enc", None)]
    if not candidates:
        raise OPFailure("invalid_client_metadata", f"the client has no {kty} encryption key")
    key = candidates[0]
    assert isinstance(key, RSAKey | ECKey)
    return key


async def encrypt_response(
    state: TestState, client: dict[str, Any], kind: Kind, content: str, *, nested: bool
) -> str:
    """``content`` encrypted as the client registered for ``kind``, with the case's fault.

    ``nested``: the content is a signed JWT (``cty: JWT``, RFC 7519 §5.2); else JSON text.
    Returns ``content`` unchanged when the client registered no encryption for ``kind``.
    """
    alg = client.get(f"{kind}_encrypted_response_alg")
    if not alg:
        return content
    alg, enc = str(alg), str(client.get(f"{kind}_encrypted_response_enc") or DEFAULT_ENC)
    fault = state.case.id_token_jwe_fault if kind == "id_token" else ""
    if fault == "unencrypted":
        return content
    if fault == "rsa1_5":
        alg = "RSA1_5"
    key = await recipient_key(client, alg, enc)
    header: dict[str, Any] = {"alg": alg, "enc": enc}
    if nested:
        header["cty"] = "JWT"
    if key.kid and not isinstance(key, OctKey):
        header["kid"] = key.kid
    registry = QuietJWERegistry(algorithms=[alg, enc])
    token = jwe.encrypt_compact(header, content, key, registry=registry)
    return corrupt_tag(token) if fault == "corrupt_tag" else token


def corrupt_tag(token: str) -> str:
    """XOR each byte of a compact JWE's authentication tag with 0x5A (RFC 7516 §7.1)."""
    *rest, tag = token.split(".")
    raw = base64.urlsafe_b64decode(tag + "=" * (-len(tag) % 4))
    flipped = base64.urlsafe_b64encode(bytes(b ^ 0x5A for b in raw)).rstrip(b"=").decode()
    return ".".join([*rest, flipped])


def userinfo_plaintext(claims: dict[str, Any]) -> str:
    """Registration §2: encrypted but unsigned userinfo is the JSON object of the claims."""
    return json.dumps(claims)
