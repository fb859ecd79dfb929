"""The rate limiter for one process (no Redis configured)."""

from __future__ import annotations

import math
import time
from collections import deque


class InMemoryRateLimiter:
    """Sliding-window log per key, for a single process.

    Memory is bounded: callers record only while a key is under its limit, so a log
    holds at most `limit` timestamps, and idle keys are swept when the table fills.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self._events: dict[str, deque[float]] = {}
        self._max_keys = max_keys
        self._last_sweep = 0.0

    def _now(self) -> float:
        return time.monotonic()

    def _window(self, key: str, window_seconds: int, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= self._max_keys:
                self._sweep(now, window_seconds)
            events = self._events.setdefault(key, deque())
        cutoff = now - window_seconds
        while events and events[0] <= cutoff:
            events.popleft()
        return events

    def _sweep(self, now: float, window_seconds: int) -> None:
        cutoff = now - window_seconds
        stale = [k for k, ev in self._events.items() if not ev or ev[-1] <= cutoff]
        for key in stale:
            del self._events[key]
        if len(self._events) >= self._max_keys:  # still full: drop the oldest entries
            for key in list(self._events)[: len(self._events) // 10 + 1]:
                del self._events[key]

    async def blocked_for(self, key: str, limit: int, window_seconds: int) -> int | None:
        now = self._now()
        events = self._window(key, window_seconds, now)
        if len(events) < limit:
            return None
        return max(1, math.ceil(events[-limit] + window_seconds - now))

    async def record(self, key: str, window_seconds: int) -> None:
        now = self._now()
        events = self._window(key, window_seconds, now)
        events.append(now)

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        wait = await self.blocked_for(key, limit, window_seconds)
        if wait is None:
            await self.record(key, window_seconds)
        return wait
