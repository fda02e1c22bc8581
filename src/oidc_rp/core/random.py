"""The only source of randomness in the core: state, nonce, jti and PKCE (RFC 7636).

Every other core module takes these values as arguments, so that each rule can be
tested with fixed values. Each value carries at least 128 bits of entropy
(RFC 9700 §4.7.1, OIDC Core §15.5.2).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

__all__ = [
    "code_challenge_s256",
    "generate_code_verifier",
    "generate_jti",
    "generate_nonce",
    "generate_state",
]

# 32 random bytes = 256 bits, base64url without padding (43 characters).
_TOKEN_BYTES = 32
# 48 random bytes give a 64-character verifier, inside RFC 7636's 43..128 range.
_VERIFIER_BYTES = 48
# RFC 7636 §4.1: code-verifier = 43*128unreserved (ALPHA / DIGIT / "-" / "." / "_" / "~")
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def generate_state() -> str:
    """A fresh ``state``, binding the authorization response to the browser (RFC 6749 §10.12)."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def generate_nonce() -> str:
    """A fresh ``nonce`` value binding the ID token to the login (OIDC Core §3.1.2.1, §15.5.2)."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def generate_jti() -> str:
    """A fresh JWT ID for a client assertion or request object (RFC 7519 §4.1.7)."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def generate_code_verifier() -> str:
    """A fresh PKCE ``code_verifier``: 64 characters of the unreserved set (RFC 7636 §4.1)."""
    return secrets.token_urlsafe(_VERIFIER_BYTES)


def code_challenge_s256(verifier: str) -> str:
    """``BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`` without padding (RFC 7636 §4.2).

    Raises ValueError when ``verifier`` is not 43..128 characters of the unreserved set.
    """
    # RFC 7636 §4.1: the verifier MUST have a minimum length of 43 and a maximum of 128 characters.
    if not _VERIFIER.fullmatch(verifier):
        raise ValueError("pkce.code_verifier: must be 43 to 128 characters of [A-Za-z0-9-._~]")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
