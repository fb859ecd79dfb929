"""Redis clients that stand for separate API instances, for the kv tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from taskhub.kv.redis_client import GuardedRedis


@dataclass
class Instances:
    """Opens Redis clients that stand for separate API instances (separate pools)."""

    url: str
    opened: list[GuardedRedis] = field(default_factory=list)

    def new(self, cooldown: float = 1.0) -> GuardedRedis:
        guarded = GuardedRedis.from_url(self.url, cooldown=cooldown)
        self.opened.append(guarded)
        return guarded

    async def delete_prefixed(self, prefix: str) -> None:
        cleanup = self.new()
        keys = [key async for key in cleanup.client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await cleanup.client.delete(*keys)

    async def aclose(self) -> None:
        for guarded in self.opened:
            await guarded.aclose()


__all__ = ["Instances"]
