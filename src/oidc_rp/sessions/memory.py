"""MemoryStore: session records in a dict of this process, for tests and throw-away runs.

Records still go through the codec (JSON, optional encryption), so the memory store
behaves like the others: values are copied, non-JSON values fail, TTLs are checked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from oidc_rp.sessions.crypto import RecordCipher, RecordCodec, check_key, check_tag

__all__ = ["MemoryStore"]


@dataclass
class _Entry:
    stored: str
    expires_at: float
    tags: tuple[str, ...]


class MemoryStore:
    """A SessionStore in process memory; nothing survives a restart or is shared.

    Every operation runs without an ``await`` between its read and its write, so it is
    atomic with respect to other tasks of the event loop (``take`` is a ``dict.pop``).
    """

    def __init__(
        self,
        *,
        cipher: RecordCipher | None = None,
        clock: Callable[[], float] = time.time,
        sweep_interval: float = 60.0,
    ) -> None:
        self._codec = RecordCodec(cipher)
        self._clock = clock
        self._records: dict[str, _Entry] = {}
        self._tagged: dict[str, set[str]] = {}
        self._sweep_interval = sweep_interval
        self._next_sweep = clock() + sweep_interval

    async def get(self, key: str) -> dict[str, Any] | None:
        """Return the record, or None when absent, expired or unreadable."""
        check_key(key)
        entry = self._records.get(key)
        if entry is None:
            return None
        return self._read(key, entry)

    async def set(
        self, key: str, value: dict[str, Any], ttl: int, *, tags: Iterable[str] = ()
    ) -> None:
        """Insert or replace the record for ``ttl`` seconds, carrying ``tags``."""
        now = self._clock()
        stored, expires_at, tag_list = self._codec.prepare(key, value, ttl, tags, now)
        self._sweep(now)
        self._remove(key)
        self._records[key] = _Entry(stored, expires_at, tag_list)
        for tag in tag_list:
            self._tagged.setdefault(tag, set()).add(key)

    async def take(self, key: str) -> dict[str, Any] | None:
        """Return and delete the record in one step (single use)."""
        check_key(key)
        entry = self._remove(key)
        if entry is None:
            return None
        return self._read(key, entry)

    async def delete(self, key: str) -> None:
        """Delete the record if there is one."""
        check_key(key)
        self._remove(key)

    async def delete_tagged(self, tag: str) -> int:
        """Delete every record carrying ``tag``; return how many of them were live."""
        check_tag(tag)
        now = self._clock()
        count = 0
        for key in list(self._tagged.get(tag, ())):
            entry = self._remove(key)
            if entry is not None and entry.expires_at > now:
                count += 1
        return count

    async def sweep(self) -> int:
        """Delete every expired record now; return how many."""
        return self._sweep(self._clock(), force=True)

    async def close(self) -> None:
        """Forget every record."""
        self._records.clear()
        self._tagged.clear()

    def _read(self, key: str, entry: _Entry) -> dict[str, Any] | None:
        value = self._codec.decode(key, entry.stored, self._clock())
        if value is None:
            self._remove(key)
        return value

    def _remove(self, key: str) -> _Entry | None:
        entry = self._records.pop(key, None)
        for tag in entry.tags if entry else ():
            keys = self._tagged[tag]
            keys.discard(key)
            if not keys:
                del self._tagged[tag]
        return entry

    def _sweep(self, now: float, *, force: bool = False) -> int:
        if not force and now < self._next_sweep:
            return 0
        self._next_sweep = now + self._sweep_interval
        expired = [k for k, e in self._records.items() if e.expires_at <= now]
        for key in expired:
            self._remove(key)
        return len(expired)
