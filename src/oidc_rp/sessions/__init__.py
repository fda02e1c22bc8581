"""Server-side session storage: the SessionStore protocol and the one factory.

The web app keeps its sessions and pending logins here; the browser cookie holds only an
opaque random id. Records are JSON objects (never pickle) with a TTL applied by the
store and checked again on every read; with an encryption key they are sealed with
AES-256-GCM at rest (see ``crypto``). See docs/sessions.md.

``open_store`` picks the backend from the ``session_store`` setting:

- ``memory`` -> :class:`MemoryStore` (one process, nothing survives a restart)
- ``sqlite:///abs/path.db`` or ``sqlite:relative/path.db`` -> :class:`SQLiteStore`
- ``redis://host:port/db`` or ``rediss://...`` (``?prefix=`` optional) -> :class:`RedisStore`
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from oidc_rp.sessions.crypto import (
    RecordCipher,
    generate_key,
    key_from_text,
    load_or_create_key,
)
from oidc_rp.sessions.memory import MemoryStore
from oidc_rp.sessions.sqlite import SQLiteStore

__all__ = [
    "MemoryStore",
    "RecordCipher",
    "RedisStore",
    "SQLiteStore",
    "SessionStore",
    "generate_key",
    "key_from_text",
    "load_or_create_key",
    "open_store",
]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{0,31}$")


@runtime_checkable
class SessionStore(Protocol):
    """Where the web app keeps sessions and pending logins, keyed by random ids.

    ``set`` upserts for ``ttl`` seconds (> 0; ValueError otherwise) and raises TypeError at
    once for a value that is not a JSON-serialisable dict. ``get`` returns None when the
    record is absent, expired (checked on read) or unreadable (tampered, wrong key: it is
    then deleted). ``take`` is an atomic get-and-delete: of concurrent takers of one key
    only one gets the record. Tags (e.g. ``sid:...``, ``sub:...``) let back-channel
    logout delete every live record of a session or subject with ``delete_tagged``.
    """

    async def get(self, key: str) -> dict[str, Any] | None:
        """Return the record, or None if absent, expired or unreadable."""
        ...

    async def set(
        self, key: str, value: dict[str, Any], ttl: int, *, tags: Iterable[str] = ()
    ) -> None:
        """Insert or replace the record for ``ttl`` seconds, carrying ``tags``."""
        ...

    async def take(self, key: str) -> dict[str, Any] | None:
        """Return and delete the record atomically (single-use pending logins)."""
        ...

    async def delete(self, key: str) -> None:
        """Delete the record if there is one."""
        ...

    async def delete_tagged(self, tag: str) -> int:
        """Delete every live record carrying ``tag``; return how many."""
        ...

    async def close(self) -> None:
        """Release the backend's resources."""
        ...


def __getattr__(name: str) -> Any:
    # redis is an optional dependency: import RedisStore only when asked for.
    if name == "RedisStore":
        from oidc_rp.sessions.redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _scheme_of(url: str) -> str:
    """The scheme of a store URL for an error message; never the rest (credentials)."""
    head, colon, rest = url.partition(":")
    # "user:password@host" has no scheme, and its "scheme" would be a user name.
    looks_like_scheme = not colon or rest.startswith("//") or "@" not in rest
    return repr(head) if looks_like_scheme and _SCHEME.match(head) else "(unreadable)"


def open_store(
    url: str,
    *,
    encryption_key: bytes | None,
    clock: Callable[[], float] = time.time,
) -> SessionStore:
    """Open the session store named by ``url``; seal records when a key is given.

    Raises ValueError for an unknown scheme (naming only the scheme, never the URL, which
    may hold a password).
    """
    if not isinstance(url, str):
        raise TypeError(f"session_store: expected a str, not {type(url).__name__}")
    cipher = RecordCipher(encryption_key) if encryption_key is not None else None
    value = url.strip()
    if value == "memory":
        return MemoryStore(cipher=cipher, clock=clock)
    if value.startswith("sqlite:"):
        return SQLiteStore(_sqlite_path(value), cipher=cipher, clock=clock)
    if value.startswith(("redis://", "rediss://")):
        from oidc_rp.sessions.redis import RedisStore

        return RedisStore.from_url(value, cipher=cipher, clock=clock)
    raise ValueError(
        f"session_store: unsupported scheme {_scheme_of(value)}; "
        "expected memory, sqlite:///abs/path.db, sqlite:rel/path.db or redis://host:port/db"
    )


def _sqlite_path(url: str) -> str:
    rest = url.removeprefix("sqlite:")
    if rest.startswith("//"):
        # sqlite:///abs/path.db has an empty authority; sqlite://host/... is not a file.
        if not rest.startswith("///"):
            raise ValueError("session_store: sqlite URLs take no host: use sqlite:///abs/path.db")
        rest = rest[2:]
    if not rest or rest.endswith("/"):
        raise ValueError("session_store: the sqlite URL names no file")
    return rest
