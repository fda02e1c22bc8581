"""Encrypted ID tokens and UserInfo responses: JWE decryption (RFC 7516, RFC 7518).

OpenID Connect Core §10.2 and Registration §2 let a client ask for its ID tokens
(``id_token_encrypted_response_alg`` / ``_enc``) and UserInfo responses
(``userinfo_encrypted_response_alg`` / ``_enc``) to be encrypted to it, signed first and
then encrypted (a Nested JWT). This module decrypts one compact JWE with exactly the
configured ``alg`` and ``enc`` (:func:`decrypt_jwe`), says whether a response is
encrypted as negotiated (:func:`unwrap_nested_jwt`), and derives the symmetric key from
the client secret as §10.2 prescribes (:func:`derive_symmetric_key`). All cryptography is
joserfc's. Errors are the caller's class (``IDTokenError``, ``UserInfoError``) with rules
``<prefix>.jwe``, ``<prefix>.jwe.alg``, ``<prefix>.jwe.enc``, ``<prefix>.jwe.zip``,
``<prefix>.jwe.header``, ``<prefix>.jwe.payload``; they never hold the plaintext or a key.
"""

from __future__ import annotations

import base64
import hashlib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from joserfc import jwe
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, Key, OctKey, OKPKey, RSAKey

from oidc_rp.core.jwa import ECDH_CURVES
from oidc_rp.core.messages import parse_json
from oidc_rp.errors import ProtocolError

__all__ = [
    "ASYMMETRIC_ALGS",
    "CONTENT_ENCRYPTION",
    "DEFAULT_ENC",
    "REFUSED_ALGS",
    "SYMMETRIC_ALGS",
    "JWEDecryption",
    "check_encryption_choice",
    "decrypt_jwe",
    "derive_symmetric_key",
    "is_compact_jwe",
    "parse_json_claims",
    "unwrap_nested_jwt",
]

#: Registration §2: "If id_token_encrypted_response_alg is specified, the default
#: id_token_encrypted_response_enc value is A128CBC-HS256." (likewise for userinfo).
DEFAULT_ENC = "A128CBC-HS256"

#: Key management with the RP's own private key: the key type each ``alg`` needs.
ASYMMETRIC_ALGS: Mapping[str, str] = MappingProxyType(
    {
        "RSA-OAEP": "RSA",
        "RSA-OAEP-256": "RSA",
        "ECDH-ES": "EC",
        "ECDH-ES+A128KW": "EC",
        "ECDH-ES+A192KW": "EC",
        "ECDH-ES+A256KW": "EC",
    }
)
#: Key management with a key derived from the client secret (OIDC Core §10.2): the key
#: length in bits; ``dir`` uses the content encryption key length of ``enc``.
SYMMETRIC_ALGS: Mapping[str, int | None] = MappingProxyType(
    {
        "A128KW": 128,
        "A192KW": 192,
        "A256KW": 256,
        "A128GCMKW": 128,
        "A192GCMKW": 192,
        "A256GCMKW": 256,
        "dir": None,
    }
)
#: Content encryption (RFC 7518 §5.1): the length of the content encryption key in bits.
CONTENT_ENCRYPTION: Mapping[str, int] = MappingProxyType(
    {
        "A128CBC-HS256": 256,
        "A192CBC-HS384": 384,
        "A256CBC-HS512": 512,
        "A128GCM": 128,
        "A192GCM": 192,
        "A256GCM": 256,
    }
)
#: Algorithms refused whatever the configuration says, and why.
REFUSED_ALGS: Mapping[str, str] = MappingProxyType(
    {
        # RFC 8725 §3.2 and FAPI 1.0 Advanced §8.6.1: RSA-PKCS1 v1.5 invites padding
        # oracle (Bleichenbacher) attacks.
        "RSA1_5": "RSA1_5 is insecure (padding oracle attacks)",
        # OIDC Core §10.2 derives symmetric keys from the client secret; password-based
        # key wrapping is not one of its methods.
        "PBES2-HS256+A128KW": "PBES2 is not an OpenID Connect key management method",
        "PBES2-HS384+A192KW": "PBES2 is not an OpenID Connect key management method",
        "PBES2-HS512+A256KW": "PBES2 is not an OpenID Connect key management method",
    }
)

