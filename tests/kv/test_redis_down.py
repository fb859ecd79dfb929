"""A dead Redis costs nothing and is forgotten by itself once it is back.

Each test runs its own redis-server so it can kill and restart it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis
from structlog.testing import capture_logs

from taskhub.kv.cache import NO_GENERATION
from taskhub.kv.redis_cache import RedisCache
from taskhub.kv.redis_client import GuardedRedis
from taskhub.limits.redis import RedisRateLimiter
from tests.support.servers import RedisProcess

FAST = 0.5  # "skipped, not waited for": far below one timeout per request


@pytest.fixture
async def guarded(redis_server: RedisProcess) -> AsyncIterator[GuardedRedis]:
    client = GuardedRedis.from_url(redis_server.url)
    yield client
    await client.aclose()


def operations(guarded: GuardedRedis) -> dict[str, tuple[Callable[[], Awaitable[Any]], Any]]:
    """Every kv operation, with the answer it must give while Redis is down."""
    limiter = RedisRateLimiter(guarded)
    cache = RedisCache(guarded)
    return {
        "hit": (lambda: limiter.hit("k", 1, 60), None),
        "blocked_for": (lambda: limiter.blocked_for("k", 1, 60), None),
        "record": (lambda: limiter.record("k", 60), None),
        "get_versioned": (lambda: cache.get_versioned("t"), None),
        "put_versioned": (lambda: cache.put_versioned("t", 1, b"v", 60), False),
        "tombstone": (lambda: cache.tombstone("t", 60), None),
        "evict": (lambda: cache.evict("t"), None),
        "get_with_generation": (
            lambda: cache.get_with_generation("p", "g"),
            (NO_GENERATION, None),
        ),
        "put_for_generation": (lambda: cache.put_for_generation("p", "g", 1, b"v", 60), False),
        "bump": (lambda: cache.bump("g"), None),
    }


async def _works_again(cache: RedisCache, limiter: RedisRateLimiter, deadline: float) -> float:
    """Seconds until a cache round trip and a counted hit succeed, polling until `deadline`."""
    start = time.monotonic()
    version = 0
    while time.monotonic() < deadline:
        version += 1
        await cache.put_versioned("t", version, b"back", 60)
        if await cache.get_versioned("t") == b"back":
            break
        await asyncio.sleep(0.05)
    await limiter.hit("k", 1, 60)
    assert await limiter.blocked_for("k", 1, 60) is not None
    return time.monotonic() - start


async def _all_fail_open_fast(ops: dict[str, tuple[Callable[[], Awaitable[Any]], Any]]) -> None:
    """Every operation answers its fail-open value without waiting on Redis."""
    for name, (call, fail_open) in ops.items():
        start = time.monotonic()
        result = await call()
        elapsed = time.monotonic() - start
        assert result == fail_open, name
        assert elapsed < FAST, f"{name} took {elapsed:.3f}s"


async def test_every_operation_fails_open_at_once_when_redis_dies(
    guarded: GuardedRedis, redis_server: RedisProcess
) -> None:
    ops = operations(guarded)
    assert await guarded.client.ping()  # the pool holds live connections

    redis_server.kill()

    for _round in range(2):
        await _all_fail_open_fast(ops)


async def test_a_hung_redis_costs_one_timeout_then_is_skipped(
    guarded: GuardedRedis, redis_server: RedisProcess
) -> None:
    ops = operations(guarded)
    assert await guarded.client.ping()

    redis_server.freeze()
    start = time.monotonic()
    first = await ops["get_versioned"][0]()
    first_elapsed = time.monotonic() - start

    assert first is None
    assert first_elapsed < 1.0
    await _all_fail_open_fast(ops)


@pytest.mark.parametrize("outage", ["hung", "restarted"])
async def test_redis_is_used_again_once_it_answers(
    guarded: GuardedRedis, redis_server: RedisProcess, outage: str
) -> None:
    cache, limiter = RedisCache(guarded), RedisRateLimiter(guarded)
    await cache.put_versioned("t", 1, b"before", 60)
    # Hung: the process stops but keeps its socket. Restarted: it comes back empty.
    stop, resume = (
        (redis_server.freeze, redis_server.thaw)
        if outage == "hung"
        else (redis_server.kill, redis_server.start)
    )
    stop()
    assert await cache.get_versioned("t") is None

    resume()
    took = await _works_again(cache, limiter, deadline=time.monotonic() + 3)

    assert took < 2.5
    assert guarded.available


async def test_an_outage_logs_one_warning_down_and_one_back(redis_server: RedisProcess) -> None:
    with capture_logs() as logs:
        guarded = GuardedRedis.from_url(redis_server.url)
        cache, limiter = RedisCache(guarded), RedisRateLimiter(guarded)
        await cache.get_versioned("t")
        redis_server.kill()
        for _ in range(20):
            await cache.get_versioned("t")
            await limiter.hit("k", 5, 60)
        redis_server.start()
        await _works_again(cache, limiter, deadline=time.monotonic() + 3)
        for _ in range(5):
            await cache.get_versioned("t")
        await guarded.aclose()

    events = [(entry["event"], entry["log_level"]) for entry in logs]
    assert events == [("redis_unavailable", "warning"), ("redis_recovered", "warning")]


async def test_invalidation_lost_during_an_outage_is_applied_when_redis_returns(
    redis_server: RedisProcess,
) -> None:
    # Instance B loses Redis (here: its user's rights are revoked) while Redis keeps its
    # data, so instance A still holds the entry B failed to replace.
    admin = redis.asyncio.Redis(port=redis_server.port)
    await admin.acl_setuser("b", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all"])
    a = GuardedRedis.from_url(redis_server.url)
    b = GuardedRedis.from_url(f"redis://b:pw@127.0.0.1:{redis_server.port}/0", cooldown=0.1)
    cache_a, cache_b = RedisCache(a), RedisCache(b)
    await cache_a.put_versioned("task", 3, b"v3", 60)

    await admin.acl_setuser("b", enabled=True, commands=["-@all"])
    lost = await cache_b.put_versioned("task", 4, b"v4", 60)  # the PATCH's write-through
    await admin.acl_setuser("b", enabled=True, commands=["+@all"])
    await asyncio.sleep(0.15)
    await cache_b.get_versioned("anything")  # B's next use of Redis

    seen_by_a = await cache_a.get_versioned("task")
    for client in (a, b):
        await client.aclose()
    await admin.aclose()

    assert lost is False
    assert seen_by_a is None
