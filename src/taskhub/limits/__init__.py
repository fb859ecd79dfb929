"""Rate limiting behind one interface: in this process, or in Redis when configured.

`memory.InMemoryRateLimiter` serves one process; `redis.RedisRateLimiter` is shared by
every instance. Both keep a sliding-window log per key and give the same answers.
"""

from __future__ import annotations

from typing import Protocol


class RateLimiter(Protocol):
    async def blocked_for(self, key: str, limit: int, window_seconds: int) -> int | None:
        """Seconds until `key` may act again if it has `limit` events in the window, else None."""

    async def record(self, key: str, window_seconds: int) -> None:
        """Count one event for `key`."""

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        """Count one event unless over the limit; seconds to wait if it is over."""
