"""The `Cache` on Redis, shared by every API instance: Lua scripts plus epochs.

Each check-and-store (a version floor, a generation match) is one Lua script, so it is
atomic across instances. See `taskhub.kv.cache` for the two invalidation rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable, Sequence

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from taskhub.kv.cache import DEFAULT_GENERATION_TTL, NO_GENERATION
from taskhub.kv.redis_client import GuardedRedis

# An entry is "<epoch>:<tag>:<value>" (tag = version or generation); a tombstone has tag
# "~". Lua numbers are doubles: versions must stay below 2**53.
#
# The epoch covers invalidations this process could not deliver (Redis unreachable or
# timing out during a write): the next time it reaches Redis it starts a new epoch, and
# entries of older epochs are never served. Tombstones and version floors outlive epochs.
#
# Generations and epochs start at the server's time in microseconds and only grow, so
# one that expired or was evicted restarts above every value it ever had.

_HEADER_BYTES = 64  # covers "<epoch>:<tag>:" for any epoch and tag below 2**53

_LUA_COMMON = """
local function parse(raw)
  if not raw then return nil end
  return string.match(raw, '^(%d+):([^:]*):()')
end
local function epoch() return redis.call('GET', KEYS[1]) or '0' end
local function fresh(key, ttl)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local cur = tonumber(redis.call('GET', key) or '0') or 0
  local value = string.format('%.0f', math.max(cur + 1, now))
  if ttl then redis.call('SET', key, value, 'PX', ttl) else redis.call('SET', key, value) end
  return value
end
"""

# KEYS = epoch. Starts a new epoch.
_NEW_EPOCH = _LUA_COMMON + "fresh(KEYS[1], nil)\nreturn 1\n"

# KEYS = epoch, key.
_GET_VERSIONED = (
    _LUA_COMMON
    + """
local raw = redis.call('GET', KEYS[2])
local e, tag, at = parse(raw)
if e == epoch() and tag ~= '~' then return string.sub(raw, at) end
return false
"""
)

# KEYS = epoch, key. ARGV = version, value, ttl in ms. Reads only the entry's header.
_PUT_VERSIONED = (
    _LUA_COMMON
    + f"""
local current = epoch()
local e, tag = parse(redis.call('GETRANGE', KEYS[2], 0, {_HEADER_BYTES - 1}))
if e then
  if tag == '~' then return 0 end
  local old, new = tonumber(tag), tonumber(ARGV[1])
  if old and (old > new or (old == new and e == current)) then return 0 end
