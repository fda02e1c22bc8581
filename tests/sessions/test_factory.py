"""open_store URL forms, and what each backend leaves on disk or in Redis."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
import redis.asyncio

import oidc_rp.sessions
from oidc_rp.sessions import (
    MemoryStore,
    RedisStore,
    SessionStore,
    SQLiteStore,
    generate_key,
    open_store,
)
from oidc_rp.sessions.crypto import record_id
from oidc_rp.sessions.redis import split_prefix
from sessions.conftest import REDIS_DB, FakeClock, unique_prefix

SECRET_VALUE = {"sub": "alice-subject", "access_token": "at-secret-123"}


async def _round_trip(store: SessionStore) -> None:
    try:
        await store.set("session-id-xyz", SECRET_VALUE, 60, tags=["sub:alice-subject"])
        assert await store.get("session-id-xyz") == SECRET_VALUE
    finally:
        await store.close()


@pytest.mark.parametrize("key", [None, generate_key()])
async def test_memory(key: bytes | None) -> None:
    store = open_store("memory", encryption_key=key)
    assert isinstance(store, MemoryStore)
    await _round_trip(store)


async def test_sqlite_absolute_path_creates_private_dirs_and_files(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "sessions.db"
    store = open_store(f"sqlite://{path}", encryption_key=None)
    assert isinstance(store, SQLiteStore)
    assert store.path == path
    await store.set("s1", {"v": 1}, 60)
    for directory in (tmp_path / "a", tmp_path / "a" / "b"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["sessions.db", "sessions.db-shm", "sessions.db-wal"]
    for name in names:  # SQLite gives -wal and -shm the database file's mode
        assert stat.S_IMODE((path.parent / name).stat().st_mode) == 0o600, name
    await store.close()


async def test_sqlite_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:var/sessions.db", encryption_key=generate_key())
    assert isinstance(store, SQLiteStore)
    assert store.path == Path("var/sessions.db")
    await _round_trip(store)
    assert (tmp_path / "var" / "sessions.db").is_file()


async def test_sqlite_leaves_an_existing_directory_alone(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    store = open_store(f"sqlite://{tmp_path}/s.db", encryption_key=None)
    await store.close()
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


async def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db", busy_timeout=2.5)
    await store.close()
    db = sqlite3.connect(tmp_path / "s.db")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        db.close()


async def test_sqlite_encrypted_file_holds_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = open_store(f"sqlite://{path}", encryption_key=generate_key())
    await _round_trip(store)
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in (b"alice-subject", b"at-secret-123", b"session-id-xyz"):
        assert secret not in data


async def test_sqlite_sweep_and_use_after_close(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SQLiteStore(tmp_path / "s.db", clock=clock)
    await store.set("a", {"v": 1}, 10, tags=["sid:1"])
    await store.set("b", {"v": 2}, 100)
    clock.advance(50)
    assert await store.sweep() == 1
    assert await store.get("b") == {"v": 2}
    await store.close()
    await store.close()  # twice is fine
    with pytest.raises(RuntimeError, match="after close"):
        await store.get("b")


async def test_sqlite_failed_write_is_rolled_back_whole(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    db = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    db.execute("DROP TABLE session_tags")  # the second statement of set() will fail
    db.close()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await store.set("s1", {"v": 1}, 60)
    assert await store.get("s1") is None  # the first statement was rolled back
    await store.close()


async def test_memory_sweep() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    await store.set("a", {"v": 1}, 10, tags=["sid:1"])
    await store.set("b", {"v": 2}, 100)
    clock.advance(50)
    assert await store.sweep() == 1
    assert await store.get("b") == {"v": 2}
    await store.close()
    assert await store.get("b") is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://dbhost/sessions.db", "take no host"),
        ("sqlite:", "names no file"),
        ("sqlite:///", "names no file"),
        ("sqlite:///var/lib/", "names no file"),
        ("sqlite::memory:", "needs a file path"),
        ("sqlite:file:x.db?mode=memory", "needs a file path"),
    ],
)
def test_sqlite_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_store(url, encryption_key=None)


@pytest.mark.parametrize("key", [None, generate_key()])
async def test_redis_url_with_prefix(key: bytes | None, redis_client: redis.asyncio.Redis) -> None:
    prefix = unique_prefix()
    store = open_store(f"redis://127.0.0.1:6379/{REDIS_DB}?prefix={prefix}", encryption_key=key)
    assert isinstance(store, RedisStore)
    try:
        await _round_trip(store)
        keys = sorted([k.decode() async for k in redis_client.scan_iter(match=f"{prefix}*")])
        assert keys[0] == f"{prefix}r:{record_id('session-id-xyz')}"
        assert len(keys) == 2
        assert keys[1].startswith(f"{prefix}t:")
        for k in keys:  # Redis expires both by itself
            assert 0 < await redis_client.pttl(k) <= 60_000
        names = repr(keys) + repr(await redis_client.smembers(keys[1]))
        assert "alice-subject" not in names  # tags and keys are hashed
        assert "session-id-xyz" not in names
        record = repr(await redis_client.hgetall(keys[0]))
        assert ("at-secret-123" in record) is (key is None)
        assert ("alice-subject" in record) is (key is None)
    finally:
        async for k in redis_client.scan_iter(match=f"{prefix}*"):
            await redis_client.delete(k)


async def test_redis_tag_set_lives_as_long_as_its_longest_record(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    client = redis.asyncio.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    store = RedisStore(client, prefix=redis_prefix)
    await store.set("long", {"v": 1}, 1000, tags=["sub:a"])
    await store.set("short", {"v": 2}, 10, tags=["sub:a"])
    await store.close()
    [tag_key] = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}t:*")]
    assert await redis_client.pttl(tag_key) > 10_000


async def test_rediss_url_opens_without_connecting() -> None:
    store = open_store("rediss://:pw@redis.invalid:6380/0", encryption_key=None)
    assert isinstance(store, RedisStore)
    await store.close()


def test_redis_prefix_is_split_from_the_url() -> None:
    assert split_prefix("redis://h:1/2?prefix=app1:&socket_timeout=5") == (
        "redis://h:1/2?socket_timeout=5",
        "app1:",
    )
    assert split_prefix("redis://h:1/2") == ("redis://h:1/2", "oidc-rp:")


def test_redis_prefix_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="prefix must not be empty"):
        open_store("redis://127.0.0.1:6379/13?prefix=", encryption_key=None)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgres://admin:hunter2@db.example/sessions", "'postgres'"),
        ("memroy", "'memroy'"),
        ("https://user:hunter2@example.com", "'https'"),
        ("admin:hunter2@host", "(unreadable)"),
        ("file:sessions.db", "'file'"),
        ("://hunter2", "(unreadable)"),
        ("", "(unreadable)"),
    ],
)
def test_unknown_scheme_is_named_without_the_rest(url: str, shown: str) -> None:
    with pytest.raises(ValueError, match="unsupported scheme") as caught:
        open_store(url, encryption_key=None)
    assert shown in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "admin" not in str(caught.value)


def test_non_str_url_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="expected a str"):
        open_store(b"memory", encryption_key=None)  # type: ignore[arg-type]


def test_bad_encryption_key_is_refused() -> None:
    with pytest.raises(ValueError, match="expected 32 bytes"):
        open_store("memory", encryption_key=b"short")


def test_module_exposes_redis_store_lazily() -> None:
    assert oidc_rp.sessions.RedisStore is RedisStore
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = oidc_rp.sessions.Nope
