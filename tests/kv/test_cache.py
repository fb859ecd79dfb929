"""The cache contract, on the in-process and the Redis implementation alike."""

from __future__ import annotations

import asyncio

from taskhub.kv.cache import Cache
from taskhub.kv.memory_cache import InMemoryCache
from taskhub.kv.redis_cache import RedisCache
from tests.support.kv import Instances

TTL = 60.0


async def test_versioned_value_is_read_back(cache: Cache) -> None:
    await cache.put_versioned("task", 1, b"v1", TTL)

    assert await cache.get_versioned("task") == b"v1"


async def test_missing_key_is_a_miss(cache: Cache) -> None:
    assert await cache.get_versioned("task") is None


async def test_newer_version_replaces_older(cache: Cache) -> None:
    await cache.put_versioned("task", 1, b"v1", TTL)

    stored = await cache.put_versioned("task", 2, b"v2", TTL)

    assert stored is True
    assert await cache.get_versioned("task") == b"v2"


async def test_stale_put_after_newer_version_is_refused(cache: Cache) -> None:
    # A reader loaded version 3, a writer stored version 4, then the reader stores.
    await cache.put_versioned("task", 4, b"v4", TTL)

    older = await cache.put_versioned("task", 3, b"v3", TTL)
    same = await cache.put_versioned("task", 4, b"other", TTL)

    assert (older, same) == (False, False)
    assert await cache.get_versioned("task") == b"v4"


async def test_tombstone_hides_value_and_refuses_stale_put(cache: Cache) -> None:
    await cache.put_versioned("task", 3, b"v3", TTL)

    await cache.tombstone("task", TTL)
    resurrected = await cache.put_versioned("task", 3, b"v3", TTL)

    assert resurrected is False
    assert await cache.get_versioned("task") is None


async def test_tombstone_expires_after_its_ttl(cache: Cache) -> None:
    await cache.tombstone("task", 0.2)
    await asyncio.sleep(0.3)

    assert await cache.put_versioned("task", 1, b"v1", TTL) is True
    assert await cache.get_versioned("task") == b"v1"


async def test_evict_forgets_the_value(cache: Cache) -> None:
    await cache.put_versioned("task", 1, b"v1", TTL)

    await cache.evict("task")

    assert await cache.get_versioned("task") is None
    assert await cache.put_versioned("task", 1, b"v1", TTL) is True


async def test_versioned_value_expires_after_its_ttl(cache: Cache) -> None:
    await cache.put_versioned("task", 1, b"v1", 0.2)
    await asyncio.sleep(0.3)

    assert await cache.get_versioned("task") is None


async def test_value_stored_under_current_generation_is_served(cache: Cache) -> None:
    generation, before = await cache.get_with_generation("page", "gen")

    stored = await cache.put_for_generation("page", "gen", generation, b"page", TTL)

    assert before is None
    assert stored is True
    assert await cache.get_with_generation("page", "gen") == (generation, b"page")


async def test_bump_invalidates_values_of_older_generation(cache: Cache) -> None:
    generation, _ = await cache.get_with_generation("page", "gen")
    await cache.put_for_generation("page", "gen", generation, b"page", TTL)

    await cache.bump("gen")

    new_generation, value = await cache.get_with_generation("page", "gen")
    assert new_generation != generation
    assert value is None


async def test_put_computed_before_bump_is_refused(cache: Cache) -> None:
    # A reader takes the generation and queries; a writer bumps; the reader stores.
    generation, _ = await cache.get_with_generation("page", "gen")
    await cache.bump("gen")

    stored = await cache.put_for_generation("page", "gen", generation, b"stale", TTL)

    assert stored is False
    assert (await cache.get_with_generation("page", "gen"))[1] is None


async def test_generation_value_expires_after_its_ttl(cache: Cache) -> None:
    generation, _ = await cache.get_with_generation("page", "gen")
    await cache.put_for_generation("page", "gen", generation, b"page", 0.2)
    await asyncio.sleep(0.3)

    assert await cache.get_with_generation("page", "gen") == (generation, None)


async def test_generations_are_independent(cache: Cache) -> None:
    generation, _ = await cache.get_with_generation("page-a", "gen-a")
    await cache.put_for_generation("page-a", "gen-a", generation, b"a", TTL)

    await cache.bump("gen-b")

    assert (await cache.get_with_generation("page-a", "gen-a"))[1] == b"a"


async def test_values_are_bytes_exactly(cache: Cache) -> None:
    value = b"\x00:~:\xff" * 1000

    await cache.put_versioned("task", 1, value, TTL)

    assert await cache.get_versioned("task") == value


async def test_in_memory_cache_evicts_least_recently_used_entry() -> None:
    cache = InMemoryCache(max_entries=2)
    await cache.put_versioned("a", 1, b"a", TTL)
    await cache.put_versioned("b", 1, b"b", TTL)
    await cache.get_versioned("a")

    await cache.put_versioned("c", 1, b"c", TTL)

    assert await cache.get_versioned("a") == b"a"
    assert await cache.get_versioned("b") is None
    assert await cache.get_versioned("c") == b"c"


async def test_in_memory_cache_is_bounded_by_bytes() -> None:
    cache = InMemoryCache(max_bytes=1000)
    for i in range(10):
        await cache.put_versioned(f"k{i}", 1, b"x" * 300, TTL)

    kept = [await cache.get_versioned(f"k{i}") for i in range(10)]

    assert sum(1 for value in kept if value is not None) == 3
    assert kept[-1] is not None


async def test_write_on_one_instance_is_read_on_another(instances: Instances, prefix: str) -> None:
    reader = RedisCache(instances.new(), prefix=prefix)
    writer = RedisCache(instances.new(), prefix=prefix)
    await reader.put_versioned("task", 3, b"v3", TTL)

    await writer.put_versioned("task", 4, b"v4", TTL)  # the PATCH writes through
    late = await reader.put_versioned("task", 3, b"v3", TTL)  # a read that began before

    assert late is False
    assert await reader.get_versioned("task") == b"v4"


async def test_bump_on_one_instance_invalidates_another(instances: Instances, prefix: str) -> None:
    reader = RedisCache(instances.new(), prefix=prefix)
    writer = RedisCache(instances.new(), prefix=prefix)
    generation, _ = await reader.get_with_generation("page", "gen")

    await writer.bump("gen")
    late = await reader.put_for_generation("page", "gen", generation, b"stale", TTL)

    assert late is False
    assert (await reader.get_with_generation("page", "gen"))[1] is None


async def test_tombstone_on_one_instance_blocks_put_on_another(
    instances: Instances, prefix: str
) -> None:
    reader = RedisCache(instances.new(), prefix=prefix)
    writer = RedisCache(instances.new(), prefix=prefix)

    await writer.tombstone("task", TTL)

    assert await reader.put_versioned("task", 7, b"v7", TTL) is False
    assert await reader.get_versioned("task") is None


async def test_generation_restarts_above_old_values_when_its_key_is_lost(
    instances: Instances, prefix: str
) -> None:
    guarded = instances.new()
    cache = RedisCache(guarded, prefix=prefix)
    generation, _ = await cache.get_with_generation("page", "gen")
    await cache.put_for_generation("page", "gen", generation, b"page", TTL)

    await guarded.client.delete(prefix + "gen")  # evicted, or expired
    new_generation, value = await cache.get_with_generation("page", "gen")

    assert new_generation > generation
    assert value is None