_OKP_CURVES = ("X25519", "X448")


def check_encryption_choice(alg: str, enc: str) -> None:
    """Raise ``ValueError`` unless ``alg`` and ``enc`` are a pair this RP can decrypt."""
    if alg in REFUSED_ALGS:
        raise ValueError(f"{alg!r} is refused: {REFUSED_ALGS[alg]}")
    if alg not in ASYMMETRIC_ALGS and alg not in SYMMETRIC_ALGS:
        raise ValueError(f"unsupported key management algorithm {alg[:32]!r}")
    if enc not in CONTENT_ENCRYPTION:
        raise ValueError(f"unsupported content encryption algorithm {enc[:32]!r}")


def derive_symmetric_key(client_secret: str, alg: str, enc: str) -> OctKey:
    """The symmetric key for ``alg`` / ``enc`` derived from the client secret (OIDC Core §10.2).

    "the symmetric encryption key is derived from the client_secret value by using a left
    truncated SHA-2 hash of the octets of the UTF-8 representation of the client_secret.
    For keys of 256 or fewer bits, SHA-256 is used; for keys of 257-384 bits, SHA-384 is
    used; for keys of 385-512 bits, SHA-512 is used." For ``dir`` the key is the content
    encryption key, so its length is that of ``enc``.
    """
    check_encryption_choice(alg, enc)
    if alg not in SYMMETRIC_ALGS:
        raise ValueError(f"{alg!r} does not use a key derived from the client secret")
    bits = SYMMETRIC_ALGS[alg] or CONTENT_ENCRYPTION[enc]
    name = "sha256" if bits <= 256 else "sha384" if bits <= 384 else "sha512"
    digest = hashlib.new(name, client_secret.encode("utf-8")).digest()
    return OctKey.import_key(digest[: bits // 8])


@dataclass(frozen=True)
class JWEDecryption:
    """What one kind of response must be encrypted with: exactly one ``alg``/``enc`` pair.

    ``key`` is the RP's private RSA or EC key for the asymmetric algorithms, or the
    :func:`derive_symmetric_key` result for the symmetric ones. A mismatch is a
    ``ValueError`` (the caller's configuration is wrong).
    """

    alg: str
    enc: str
    key: Key = field(repr=False)

    def __post_init__(self) -> None:
        check_encryption_choice(self.alg, self.enc)
        if not _key_fits(self.key, self.alg):
            raise ValueError(f"the key does not fit the key management algorithm {self.alg!r}")

    @classmethod
    def from_settings(
        cls,
        alg: str,
        enc: str,
        *,
        private_key: Key | None = None,
        client_secret: str | None = None,
    ) -> JWEDecryption:
        """The decryption for a configured pair: the private key, or the derived secret key."""
        check_encryption_choice(alg, enc)
        if alg in SYMMETRIC_ALGS:
            if not client_secret:
                raise ValueError(f"{alg!r} needs a client_secret to derive the key from")
            return cls(alg, enc, derive_symmetric_key(client_secret, alg, enc))
        if private_key is None:
            raise ValueError(f"{alg!r} needs client_encryption_key (a private RSA or EC key)")
        return cls(alg, enc, private_key)


def _key_fits(key: Key, alg: str) -> bool:
    if alg in SYMMETRIC_ALGS:
        return isinstance(key, OctKey)
    if ASYMMETRIC_ALGS[alg] == "RSA":
        return isinstance(key, RSAKey) and key.is_private
    if isinstance(key, ECKey):
        return key.is_private and key.curve_name in ECDH_CURVES
    return isinstance(key, OKPKey) and key.is_private and key.curve_name in _OKP_CURVES


def is_compact_jwe(token: str) -> bool:
    """True for a JWE Compact Serialization: five base64url parts (RFC 7516 §7.1)."""
    return token.count(".") == 4


def unwrap_nested_jwt(
    token: str, decryption: JWEDecryption | None, *, prefix: str, error: type[ProtocolError]
) -> str:
    """The content of a response that must (or must not) be encrypted.

    With ``decryption`` the token must be a JWE: OIDC Core §3.1.3.7 step 1, "If the ID
    Token is encrypted, decrypt it using the keys and algorithms that the Client specified
    during Registration that the OP was to use to encrypt the ID Token. If encryption was
    negotiated with the OP at Registration time and the ID Token is not encrypted, the RP
    SHOULD reject it." Without, a JWE is refused: nothing was negotiated to decrypt it.
    """
    if decryption is None:
        if is_compact_jwe(token):
            raise error(f"{prefix}.jwe: encrypted, but no encryption is configured")
        return token
    if not is_compact_jwe(token):
        raise error(f"{prefix}.jwe: not encrypted, although encryption was negotiated")
    return decrypt_jwe(token, decryption, prefix=prefix, error=error)


def decrypt_jwe(
    token: str, decryption: JWEDecryption, *, prefix: str, error: type[ProtocolError]
) -> str:
    """Decrypt a compact JWE with exactly ``decryption.alg`` and ``.enc``; return the plaintext.

    The plaintext is a Nested JWT (signed, then encrypted) or a JSON text. Header rules
    come first so that no key is used with an algorithm that was not negotiated; ``zip``
    is refused (RFC 8725 §3.6: compression before encryption can leak the plaintext, and
    inflating an attacker's data is a decompression bomb; OpenID Connect needs neither).
    """
    header = _protected_header(token, prefix, error)
    _check_header(header, decryption, prefix, error)
    registry = jwe.JWERegistry(
        algorithms=[decryption.alg, decryption.enc],
        # OIDC Core §10.2 / RFC 7519 §5.3: OPs replicate iss, aud, sub into the header.
        strict_check_header=False,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", SecurityWarning)
            result = jwe.decrypt_compact(token, decryption.key, registry=registry)
    except (JoseError, ValueError, TypeError, KeyError, RecursionError, SecurityWarning):
        raise error(f"{prefix}.jwe: decryption failed (wrong key or altered JWE)") from None
    try:
        return (result.plaintext or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{prefix}.jwe.payload: not UTF-8") from None


def _protected_header(token: str, prefix: str, error: type[ProtocolError]) -> dict[str, Any]:
    encoded = token.split(".", 1)[0]
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        header = parse_json(raw)
    except ValueError:
        raise error(f"{prefix}.jwe.header: not base64url-encoded JSON") from None
    if not isinstance(header, dict):
        raise error(f"{prefix}.jwe.header: not a JSON object")
    return header


def _check_header(
    header: Mapping[str, Any], d: JWEDecryption, prefix: str, error: type[ProtocolError]
) -> None:
    alg, enc = header.get("alg"), header.get("enc")
    if isinstance(alg, str) and alg in REFUSED_ALGS:
        raise error(f"{prefix}.jwe.alg: {REFUSED_ALGS[alg]}")
    # §3.1.3.7 step 1: decrypt "using the keys and algorithms that the Client specified
    # during Registration" — no other alg or enc is accepted.
    if alg != d.alg:
        raise error(f"{prefix}.jwe.alg: {str(alg)[:32]!r} is not the negotiated {d.alg!r}")
    if enc != d.enc:
        raise error(f"{prefix}.jwe.enc: {str(enc)[:32]!r} is not the negotiated {d.enc!r}")
    if "zip" in header:
        raise error(f"{prefix}.jwe.zip: compressed content is refused")


def parse_json_claims(plaintext: str, *, prefix: str, error: type[ProtocolError]) -> dict[str, Any]:
    """The claims of an encrypted but unsigned response: a JSON object (Registration §2)."""
    try:
        claims = parse_json(plaintext)
    except ValueError:
        raise error(f"{prefix}.jwe.payload: neither a signed JWT nor a JSON object") from None
    if not isinstance(claims, dict):
        raise error(f"{prefix}.jwe.payload: not a JSON object")
    return claims
