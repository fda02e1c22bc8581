"""RedisStore: session records in Redis, shared by any number of instances.

Layout under the key prefix (default ``oidc-rp:``)::

    <prefix>r:<record id>   hash  b = stored text, e = expires_at, t = tag ids (space-separated)
    <prefix>t:<tag id>      set   of record ids carrying that tag

Redis expires records itself (PEXPIRE); ``expires_at`` is also kept in the sealed
envelope and checked on read with the injected clock. Writes that touch several keys
are Lua scripts (atomic); ``take`` is MULTI/HMGET/DEL/EXEC. Tag sets may keep stale
members for a while: ``delete_tagged`` deletes a record only if it still carries the tag.
Standalone Redis (or Sentinel) only: the scripts touch keys Redis Cluster would split.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio

from oidc_rp.sessions.crypto import RecordCipher, RecordCodec, check_key, check_tag, record_id

__all__ = ["DEFAULT_PREFIX", "RedisStore"]

DEFAULT_PREFIX = "oidc-rp:"

# KEYS[1] record; KEYS[2..] new tag sets. ARGV: stored, expires_at, ttl_ms, record id,
# tag key prefix, new tag ids (space-separated).
_SET = """
local old = redis.call('HGET', KEYS[1], 't')
if old then
  for tid in string.gmatch(old, '%S+') do redis.call('SREM', ARGV[5] .. tid, ARGV[4]) end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'b', ARGV[1], 'e', ARGV[2], 't', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[4])
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[3]) then
    redis.call('PEXPIRE', KEYS[i], ARGV[3])
  end
end
"""

# KEYS[1] tag set. ARGV: now, record key prefix, tag id. Returns how many were live.
_DELETE_TAGGED = """
local live = 0
for _, rid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local rk = ARGV[2] .. rid
  local fields = redis.call('HMGET', rk, 'e', 't')
  if fields[1] and string.find(' ' .. fields[2] .. ' ', ' ' .. ARGV[3] .. ' ', 1, true) then
    redis.call('DEL', rk)
    if tonumber(fields[1]) > tonumber(ARGV[1]) then live = live + 1 end
  end
end
redis.call('DEL', KEYS[1])
return live
"""

# KEYS[1] record. ARGV[1] the stored text that was read: delete only that very record.
_DELETE_IF_SAME = """
if redis.call('HGET', KEYS[1], 'b') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def split_prefix(url: str) -> tuple[str, str]:
    """Split the ``prefix`` query parameter (ours, not redis-py's) off a Redis URL."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefixes = [v for k, v in query if k == "prefix"]
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefixes[-1] if prefixes else DEFAULT_PREFIX


class RedisStore:
    """A SessionStore in Redis (``redis.asyncio``); keys live under ``prefix``."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        cipher: RecordCipher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not prefix:
            raise ValueError("session_store: the redis key prefix must not be empty")
        self._redis = client
        self._prefix = prefix
        self._codec = RecordCodec(cipher)
        self._clock = clock
        self._set = client.register_script(_SET)
        self._delete_tagged = client.register_script(_DELETE_TAGGED)
        self._delete_if_same = client.register_script(_DELETE_IF_SAME)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cipher: RecordCipher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> RedisStore:
        """Open ``redis://host:port/db`` or ``rediss://...``; ``?prefix=`` sets the prefix."""
        redis_url, prefix = split_prefix(url)
        client = redis.asyncio.Redis.from_url(redis_url)
        return cls(client, prefix=prefix, cipher=cipher, clock=clock)

    def record_key(self, key: str) -> str:
        """The Redis key holding record ``key`` (for operators; values stay opaque)."""
        return f"{self._prefix}r:{record_id(key)}"

    async def get(self, key: str) -> dict[str, Any] | None:
        """Return the record, or None when absent, expired or unreadable."""
        check_key(key)
        stored = await self._redis.hget(self.record_key(key), "b")
        if stored is None:
            return None
        value = self._codec.decode(key, _text(stored), self._clock())
        if value is None:
            await self._delete_if_same(keys=[self.record_key(key)], args=[stored])
        return value

    async def set(
        self, key: str, value: dict[str, Any], ttl: int, *, tags: Iterable[str] = ()
    ) -> None:
        """Insert or replace the record for ``ttl`` seconds, carrying ``tags``."""
        now = self._clock()
        stored, expires_at, tag_list = self._codec.prepare(key, value, ttl, tags, now)
        tag_ids = [self._codec.tag_ids(tag)[0] for tag in tag_list]
        tag_prefix = f"{self._prefix}t:"
        await self._set(
            keys=[self.record_key(key), *(tag_prefix + tid for tid in tag_ids)],
            args=[
                stored,
                repr(expires_at),
                ttl * 1000,
                record_id(key),
                tag_prefix,
                " ".join(tag_ids),
            ],
        )

    async def take(self, key: str) -> dict[str, Any] | None:
        """Return and delete the record atomically (MULTI/EXEC): one taker wins."""
        check_key(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hget(self.record_key(key), "b")
            pipe.delete(self.record_key(key))
            stored, _ = await pipe.execute()
        if stored is None:
            return None
        return self._codec.decode(key, _text(stored), self._clock())

    async def delete(self, key: str) -> None:
        """Delete the record if there is one."""
        check_key(key)
        await self._redis.delete(self.record_key(key))

    async def delete_tagged(self, tag: str) -> int:
        """Delete every record carrying ``tag``; return how many of them were live."""
        check_tag(tag)
        now = repr(self._clock())
        live = 0
        for tid in self._codec.tag_ids(tag):
            live += int(
                await self._delete_tagged(
                    keys=[f"{self._prefix}t:{tid}"], args=[now, f"{self._prefix}r:", tid]
                )
            )
        return live

    async def close(self) -> None:
        """Close the client and its connection pool."""
        await self._redis.aclose()
