"""The rate limiter contract, on the in-process and the Redis implementation alike."""

from __future__ import annotations

import asyncio

from taskhub.limits import RateLimiter
from taskhub.limits.redis import RedisRateLimiter
from tests.support.kv import Instances


async def test_hit_allows_up_to_the_limit_then_blocks(limiter: RateLimiter) -> None:
    results = [await limiter.hit("k", 3, 60) for _ in range(4)]

    assert results[:3] == [None, None, None]
    assert results[3] is not None


async def test_retry_after_is_the_full_window_when_hits_are_back_to_back(
    limiter: RateLimiter,
) -> None:
    await limiter.hit("k", 2, 60)
    await limiter.hit("k", 2, 60)

    assert await limiter.hit("k", 2, 60) == 60
    assert await limiter.blocked_for("k", 2, 60) == 60


async def test_keys_are_counted_separately(limiter: RateLimiter) -> None:
    await limiter.hit("a", 1, 60)

    assert await limiter.hit("b", 1, 60) is None


async def test_blocked_for_does_not_count(limiter: RateLimiter) -> None:
    for _ in range(5):
        assert await limiter.blocked_for("k", 1, 60) is None

    assert await limiter.hit("k", 1, 60) is None


async def test_record_counts_every_event(limiter: RateLimiter) -> None:
    await limiter.record("k", 60)
    await limiter.record("k", 60)

    assert await limiter.blocked_for("k", 2, 60) == 60
    assert await limiter.blocked_for("k", 3, 60) is None


async def test_oldest_event_leaving_the_window_frees_a_slot(limiter: RateLimiter) -> None:
    await limiter.hit("k", 2, 2)
    await asyncio.sleep(1.1)
    await limiter.hit("k", 2, 2)

    wait = await limiter.hit("k", 2, 2)  # blocked until the first event is 2 s old
    await asyncio.sleep(1.0)
    after_first_expired = await limiter.hit("k", 2, 2)

    assert wait == 1
    assert after_first_expired is None


async def test_blocked_hits_are_not_counted(limiter: RateLimiter) -> None:
    await limiter.hit("k", 1, 2)
    await asyncio.sleep(1.1)
    blocked = await limiter.hit("k", 1, 2)

    await asyncio.sleep(1.0)  # the first hit has left the window; a counted second would not

    assert blocked == 1
    assert await limiter.hit("k", 1, 2) is None


async def test_redis_limit_is_shared_by_instances(instances: Instances, prefix: str) -> None:
    first = RedisRateLimiter(instances.new(), prefix=prefix)
    second = RedisRateLimiter(instances.new(), prefix=prefix)

    await first.hit("user", 2, 60)
    await second.hit("user", 2, 60)

    assert await first.hit("user", 2, 60) == 60
    assert await second.blocked_for("user", 2, 60) == 60


async def test_redis_limit_key_expires_one_window_after_its_last_event(
    instances: Instances, prefix: str
) -> None:
    guarded = instances.new()
    limiter = RedisRateLimiter(guarded, prefix=prefix)

    await limiter.hit("user", 5, 30)

    ttl_ms = await guarded.client.pttl(prefix + "user")
    assert 29_000 < ttl_ms <= 30_000
