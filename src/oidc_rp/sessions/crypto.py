"""Session records at rest: JSON envelopes, AES-GCM encryption, hashed identifiers.

A record is stored as a JSON envelope ``{"exp": <expires_at>, "value": {...}}``. With an
encryption key, the whole envelope is sealed with AES-256-GCM (NIST SP 800-38D): a fresh
random 96-bit nonce per write, and the record key bound as associated data so that a
sealed record copied to another key no longer opens. The sealed text is
``<kid>.<base64url(nonce || ciphertext || tag)>``; the key id lets a later version hold
several keys and pick the right one, so keys can be rotated.

Backends never see a record key or a tag in clear: records are stored under
``record_id(key)`` (SHA-256; keys are random session ids) and tags under a keyed digest
(HMAC-SHA-256 under a key derived from the encryption key, SHA-256 without one).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import math
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "KEY_SIZE",
    "RecordCipher",
    "RecordCodec",
    "check_key",
    "check_tag",
    "generate_key",
    "key_from_text",
    "load_or_create_key",
    "record_id",
]

KEY_SIZE = 32
NONCE_SIZE = 12
_AAD_LABEL = b"oidc-rp session record v1\x00"
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")

logger = logging.getLogger("oidc_rp.sessions")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not _B64URL.match(text):
        raise ValueError("not base64url text")
    try:
        bare = text.rstrip("=")
        return base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url text") from exc


def generate_key() -> bytes:
    """Return a fresh random 32-byte AES-256-GCM key for session records."""
    return secrets.token_bytes(KEY_SIZE)


def key_from_text(text: str) -> bytes:
    """Decode a session encryption key given as base64url text of 32 bytes.

    Raises ValueError (which never repeats the text) for anything else.
    """
    try:
        key = _b64url_decode(text.strip())
    except ValueError:
        raise ValueError("session encryption key: not base64url text") from None
    if len(key) != KEY_SIZE:
        raise ValueError(
            f"session encryption key: expected {KEY_SIZE} bytes of base64url, got {len(key)}"
        )
    return key


def load_or_create_key(path: str | os.PathLike[str]) -> bytes:
    """Read the key file at ``path``, or create it (mode 0600, atomically) with a new key.

    Creation writes a temporary file and links it into place, so two processes starting
    together end up with the same key: the loser of the race reads the winner's file.
    """
    target = Path(path)
    if target.exists():
        return key_from_text(target.read_text(encoding="ascii"))
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(_b64url(generate_key()) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process created it first
            os.link(temporary, target)
    finally:
        temporary.unlink()
    return key_from_text(target.read_text(encoding="ascii"))


def record_id(key: str) -> str:
    """Return the identifier a backend stores a record under (SHA-256 of the key)."""
    return _b64url(hashlib.sha256(b"oidc-rp record\x00" + key.encode()).digest())


def _key_id(key: bytes) -> str:
    return _b64url(hashlib.sha256(b"oidc-rp key id\x00" + key).digest())[:8]


class RecordCipher:
    """AES-256-GCM sealing of whole session records, bound to their record key.

    ``key`` seals new records; ``previous_keys`` only open old ones (rotation).
    """

    def __init__(self, key: bytes, *, previous_keys: Iterable[bytes] = ()) -> None:
        keys = [key, *previous_keys]
        for each in keys:
            if not isinstance(each, bytes) or len(each) != KEY_SIZE:
                raise ValueError(f"session encryption key: expected {KEY_SIZE} bytes")
        self._primary = _key_id(key)
        self._aead: dict[str, AESGCM] = {_key_id(k): AESGCM(k) for k in keys}
        self._digest_keys = [hmac.digest(k, b"oidc-rp tag digest", "sha256") for k in keys]

    @property
    def key_id(self) -> str:
        """The id of the key that seals new records (the prefix of sealed text)."""
        return self._primary

    def encrypt(self, key: str, plaintext: bytes) -> str:
        """Seal ``plaintext`` for record ``key``; a new random 96-bit nonce every time."""
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._aead[self._primary].encrypt(nonce, plaintext, _aad(self._primary, key))
        return f"{self._primary}.{_b64url(nonce + sealed)}"

    def decrypt(self, key: str, text: str) -> bytes:
        """Open text sealed for record ``key``; ValueError if it is not authentic."""
        kid, _, body = text.partition(".")
        aead = self._aead.get(kid)
        if aead is None:
            raise ValueError("session record: sealed with an unknown key")
        try:
            data = _b64url_decode(body)
            return aead.decrypt(data[:NONCE_SIZE], data[NONCE_SIZE:], _aad(kid, key))
        except (ValueError, InvalidTag):
            raise ValueError("session record: not authentic (tampered or wrong key)") from None

    def tag_digests(self, tag: str) -> tuple[str, ...]:
        """Keyed digests of ``tag``, the current key's first (older ones find old records)."""
        return tuple(_b64url(hmac.digest(k, tag.encode(), "sha256")) for k in self._digest_keys)


