"""Fixtures for the Redis-backed pieces: a real Redis at 127.0.0.1:6379, one key prefix
per test, and throwaway redis-server processes for the outage tests.

These tests exercise the kv package directly (there is no HTTP surface of its own), so
they do not need the application or its database.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
import redis

from taskhub.kv.cache import Cache
from taskhub.kv.memory_cache import InMemoryCache
from taskhub.kv.redis_cache import RedisCache
from taskhub.kv.redis_client import GuardedRedis
from taskhub.limits import RateLimiter
from taskhub.limits.memory import InMemoryRateLimiter
from taskhub.limits.redis import RedisRateLimiter

REDIS_URL = os.environ.get("TASKHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what}: failing, CI requires it")
    pytest.skip(f"!!!!! {what}: SKIPPING (outside CI only) !!!!!")


@pytest.fixture(autouse=True)
def _clean_state() -> None:
    """Replaces the suite-wide database cleanup: nothing here touches the database."""


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _missing(f"Redis at {REDIS_URL} is unreachable ({type(exc).__name__}: {exc})")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"


async def _delete_prefixed(guarded: GuardedRedis, prefix: str) -> None:
    keys = [key async for key in guarded.client.scan_iter(match=prefix + "*", count=1000)]
    if keys:
        await guarded.client.delete(*keys)


@dataclass
class Instances:
    """Opens Redis clients that stand for separate API instances (separate pools)."""

    url: str
    opened: list[GuardedRedis] = field(default_factory=list)

    def new(self, cooldown: float = 1.0) -> GuardedRedis:
        guarded = GuardedRedis.from_url(self.url, cooldown=cooldown)
        self.opened.append(guarded)
        return guarded


@pytest.fixture
async def instances(redis_url: str, prefix: str) -> AsyncIterator[Instances]:
    opened = Instances(redis_url)
    yield opened
    cleanup = opened.new()
    keys = [key async for key in cleanup.client.scan_iter(match=prefix + "*", count=1000)]
    if keys:
        await cleanup.client.delete(*keys)
    for guarded in opened.opened:
        await guarded.aclose()


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest, prefix: str) -> Cache:
    if request.param == "memory":
        return InMemoryCache()
    instances: Instances = request.getfixturevalue("instances")
    return RedisCache(instances.new(), prefix=prefix)


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest, prefix: str) -> RateLimiter:
    if request.param == "memory":
        return InMemoryRateLimiter()
    instances: Instances = request.getfixturevalue("instances")
    return RedisRateLimiter(instances.new(), prefix=prefix)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """A redis-server process of our own, without persistence, that tests may kill."""

    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.2)
        deadline = time.monotonic() + 5
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
        finally:
            client.close()

    def freeze(self) -> None:
        """Stop the process without closing its socket: Redis hangs instead of refusing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=5)
            self.process = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        _missing("redis-server is not installed")
    server = RedisServer()
    server.start()
    yield server
    server.kill()
