"""Fixtures for the session store tests: a fake clock and the three real backends.

Each backend is real: a dict, SQLite files in tmp_path, and the Redis on 127.0.0.1:6379
(database 13, a unique key prefix per test, only our own keys deleted afterwards). If
Redis is not reachable the Redis tests fail: CI runs them.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio

from oidc_rp.sessions import MemoryStore, SessionStore, SQLiteStore
from oidc_rp.sessions.crypto import RecordCipher, record_id
from oidc_rp.sessions.redis import RedisStore

REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
REDIS_DB = 13
START = 1_700_000_000.0


class FakeClock:
    """A clock the tests move by hand: no sleeping."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Backend:
    """Opens stores of one kind and reads/writes their stored text behind their back."""

    name = "base"
    shares_storage = True  # do two stores opened here see the same records?

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.opened: list[SessionStore] = []

    def make(self, cipher: RecordCipher | None) -> SessionStore:
        raise NotImplementedError

    def open(self, encryption_key: bytes | None = None) -> SessionStore:
        cipher = RecordCipher(encryption_key) if encryption_key is not None else None
        store = self.make(cipher)
        self.opened.append(store)
        return store

    async def raw_get(self, store: SessionStore, key: str) -> str | None:
        raise NotImplementedError

    async def raw_put(self, store: SessionStore, key: str, stored: str) -> None:
        """Replace the stored text of an existing record, leaving expiry and tags."""
        raise NotImplementedError

    async def aclose(self) -> None:
        for store in self.opened:
            await store.close()


class MemoryBackend(Backend):
    name = "memory"
    shares_storage = False

    def make(self, cipher: RecordCipher | None) -> SessionStore:
        return MemoryStore(cipher=cipher, clock=self.clock)

    async def raw_get(self, store: SessionStore, key: str) -> str | None:
        assert isinstance(store, MemoryStore)
        entry = store._records.get(key)
        return entry.stored if entry else None

    async def raw_put(self, store: SessionStore, key: str, stored: str) -> None:
        assert isinstance(store, MemoryStore)
        store._records[key].stored = stored


class SQLiteBackend(Backend):
    name = "sqlite"

    def __init__(self, clock: FakeClock, path: Path) -> None:
        super().__init__(clock)
        self.path = path

    def make(self, cipher: RecordCipher | None) -> SessionStore:
        return SQLiteStore(self.path, cipher=cipher, clock=self.clock)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, isolation_level=None, timeout=5)

    async def raw_get(self, store: SessionStore, key: str) -> str | None:
        db = self._connect()
        try:
            row = db.execute(
                "SELECT value FROM session_records WHERE id = ?", (record_id(key),)
            ).fetchone()
        finally:
            db.close()
        return None if row is None else str(row[0])

    async def raw_put(self, store: SessionStore, key: str, stored: str) -> None:
        db = self._connect()
        try:
            cursor = db.execute(
                "UPDATE session_records SET value = ? WHERE id = ?", (stored, record_id(key))
            )
            assert cursor.rowcount == 1
        finally:
            db.close()


class RedisBackend(Backend):
    name = "redis"

    def __init__(self, clock: FakeClock, client: redis.asyncio.Redis, prefix: str) -> None:
        super().__init__(clock)
        self.client = client
        self.prefix = prefix

    def make(self, cipher: RecordCipher | None) -> SessionStore:
        client = redis.asyncio.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
        return RedisStore(client, prefix=self.prefix, cipher=cipher, clock=self.clock)

    def record_key(self, key: str) -> str:
        return f"{self.prefix}r:{record_id(key)}"

    async def raw_get(self, store: SessionStore, key: str) -> str | None:
        stored = await self.client.hget(self.record_key(key), "b")
        if isinstance(stored, bytes):
            return stored.decode()
        return stored

    async def raw_put(self, store: SessionStore, key: str, stored: str) -> None:
        assert await self.client.exists(self.record_key(key)) == 1
        await self.client.hset(self.record_key(key), "b", stored)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def redis_client() -> AsyncIterator[redis.asyncio.Redis]:
    """A client on our test database; fails (never skips) when Redis is down."""
    client = redis.asyncio.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    await client.ping()
    yield client
    await client.aclose()


@pytest.fixture
async def redis_prefix(redis_client: redis.asyncio.Redis) -> AsyncIterator[str]:
    """A key prefix of this test alone; its keys, and only they, are deleted afterwards."""
    prefix = unique_prefix()
    yield prefix
    await delete_prefixed(redis_client, prefix)


def unique_prefix() -> str:
    return f"oidc-rp-test:{uuid.uuid4().hex}:"


async def delete_prefixed(client: redis.asyncio.Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def backend(
    request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Backend]:
    """Each contract test runs once per backend."""
    chosen: Backend
    if request.param == "memory":
        chosen = MemoryBackend(clock)
    elif request.param == "sqlite":
        chosen = SQLiteBackend(clock, tmp_path / "sessions.db")
    else:
        client = redis.asyncio.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
        await client.ping()  # Redis down: the test fails here, it does not skip
        chosen = RedisBackend(clock, client, unique_prefix())
    yield chosen
    await chosen.aclose()
    if isinstance(chosen, RedisBackend):
        await delete_prefixed(chosen.client, chosen.prefix)
        await chosen.client.aclose()
