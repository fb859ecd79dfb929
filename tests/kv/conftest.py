"""Fixtures for the Redis-backed pieces: a real Redis at 127.0.0.1:6379, one key prefix
per test, and throwaway redis-server processes for the outage tests.

These tests exercise the kv package directly (there is no HTTP surface of its own), so
they do not need the application or its database.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from taskhub.kv.cache import Cache
from taskhub.kv.memory_cache import InMemoryCache
from taskhub.kv.redis_cache import RedisCache
from taskhub.kv.redis_client import GuardedRedis
from taskhub.limits import RateLimiter
from taskhub.limits.memory import InMemoryRateLimiter
from taskhub.limits.redis import RedisRateLimiter
from tests.support.env import REDIS_URL, missing
from tests.support.kv import Instances
from tests.support.servers import RedisProcess, own_redis


@pytest.fixture(autouse=True)
def _clean_state() -> None:
    """Replaces the suite-wide database cleanup: nothing here touches the database."""


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        missing(f"Redis at {REDIS_URL} is unreachable ({type(exc).__name__}: {exc})")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture
async def instances(redis_url: str, prefix: str) -> AsyncIterator[Instances]:
    opened = Instances(redis_url)
    yield opened
    await opened.delete_prefixed(prefix)
    await opened.aclose()


def _on_redis(request: pytest.FixtureRequest) -> GuardedRedis | None:
    """The Redis client for the "redis" variant of a fixture, None for "memory"."""
    if request.param == "memory":
        return None
    instances: Instances = request.getfixturevalue("instances")
    return instances.new()


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest, prefix: str) -> Cache:
    guarded = _on_redis(request)
    return InMemoryCache() if guarded is None else RedisCache(guarded, prefix=prefix)


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest, prefix: str) -> RateLimiter:
    guarded = _on_redis(request)
    return InMemoryRateLimiter() if guarded is None else RedisRateLimiter(guarded, prefix=prefix)


@pytest.fixture
def redis_server() -> Iterator[RedisProcess]:
    yield from own_redis()
