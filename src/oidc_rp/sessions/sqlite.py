"""SQLiteStore: session records in one SQLite file, shared by the processes of one host.

The standard library's ``sqlite3`` runs in a worker thread (``asyncio.to_thread``); each
store holds one connection guarded by a lock. WAL mode and a busy timeout let several
processes use the same file; ``take`` is one ``DELETE ... RETURNING`` statement, so two
processes taking the same pending login cannot both get it. Records and tags are stored
under hashed identifiers (see ``crypto.record_id``); expired rows are never returned and
are swept from time to time.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from oidc_rp.sessions.crypto import RecordCipher, RecordCodec, check_key, check_tag, record_id

__all__ = ["SQLiteStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS session_records (
    id TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS session_records_expires_at ON session_records (expires_at);
CREATE TABLE IF NOT EXISTS session_tags (
    tag TEXT NOT NULL,
    id TEXT NOT NULL REFERENCES session_records (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS session_tags_id ON session_tags (id);
"""

_UPSERT = (
    "INSERT INTO session_records (id, value, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
)
_HAS_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)


def _create_private_file(path: Path) -> None:
    """Create the directories we need (0700) and the database file (0600) if missing."""
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.fchmod(fd, 0o600)
    os.close(fd)


class SQLiteStore:
    """A SessionStore in one SQLite file (WAL mode), safe across processes of one host."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        cipher: RecordCipher | None = None,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 5.0,
        sweep_interval: float = 60.0,
    ) -> None:
        self.path = Path(path)
        if str(path) in ("", ":memory:") or str(path).startswith("file:"):
            raise ValueError("session_store: the sqlite store needs a file path")
        self._codec = RecordCodec(cipher)
        self._clock = clock
        self._lock = threading.Lock()
        self._sweep_interval = sweep_interval
        self._next_sweep = clock() + sweep_interval
        _create_private_file(self.path)
        self._db: sqlite3.Connection | None = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(_SCHEMA)

    async def get(self, key: str) -> dict[str, Any] | None:
        """Return the record, or None when absent, expired or unreadable."""
        check_key(key)
        rows = await self._run(
            lambda db: db.execute(
                "SELECT value FROM session_records WHERE id = ?", (record_id(key),)
            ).fetchall()
        )
        return await self._read(key, rows, delete=True)

    async def set(
        self, key: str, value: dict[str, Any], ttl: int, *, tags: Iterable[str] = ()
    ) -> None:
        """Insert or replace the record for ``ttl`` seconds, carrying ``tags``."""
        now = self._clock()
        stored, expires_at, tag_list = self._codec.prepare(key, value, ttl, tags, now)
        rid = record_id(key)
        tag_rows = [(self._codec.tag_ids(tag)[0], rid) for tag in tag_list]

        def write(db: sqlite3.Connection) -> None:
            db.execute(_UPSERT, (rid, stored, expires_at))
            db.execute("DELETE FROM session_tags WHERE id = ?", (rid,))
            db.executemany("INSERT INTO session_tags (tag, id) VALUES (?, ?)", tag_rows)

        await self._run(lambda db: _transaction(db, write))
        await self._maybe_sweep(now)

    async def take(self, key: str) -> dict[str, Any] | None:
        """Return and delete the record in one statement (single use across processes)."""
        check_key(key)
        rid = record_id(key)
        rows = await self._run(lambda db: _delete_returning(db, rid))
        return await self._read(key, rows, delete=False)

    async def delete(self, key: str) -> None:
        """Delete the record if there is one."""
        check_key(key)
        rid = record_id(key)
        await self._run(lambda db: db.execute("DELETE FROM session_records WHERE id = ?", (rid,)))

    async def delete_tagged(self, tag: str) -> int:
        """Delete every record carrying ``tag``; return how many of them were live."""
        check_tag(tag)
        tag_ids = self._codec.tag_ids(tag)
        marks = ", ".join("?" * len(tag_ids))
        # Only "?" placeholders are formatted in; the values are bound parameters.
        where = f"id IN (SELECT id FROM session_tags WHERE tag IN ({marks}))"  # noqa: S608
        now = self._clock()

        def delete(db: sqlite3.Connection) -> int:
            live: int = db.execute(
                f"SELECT COUNT(*) FROM session_records WHERE {where} AND expires_at > ?",  # noqa: S608
                (*tag_ids, now),
            ).fetchone()[0]
            db.execute(f"DELETE FROM session_records WHERE {where}", tag_ids)  # noqa: S608
            return live

        return await self._run(lambda db: _transaction(db, delete))

    async def sweep(self) -> int:
        """Delete every expired row now; return how many."""
        now = self._clock()
        self._next_sweep = now + self._sweep_interval
        cursor = await self._run(
            lambda db: db.execute("DELETE FROM session_records WHERE expires_at <= ?", (now,))
        )
        return cursor.rowcount

    async def close(self) -> None:
        """Close the connection; the store cannot be used afterwards."""

        def close() -> None:
            with self._lock:
                if self._db is not None:
                    self._db.close()
                    self._db = None

        await asyncio.to_thread(close)

    async def _maybe_sweep(self, now: float) -> None:
        # Cheap and opportunistic: at most one sweep per interval per store, on a write.
        if now >= self._next_sweep:
            await self.sweep()

    async def _read(
        self, key: str, rows: Sequence[tuple[str]], *, delete: bool
    ) -> dict[str, Any] | None:
        if not rows:
            return None
        stored = rows[0][0]
        value = self._codec.decode(key, stored, self._clock())
        if value is None and delete:
            # Only this very row: a record written meanwhile by another process stays.
            sql = "DELETE FROM session_records WHERE id = ? AND value = ?"
            await self._run(lambda db: db.execute(sql, (record_id(key), stored)))
        return value

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                if self._db is None:
                    raise RuntimeError("session store: used after close()")
                return work(self._db)

        return await asyncio.to_thread(locked)


def _transaction(db: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    # BEGIN IMMEDIATE takes the write lock at once: no deadlock on a later upgrade.
    db.execute("BEGIN IMMEDIATE")
    try:
        result = work(db)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return result


def _delete_returning(db: sqlite3.Connection, rid: str) -> list[tuple[str]]:
    if _HAS_RETURNING:
        sql = "DELETE FROM session_records WHERE id = ? RETURNING value"
        return db.execute(sql, (rid,)).fetchall()
    return _transaction(db, lambda db: _select_then_delete(db, rid))  # pragma: no cover


def _select_then_delete(db: sqlite3.Connection, rid: str) -> list[tuple[str]]:  # pragma: no cover
    # SQLite < 3.35 has no RETURNING; BEGIN IMMEDIATE makes the pair atomic.
    rows = db.execute("SELECT value FROM session_records WHERE id = ?", (rid,)).fetchall()
    db.execute("DELETE FROM session_records WHERE id = ?", (rid,))
    return rows
