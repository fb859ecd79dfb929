"""A read cache whose invalidation stays correct across API instances.

Two ways to keep a cached value from going stale, both safe against the race where a
reader loads a row, a writer commits and invalidates, and the reader then stores what it
loaded:

* Versioned entries (one row, e.g. a task with its `version` column): `put_versioned`
  stores only over an entry of a lower version, so a reader's late write of version 3
  cannot replace the writer's version 4, and never over a tombstone, so a deleted row
  cannot be resurrected. Writers either store the new version or `tombstone` the key.
* Generations (derived data, e.g. a list page): a value is stored under the generation
  it was computed from and served only while that generation is current; `bump`
  invalidates every value computed before it, including ones still being computed.

Every method fails open on Redis: a miss, or a write that does nothing.

Implementations: `memory_cache.InMemoryCache` (one process) and
`redis_cache.RedisCache` (shared by every instance).
"""

from __future__ import annotations

from typing import Protocol

NO_GENERATION = -1  # returned when the generation is unknown (Redis down); never current
DEFAULT_GENERATION_TTL = 24 * 3600.0


class Cache(Protocol):
    async def get_versioned(self, key: str) -> bytes | None:
        """The value stored by `put_versioned`, or None (missing, expired, tombstoned)."""

    async def put_versioned(self, key: str, version: int, value: bytes, ttl: float) -> bool:
        """Store unless `key` holds a version >= `version` or a tombstone; True if stored."""

    async def tombstone(self, key: str, ttl: float) -> None:
        """Mark `key` deleted for `ttl` seconds: reads miss and `put_versioned` is refused."""

    async def evict(self, key: str) -> None:
        """Forget `key` (no protection against a racing `put_versioned`; see `tombstone`)."""

    async def get_with_generation(self, key: str, gen_key: str) -> tuple[int, bytes | None]:
        """The current generation of `gen_key`, and `key`'s value if stored under it."""

    async def put_for_generation(
        self, key: str, gen_key: str, generation: int, value: bytes, ttl: float
    ) -> bool:
        """Store `value` under `generation` if it is still current; True if stored."""

    async def bump(self, gen_key: str) -> None:
        """Start a new generation: every value stored under an older one is invalid."""
