"""The sliding-window rate limiter on Redis, shared by every API instance.

Same semantics as `taskhub.limits.memory.InMemoryRateLimiter`: one sorted set per key holds the
counted events (score = Redis server time in microseconds, so instances with skewed
clocks agree), trimmed to the window on every call; the key expires one window after its
last event. Each call is one Lua script, one round trip, atomic across instances.
Fails open: while Redis is unreachable nothing is limited and nothing is counted.
"""

from __future__ import annotations

import itertools
import secrets

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from taskhub.kv.redis_client import GuardedRedis

# Shared prelude. KEYS[1] = the key's sorted set; ARGV[1] = limit, ARGV[2] = window
# in seconds. Leaves `now` and `window` in microseconds and the window trimmed.
_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2]) * 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
local function wait_seconds(limit)
  local n = redis.call('ZCARD', KEYS[1])
  if n < limit then return -1 end
  -- The event that must leave the window before the count drops under the limit.
  local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  local wait = math.ceil((tonumber(oldest[2]) + window - now) / 1000000)
  if wait < 1 then wait = 1 end
  return wait
end
local function add(member)
  redis.call('ZADD', KEYS[1], string.format('%.0f', now), member)
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 1000)
end
"""

_BLOCKED_FOR = _PRELUDE + "return wait_seconds(tonumber(ARGV[1]))\n"

# ARGV[3] = a member unique to this event.
_RECORD = _PRELUDE + "add(ARGV[3])\nreturn -1\n"

_HIT = (
    _PRELUDE
    + """
local wait = wait_seconds(tonumber(ARGV[1]))
if wait == -1 then add(ARGV[3]) end
return wait
"""
)


class RedisRateLimiter:
    """Sliding-window log per key in Redis; implements `taskhub.limits.RateLimiter`."""

    def __init__(self, redis: GuardedRedis, *, prefix: str = "taskhub:rl:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._blocked_for = redis.client.register_script(_BLOCKED_FOR)
        self._record = redis.client.register_script(_RECORD)
        self._hit = redis.client.register_script(_HIT)
        # Members must be unique across instances: a per-limiter random tag plus a counter.
        self._tag = secrets.token_hex(6)
        self._seq = itertools.count()

    async def blocked_for(self, key: str, limit: int, window_seconds: int) -> int | None:
        _check(limit, window_seconds)
        wait = await self._run(self._blocked_for, key, [limit, window_seconds])
        return None if wait is None or wait < 0 else wait

    async def record(self, key: str, window_seconds: int) -> None:
        _check(1, window_seconds)
        await self._run(self._record, key, [0, window_seconds, self._member()])

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        _check(limit, window_seconds)
        wait = await self._run(self._hit, key, [limit, window_seconds, self._member()])
        return None if wait is None or wait < 0 else wait

    def _member(self) -> str:
        return f"{self._tag}:{next(self._seq)}"

    async def _run(self, script: AsyncScript, key: str, args: list[int | str]) -> int | None:
        async def op(client: Redis) -> int | None:
            return int(await script(keys=[self._prefix + key], args=args, client=client))

        return await self._redis.call(op, None)


def _check(limit: int, window_seconds: int) -> None:
    # A limit of 0 means "no limit" to callers; they must not ask the limiter at all.
    if limit < 1 or window_seconds < 1:
        raise ValueError("limit and window_seconds must be >= 1")