end
redis.call('SET', KEYS[2], current .. ':' .. ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1
"""
)

# KEYS = epoch, key, gen_key. ARGV = generation ttl in ms. Returns {generation[, value]}.
_GET_WITH_GENERATION = (
    _LUA_COMMON
    + """
local gen = redis.call('GET', KEYS[3]) or fresh(KEYS[3], ARGV[1])
local raw = redis.call('GET', KEYS[2])
local e, tag, at = parse(raw)
if e == epoch() and tag == gen then return {gen, string.sub(raw, at)} end
return {gen}
"""
)

# KEYS = epoch, key, gen_key. ARGV = generation, value, ttl in ms.
_PUT_FOR_GENERATION = (
    _LUA_COMMON
    + """
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], epoch() .. ':' .. ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1
"""
)

# KEYS = gen_key. ARGV = generation ttl in ms.
_BUMP = _LUA_COMMON + "fresh(KEYS[1], ARGV[1])\nreturn 1\n"

# After a lost invalidation: how often the new epoch is retried, how long a write waits
# for it, and when the second epoch follows the first.
EPOCH_RETRY_SECONDS = 0.1
EPOCH_WRITE_WAIT_SECONDS = 0.05
EPOCH_SETTLE_SECONDS = 1.0

_TOMBSTONE = b"0:~:"
_FAILED = object()


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisCache:
    """The `Cache` on Redis, shared by every instance; keys live under `prefix`.

    An invalidation this instance could not deliver (Redis failing, or the breaker open
    after a recent failure, while other instances may still read Redis) is made good by
    a new epoch. Until that epoch is delivered this instance neither reads nor writes the
    cache, a background task retries it every `retry_interval`, and a write waits up to
    `write_wait` for it, so a write made just after Redis returns is delivered before
    the request answers. A second epoch `settle` seconds later discards what readers
    that loaded a row before the lost write stored under the first one.
    """

    def __init__(
        self,
        redis: GuardedRedis,
        *,
        prefix: str = "taskhub:c:",
        generation_ttl: float = DEFAULT_GENERATION_TTL,
        retry_interval: float = EPOCH_RETRY_SECONDS,
        write_wait: float = EPOCH_WRITE_WAIT_SECONDS,
        settle: float = EPOCH_SETTLE_SECONDS,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._epoch_key = prefix + "@epoch"
        self._generation_ttl_ms = _ms(generation_ttl)
        self._retry_interval = retry_interval
        self._write_wait = write_wait
        self._settle = settle
        self._undelivered = False  # an invalidation was lost: a new epoch is owed
        self._delivery: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()  # a writer asks the delivery task to try now
        self._delivered = asyncio.Event()
        client = redis.client
        self._new_epoch = client.register_script(_NEW_EPOCH)
        self._get_versioned_script = client.register_script(_GET_VERSIONED)
        self._put_versioned_script = client.register_script(_PUT_VERSIONED)
        self._get_with_generation_script = client.register_script(_GET_WITH_GENERATION)
        self._put_for_generation_script = client.register_script(_PUT_FOR_GENERATION)
        self._bump_script = client.register_script(_BUMP)

    async def get_versioned(self, key: str) -> bytes | None:
        reply = await self._read(self._get_versioned_script, [key], [])
        return reply if isinstance(reply, bytes) else None

    async def put_versioned(self, key: str, version: int, value: bytes, ttl: float) -> bool:
        return await self._write(self._put_versioned_script, [key], [version, value, _ms(ttl)])

    async def tombstone(self, key: str, ttl: float) -> None:
        async def op(client: Redis) -> bool:
            await client.set(self._prefix + key, _TOMBSTONE, px=_ms(ttl))
            return True

        await self._guard_write(op)

    async def evict(self, key: str) -> None:
        async def op(client: Redis) -> bool:
            await client.delete(self._prefix + key)
            return True

        await self._guard_write(op)

    async def get_with_generation(self, key: str, gen_key: str) -> tuple[int, bytes | None]:
        args = [self._generation_ttl_ms]
        reply = await self._read(self._get_with_generation_script, [key, gen_key], args)
        if not isinstance(reply, list):
            return NO_GENERATION, None
        return int(reply[0]), (reply[1] if len(reply) > 1 else None)

    async def put_for_generation(
        self, key: str, gen_key: str, generation: int, value: bytes, ttl: float
    ) -> bool:
        if generation == NO_GENERATION:
            return False
        args: list[int | bytes] = [generation, value, _ms(ttl)]
        return await self._write(self._put_for_generation_script, [key, gen_key], args)

    async def bump(self, gen_key: str) -> None:
        async def op(client: Redis) -> bool:
            await self._bump_script(keys=[self._prefix + gen_key], args=[self._generation_ttl_ms])
            return True

        await self._guard_write(op)

    async def _read(self, script: AsyncScript, keys: list[str], args: list[int]) -> object:
        if self._undelivered:
            # Entries of the current epoch may predate a write this instance lost.
            self._start_delivery()
            return None

        async def op(client: Redis) -> object:
            full_keys = [self._epoch_key, *(self._prefix + k for k in keys)]
            return await script(keys=full_keys, args=args, client=client)

        return await self._redis.call(op, None)

    async def _write(
        self, script: AsyncScript, keys: list[str], args: Sequence[int | bytes]
    ) -> bool:
        async def op(client: Redis) -> bool:
            full_keys = [self._epoch_key, *(self._prefix + k for k in keys)]
            return bool(await script(keys=full_keys, args=list(args), client=client))

        return await self._guard_write(op)

    async def _guard_write(self, op: Callable[[Redis], Awaitable[bool]]) -> bool:
        if not self._redis.available:
            # The breaker skips Redis, but other instances may be reading it right now.
            self._lost()
        if self._undelivered and not await self._delivered_soon():
            return False
        result = await self._redis.call(op, _FAILED)
        if result is _FAILED:
            self._lost()
            return False
        return bool(result)

    # Epoch delivery -------------------------------------------------------------------

    def _lost(self) -> None:
        self._owe_epoch()
        self._start_delivery()

    def _owe_epoch(self) -> None:
        if not self._undelivered:
            self._undelivered = True
            self._delivered.clear()

    def _start_delivery(self) -> None:
        if self._delivery is None or self._delivery.done():
            self._delivery = self._redis.spawn(self._deliver())

    async def _delivered_soon(self) -> bool:
        """Ask for the epoch now; True if it was delivered within `write_wait`."""
        self._start_delivery()
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._delivered.wait(), self._write_wait)
        return not self._undelivered

    async def _deliver(self) -> None:
        loop = asyncio.get_running_loop()
        settle_at: float | None = None
        while True:
            self._wake.clear()
            if self._undelivered:
                if await self._redis.call(self._start_epoch, False, force=True):
                    self._undelivered = False
                    self._delivered.set()
                    settle_at = loop.time() + self._settle
                    continue
                wait = self._retry_interval
            elif settle_at is None:
                return
            else:
                wait = settle_at - loop.time()
                if wait <= 0:
                    if await self._redis.call(self._start_epoch, False, force=True):
                        settle_at = None  # done, unless a write was lost meanwhile
                    else:
                        self._owe_epoch()
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _start_epoch(self, client: Redis) -> bool:
        await self._new_epoch(keys=[self._epoch_key], args=[], client=client)
        return True
