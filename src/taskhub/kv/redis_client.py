"""One Redis client per process, behind a circuit breaker so a dead Redis costs nothing.

Every caller goes through `GuardedRedis.call(op, fallback)`: when Redis fails, the
breaker opens and calls return `fallback` immediately for `cooldown` seconds; then one
call probes Redis and, if it answers, the breaker closes again. Two log lines per
outage (down, back), never one per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from taskhub.ops.logging import get_logger

T = TypeVar("T")

CONNECT_TIMEOUT_SECONDS = 0.25
SOCKET_TIMEOUT_SECONDS = 0.5
COOLDOWN_SECONDS = 1.0


def create_redis(
    url: str,
    *,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    socket_timeout: float = SOCKET_TIMEOUT_SECONDS,
    max_connections: int = 64,
) -> Redis:
    """A `redis.asyncio.Redis` for `url` with short timeouts, for use behind `GuardedRedis`."""
    return Redis.from_url(
        url,
        socket_connect_timeout=connect_timeout,
        socket_timeout=socket_timeout,
        # One immediate retry, on connection errors only: after a Redis restart every
        # pooled connection is dead and the retry takes a fresh one. Timeouts are not
        # retried, so one call waits at most one timeout.
        retry=Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,)),
        max_connections=max_connections,
        decode_responses=False,
    )


class GuardedRedis:
    """A Redis client whose failures open a circuit breaker instead of raising."""

    def __init__(self, client: Redis, *, cooldown: float = COOLDOWN_SECONDS) -> None:
        self.client = client
        self._cooldown = cooldown
        self._open_until = 0.0
        self._down = False
        self._probing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._log = get_logger("taskhub.kv")

    @classmethod
    def from_url(cls, url: str, *, cooldown: float = COOLDOWN_SECONDS) -> GuardedRedis:
        return cls(create_redis(url), cooldown=cooldown)

    @property
    def available(self) -> bool:
        """False while the breaker is open (Redis failed less than `cooldown` ago)."""
        return not self._down

    async def call(
        self, op: Callable[[Redis], Awaitable[T]], fallback: T, *, force: bool = False
    ) -> T:
        """`await op(client)`, or `fallback` if Redis is failing or was failing just now.

        `force` tries Redis even while the breaker is open (for background retries, which
        no request waits for); its outcome opens or closes the breaker as usual.
        """
        if force:
            return await self._attempt(op, fallback, probe=False)
        if self._down and (self._probing or time.monotonic() < self._open_until):
            return fallback
        return await self._attempt(op, fallback, probe=self._down)

    async def _attempt(self, op: Callable[[Redis], Awaitable[T]], fallback: T, probe: bool) -> T:
        if probe:
            # While Redis is suspect, one request at a time checks it; the rest skip it.
            self._probing = True
        try:
            result = await op(self.client)
        except (RedisError, OSError) as exc:
            self._trip(exc)
            return fallback
        finally:
            if probe:
                self._probing = False
        if self._down:
            self._down = False
            self._log.warning("redis_recovered")
        return result

    async def ping(self) -> bool:
        """True if Redis answers now (bypasses the breaker's cooldown, for health checks)."""
        try:
            return bool(await self.client.ping())
        except (RedisError, OSError):
            return False

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `work` in the background until it ends or `aclose()` cancels it."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()

    def _trip(self, exc: BaseException) -> None:
        self._open_until = time.monotonic() + self._cooldown
        if not self._down:
            self._down = True
            self._log.warning(
                "redis_unavailable",
                error=f"{type(exc).__name__}: {exc}",
                retry_in_seconds=self._cooldown,
            )
