"""The RP's own keys: load a private key from settings, publish its public JWK set.

A key setting (``request_object_key``, ``client_private_key``) holds either the key
itself (a PEM block or a private JWK as JSON) or the path of a file containing one.
joserfc does all parsing; nothing here handles key material by hand.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from oidc_rp.core.client_auth import default_signing_alg
from oidc_rp.core.jwa import MIN_RSA_BITS
from oidc_rp.errors import ConfigurationError

__all__ = [
    "AsymmetricKey",
    "EncryptionKey",
    "default_alg",
    "load_encryption_key",
    "load_private_key",
    "public_jwks",
]

AsymmetricKey = RSAKey | ECKey | OKPKey
EncryptionKey = RSAKey | ECKey

# OKP curves that sign (RFC 8037 §2); X25519 and X448 are key-agreement curves only.
_SIGNING_OKP = ("Ed25519", "Ed448")


def _key_text(setting: str, value: str) -> str:
    stripped = value.strip()
    if stripped.startswith(("{", "-----BEGIN")):
        return stripped
    try:
        return Path(stripped).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"{setting}: cannot read key file: {exc.strerror}") from None


def _import(data: Any) -> AsymmetricKey | None:
    kinds: tuple[type[AsymmetricKey], ...] = (RSAKey, ECKey, OKPKey)
    if isinstance(data, dict):
        kinds = tuple(k for k in kinds if k.key_type == data.get("kty"))
    for kind in kinds:
        try:
            with warnings.catch_warnings():
                # joserfc warns about short RSA keys; we refuse them below with a clear line.
                warnings.simplefilter("ignore", SecurityWarning)
                return kind.import_key(data)
        except (JoseError, ValueError, TypeError):
            continue
    return None


def _check_key(setting: str, key: AsymmetricKey | None) -> AsymmetricKey:
    if key is None or not key.is_private:
        raise ConfigurationError(f"{setting}: not a private RSA, EC or OKP key")
    if isinstance(key, RSAKey) and key.raw_value.key_size < MIN_RSA_BITS:
        raise ConfigurationError(f"{setting}: RSA key shorter than {MIN_RSA_BITS} bits")
    if isinstance(key, OKPKey) and key.curve_name not in _SIGNING_OKP:
        raise ConfigurationError(f"{setting}: {key.curve_name} keys cannot sign")
    return key


def load_private_key(setting: str, value: str) -> AsymmetricKey:
    """Parse a private RSA, EC or OKP key given inline or by file path."""
    text = _key_text(setting, value)
    data: Any = text
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise ConfigurationError(f"{setting}: not a valid JWK (bad JSON)") from None
    key = _check_key(setting, _import(data))
    if not key.kid:
        key.ensure_kid()
    return key


def load_encryption_key(setting: str, value: str) -> EncryptionKey:
    """Parse the RP's private decryption key (RSA or EC), inline or by file path.

    OIDC Core §10.2: the OP encrypts ID tokens and UserInfo responses to the public half,
    published in the RP's JWK set with ``use: enc``.
    """
    key = load_private_key(setting, value)
    if not isinstance(key, RSAKey | ECKey):
        raise ConfigurationError(f"{setting}: not a private RSA or EC key")
    return key


def default_alg(key: AsymmetricKey) -> str:
    """The usual JWS algorithm for a key: RS256, ES256/384/512 by curve, Ed25519 or Ed448."""
    return default_signing_alg(key)


def public_jwks(
    *keys: AsymmetricKey | None,
    encryption_key: EncryptionKey | None = None,
    encryption_alg: str | None = None,
) -> dict[str, Any]:
    """The public JWK set of the given keys (duplicates by kid removed), for ``/jwks``.

    The signing keys get ``use: sig``; ``encryption_key`` gets ``use: enc`` and, when
    given, ``alg: encryption_alg`` (RFC 7517 §4.2, §4.4).
    """
    seen: dict[str, dict[str, Any]] = {}
    for key in keys:
        if key is None:
            continue
        public = key.as_dict(private=False)
        public.setdefault("use", "sig")
        public.setdefault("alg", default_alg(key))
        seen[str(public["kid"])] = public
    if encryption_key is not None:
        public = encryption_key.as_dict(private=False)
        public["use"] = "enc"
        public.pop("key_ops", None)
        if encryption_alg is not None:
            public["alg"] = encryption_alg
        else:
            public.pop("alg", None)
        if str(public["kid"]) in seen:
            raise ConfigurationError(
                "client_encryption_key: must not be a signing key too (one key per use)"
            )
        seen[str(public["kid"])] = public
    if not seen:
        return {"keys": []}
    return dict(KeySet.import_key_set({"keys": list(seen.values())}).as_dict(private=False))
