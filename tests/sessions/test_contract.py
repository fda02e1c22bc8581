"""The SessionStore contract, run against memory, SQLite (real files) and Redis (real)."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

import pytest

from oidc_rp.sessions import SessionStore, generate_key
from sessions.conftest import Backend, FakeClock

VALUE: dict[str, Any] = {
    "sub": "alice",
    "tokens": {"access_token": "at-secret-123", "expires_in": 300},
    "amr": ["pwd", "otp"],
    "name": "Zoë ✓",
    "n": None,
}


async def test_get_absent_returns_none(backend: Backend) -> None:
    store = backend.open()
    assert await store.get("nope") is None


async def test_set_then_get_round_trips_json(backend: Backend) -> None:
    store = backend.open()
    await store.set("s1", VALUE, 60)
    assert await store.get("s1") == VALUE
    assert isinstance(store, SessionStore)


async def test_returned_value_is_a_copy(backend: Backend) -> None:
    store = backend.open()
    value = {"list": [1]}
    await store.set("s1", value, 60)
    value["list"].append(2)
    got = await store.get("s1")
    assert got == {"list": [1]}
    assert got is not None
    got["list"].append(3)
    assert await store.get("s1") == {"list": [1]}


async def test_overwrite_replaces_value_and_tags(backend: Backend) -> None:
    store = backend.open()
    await store.set("s1", {"v": 1}, 60, tags=["sid:old"])
    await store.set("s1", {"v": 2}, 60, tags=["sid:new"])
    assert await store.get("s1") == {"v": 2}
    assert await store.delete_tagged("sid:old") == 0
    assert await store.get("s1") == {"v": 2}
    assert await store.delete_tagged("sid:new") == 1
    assert await store.get("s1") is None


async def test_ttl_expiry_follows_the_clock(backend: Backend, clock: FakeClock) -> None:
    store = backend.open()
    await store.set("s1", VALUE, 10)
    clock.advance(9.9)
    assert await store.get("s1") == VALUE
    clock.advance(0.1)
    assert await store.get("s1") is None
    assert await backend.raw_get(store, "s1") is None  # the expired record was removed


async def test_expired_record_is_not_returned_before_any_sweep(
    backend: Backend, clock: FakeClock
) -> None:
    store = backend.open()
    await store.set("s1", VALUE, 10)
    clock.advance(11)
    assert await backend.raw_get(store, "s1") is not None  # still stored
    assert await store.get("s1") is None


async def test_overwrite_extends_the_ttl(backend: Backend, clock: FakeClock) -> None:
    store = backend.open()
    await store.set("s1", {"v": 1}, 10)
    clock.advance(8)
    await store.set("s1", {"v": 2}, 10)
    clock.advance(8)
    assert await store.get("s1") == {"v": 2}


async def test_opportunistic_sweep_removes_expired_records(
    backend: Backend, clock: FakeClock
) -> None:
    store = backend.open()
    await store.set("old", {"v": 1}, 5)
    clock.advance(120)  # past the expiry and the sweep interval
    await store.set("new", {"v": 2}, 5)
    if backend.name != "redis":  # Redis expires in real time by itself
        assert await backend.raw_get(store, "old") is None
    assert await store.get("new") == {"v": 2}


async def test_take_is_single_use(backend: Backend) -> None:
    store = backend.open()
    await store.set("p1", VALUE, 60)
    assert await store.take("p1") == VALUE
    assert await store.take("p1") is None
    assert await store.get("p1") is None
    assert await store.take("absent") is None


async def test_take_of_expired_record_returns_none(backend: Backend, clock: FakeClock) -> None:
    store = backend.open()
    await store.set("p1", VALUE, 10)
    clock.advance(10)
    assert await store.take("p1") is None
    assert await backend.raw_get(store, "p1") is None


async def test_concurrent_takes_have_exactly_one_winner(backend: Backend) -> None:
    first = backend.open()
    # Two instances on the same file / Redis model two processes.
    second = backend.open() if backend.shares_storage else first
    await first.set("p1", {"state": "s"}, 60)
    stores = [first, second] * 10
    results = await asyncio.gather(*(s.take("p1") for s in stores))
    assert [r for r in results if r is not None] == [{"state": "s"}]


async def test_instances_share_records_except_in_memory(backend: Backend) -> None:
    first, second = backend.open(), backend.open()
    await first.set("s1", VALUE, 60)
    assert await second.get("s1") == (VALUE if backend.shares_storage else None)


async def test_delete(backend: Backend) -> None:
    store = backend.open()
    await store.set("s1", VALUE, 60, tags=["sid:a"])
    await store.delete("s1")
    assert await store.get("s1") is None
    await store.delete("s1")  # absent: no error
    assert await store.delete_tagged("sid:a") == 0


async def test_delete_tagged_deletes_every_live_record_with_the_tag(backend: Backend) -> None:
    store = backend.open()
    await store.set("s1", {"v": 1}, 60, tags=["sid:a", "sub:alice"])
    await store.set("s2", {"v": 2}, 60, tags=["sid:b", "sub:alice"])
    await store.set("s3", {"v": 3}, 60, tags=["sid:c", "sub:bob"])
    await store.set("s4", {"v": 4}, 60)
    assert await store.delete_tagged("sub:alice") == 2
    assert await store.get("s1") is None
    assert await store.get("s2") is None
    assert await store.get("s3") == {"v": 3}
    assert await store.get("s4") == {"v": 4}
    assert await store.delete_tagged("sub:alice") == 0
    assert await store.delete_tagged("sid:a") == 0
    assert await store.delete_tagged("sid:c") == 1
    assert await store.delete_tagged("never-used") == 0


async def test_tag_of_a_deleted_record_does_not_reach_its_successor(backend: Backend) -> None:
    store = backend.open()
    await store.set("s1", {"v": 1}, 60, tags=["sid:a"])
    await store.delete("s1")
    await store.set("s1", {"v": 2}, 60, tags=["sid:b"])
    assert await store.delete_tagged("sid:a") == 0
    assert await store.get("s1") == {"v": 2}


async def test_delete_tagged_does_not_count_expired_records(
    backend: Backend, clock: FakeClock
) -> None:
    store = backend.open()
    await store.set("s1", {"v": 1}, 10, tags=["sub:alice"])
    await store.set("s2", {"v": 2}, 100, tags=["sub:alice"])
    clock.advance(20)
    assert await store.delete_tagged("sub:alice") == 1
    assert await backend.raw_get(store, "s1") is None
    assert await store.get("s2") is None


async def test_duplicate_tags_count_once(backend: Backend) -> None:
    store = backend.open()
    await store.set("s1", {"v": 1}, 60, tags=("sid:a", "sid:a"))
    assert await store.delete_tagged("sid:a") == 1


async def test_encryption_round_trip_hides_the_value(backend: Backend) -> None:
    store = backend.open(generate_key())
    await store.set("s1", VALUE, 60, tags=["sub:alice"])
    assert await store.get("s1") == VALUE
    stored = await backend.raw_get(store, "s1")
    assert stored is not None
    assert "alice" not in stored
    assert "at-secret-123" not in stored
    assert await store.delete_tagged("sub:alice") == 1


async def test_encryption_uses_a_fresh_nonce_per_write(backend: Backend) -> None:
    store = backend.open(generate_key())
    await store.set("s1", VALUE, 60)
    first = await backend.raw_get(store, "s1")
    await store.set("s1", VALUE, 60)
    assert await backend.raw_get(store, "s1") != first


async def test_tampered_ciphertext_is_absent_and_deleted(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    store = backend.open(generate_key())
    await store.set("s1", VALUE, 60)
    stored = await backend.raw_get(store, "s1")
    assert stored is not None
    flipped = "A" if stored[-5] != "A" else "B"
    await backend.raw_put(store, "s1", stored[:-5] + flipped + stored[-4:])
    with caplog.at_level(logging.WARNING, logger="oidc_rp.sessions"):
        assert await store.get("s1") is None
    assert await backend.raw_get(store, "s1") is None
    assert len(caplog.records) == 1
    assert "at-secret-123" not in caplog.text
    assert "s1" not in caplog.text


async def test_tampered_record_cannot_be_taken(backend: Backend) -> None:
    store = backend.open(generate_key())
    await store.set("p1", VALUE, 60)
    await backend.raw_put(store, "p1", "garbage")
    assert await store.take("p1") is None
    assert await backend.raw_get(store, "p1") is None


async def test_wrong_key_is_absent(backend: Backend) -> None:
    writer = backend.open(generate_key())
    reader = backend.open(generate_key())
    await writer.set("s1", VALUE, 60)
    sealed = await backend.raw_get(writer, "s1")
    assert sealed is not None
    await reader.set("s1", {"placeholder": True}, 60)
    await backend.raw_put(reader, "s1", sealed)
    assert await reader.get("s1") is None
    assert await backend.raw_get(reader, "s1") is None


async def test_record_moved_to_another_key_does_not_open(backend: Backend) -> None:
    store = backend.open(generate_key())
    await store.set("victim", VALUE, 60)
    await store.set("attacker", {"sub": "mallory"}, 60)
    sealed = await backend.raw_get(store, "victim")
    assert sealed is not None
    await backend.raw_put(store, "attacker", sealed)
    assert await store.get("attacker") is None
    assert await store.get("victim") == VALUE


async def test_plaintext_record_is_refused_by_an_encrypting_store(backend: Backend) -> None:
    plain = backend.open()
    sealed = backend.open(generate_key())
    await plain.set("s1", {"sub": "mallory"}, 60)
    text = await backend.raw_get(plain, "s1")
    assert text is not None
    await sealed.set("s1", VALUE, 60)
    await backend.raw_put(sealed, "s1", text)
    assert await sealed.get("s1") is None


async def test_sealed_record_is_unreadable_without_the_key(backend: Backend) -> None:
    sealed = backend.open(generate_key())
    plain = backend.open()
    await sealed.set("s1", VALUE, 60)
    text = await backend.raw_get(sealed, "s1")
    assert text is not None
    await plain.set("s1", {"v": 1}, 60)
    await backend.raw_put(plain, "s1", text)
    assert await plain.get("s1") is None


@pytest.mark.parametrize(
    ("value", "ttl", "tags", "error", "text"),
    [
        ({"v": object()}, 60, (), TypeError, "not JSON-serialisable"),
        ({"v": {1, 2}}, 60, (), TypeError, "not JSON-serialisable"),
        ({"v": math.nan}, 60, (), TypeError, "not JSON-serialisable"),
        (["not", "a", "dict"], 60, (), TypeError, "value must be a dict"),
        ({"v": 1}, 0, (), ValueError, "ttl must be > 0"),
        ({"v": 1}, -5, (), ValueError, "ttl must be > 0"),
        ({"v": 1}, 1.5, (), TypeError, "ttl must be an int"),
        ({"v": 1}, True, (), TypeError, "ttl must be an int"),
        ({"v": 1}, 60, "sid:abc", TypeError, "not one str"),
        ({"v": 1}, 60, ["sid:a", 7], TypeError, "every tag must be a non-empty str"),
        ({"v": 1}, 60, [""], TypeError, "every tag must be a non-empty str"),
    ],
)
async def test_set_rejects_bad_arguments_at_once(
    backend: Backend, value: Any, ttl: Any, tags: Any, error: type[Exception], text: str
) -> None:
    store = backend.open(generate_key())
    with pytest.raises(error, match=text):
        await store.set("s1", value, ttl, tags=tags)
    assert await store.get("s1") is None


@pytest.mark.parametrize("tag", ["", 7, None])
async def test_delete_tagged_refuses_a_bad_tag(backend: Backend, tag: Any) -> None:
    store = backend.open()
    with pytest.raises(TypeError, match="tag must be a non-empty str"):
        await store.delete_tagged(tag)


@pytest.mark.parametrize("method", ["get", "take", "delete"])
@pytest.mark.parametrize(("key", "error"), [("", ValueError), (42, TypeError)])
async def test_bad_keys_are_refused(
    backend: Backend, method: str, key: Any, error: type[Exception]
) -> None:
    store = backend.open()
    with pytest.raises(error, match="key must"):
        await getattr(store, method)(key)
    with pytest.raises(error, match="key must"):
        await store.set(key, {"v": 1}, 60)