def check_key(key: str) -> None:
    """Raise TypeError/ValueError unless ``key`` is a non-empty str."""
    if not isinstance(key, str):
        raise TypeError(f"session record: key must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError("session record: key must not be empty")


def check_tag(tag: str) -> None:
    """Raise TypeError unless ``tag`` is a non-empty str."""
    if not isinstance(tag, str) or not tag:
        raise TypeError("session record: a tag must be a non-empty str")


def _aad(kid: str, key: str) -> bytes:
    # The record key is associated data: a sealed record moved to another key fails.
    return _AAD_LABEL + kid.encode() + b"\x00" + key.encode()


class RecordCodec:
    """Turns a record into the text a backend stores, and back (JSON, never pickle)."""

    def __init__(self, cipher: RecordCipher | None = None) -> None:
        self._cipher = cipher

    def tag_ids(self, tag: str) -> tuple[str, ...]:
        """The stored forms of ``tag``; the first is the one written."""
        if self._cipher is not None:
            return self._cipher.tag_digests(tag)
        return (_b64url(hashlib.sha256(b"oidc-rp tag\x00" + tag.encode()).digest()),)

    def prepare(
        self, key: str, value: Mapping[str, Any], ttl: int, tags: Iterable[str], now: float
    ) -> tuple[str, float, tuple[str, ...]]:
        """Check a ``set`` call; return (stored text, expires_at, tags) or raise at once.

        TypeError/ValueError are the calling programmer's mistakes (STYLE.md, Errors).
        """
        check_key(key)
        if isinstance(ttl, bool) or not isinstance(ttl, int):
            raise TypeError(f"session record: ttl must be an int, not {type(ttl).__name__}")
        if ttl <= 0:
            raise ValueError("session record: ttl must be > 0 seconds")
        if isinstance(tags, str | bytes):
            raise TypeError("session record: tags must be an iterable of str, not one str")
        tag_list = tuple(dict.fromkeys(tags))
        if not all(isinstance(tag, str) and tag for tag in tag_list):
            raise TypeError("session record: every tag must be a non-empty str")
        expires_at = now + ttl
        return self.encode(key, value, expires_at), expires_at, tag_list

    def encode(self, key: str, value: Mapping[str, Any], expires_at: float) -> str:
        """Return the stored text for ``value``; TypeError if it is not a JSON object."""
        if not isinstance(value, dict):
            raise TypeError(f"session record: value must be a dict, not {type(value).__name__}")
        try:
            text = json.dumps(
                {"exp": expires_at, "value": value}, allow_nan=False, separators=(",", ":")
            )
        except (TypeError, ValueError) as exc:
            raise TypeError(f"session record: value is not JSON-serialisable ({exc})") from None
        if self._cipher is None:
            return text
        return self._cipher.encrypt(key, text.encode())

    def decode(self, key: str, stored: str, now: float) -> dict[str, Any] | None:
        """Return the value, or None when expired or unreadable (a warning is logged)."""
        envelope = self._open(key, stored)
        if envelope is None:
            logger.warning(
                "session record unreadable (tampered, wrong key or not this format): deleted"
            )
            return None
        if envelope["exp"] <= now:
            return None
        value: dict[str, Any] = envelope["value"]
        return value

    def _open(self, key: str, stored: str) -> dict[str, Any] | None:
        if self._cipher is not None:
            try:
                stored = self._cipher.decrypt(key, stored).decode()
            except (ValueError, UnicodeDecodeError):
                return None
        try:
            envelope = json.loads(stored)
        except ValueError:
            return None
        if not (
            isinstance(envelope, dict)
            and isinstance(envelope.get("value"), dict)
            and isinstance(envelope.get("exp"), int | float)
            and math.isfinite(envelope["exp"])
        ):
            return None
        return envelope
