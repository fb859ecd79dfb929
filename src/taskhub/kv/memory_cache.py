"""The `Cache` for one process, when there is no Redis: an LRU of versions and generations."""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from dataclasses import dataclass

from taskhub.kv.cache import DEFAULT_GENERATION_TTL


@dataclass(slots=True)
class _Entry:
    tag: int | None  # version or generation; None marks a tombstone
    value: bytes
    expires_at: float


class InMemoryCache:
    """The `Cache` for one process: LRU-bounded by entry count and by value bytes."""

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        max_bytes: int = 64 * 1024 * 1024,
        generation_ttl: float = DEFAULT_GENERATION_TTL,
    ) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._generations: OrderedDict[str, _Entry] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._generation_ttl = generation_ttl
        # Every generation handed out is new, so a generation forgotten (expired or
        # evicted) and started again never equals one that values were stored under.
        self._generation_seq = itertools.count(1)

    def _now(self) -> float:
        return time.monotonic()

    async def get_versioned(self, key: str) -> bytes | None:
        entry = self._live(key)
        if entry is None or entry.tag is None:
            return None
        return entry.value

    async def put_versioned(self, key: str, version: int, value: bytes, ttl: float) -> bool:
        entry = self._live(key)
        if entry is not None and (entry.tag is None or entry.tag >= version):
            return False
        self._store(key, _Entry(version, value, self._now() + ttl))
        return True

    async def tombstone(self, key: str, ttl: float) -> None:
        self._store(key, _Entry(None, b"", self._now() + ttl))

    async def evict(self, key: str) -> None:
        self._drop(key)

    async def get_with_generation(self, key: str, gen_key: str) -> tuple[int, bytes | None]:
        generation = self._generation(gen_key)
        entry = self._live(key)
        if entry is None or entry.tag != generation:
            return generation, None
        return generation, entry.value

    async def put_for_generation(
        self, key: str, gen_key: str, generation: int, value: bytes, ttl: float
    ) -> bool:
        current = self._generations.get(gen_key)
        if current is None or current.expires_at <= self._now() or current.tag != generation:
            return False
        self._store(key, _Entry(generation, value, self._now() + ttl))
        return True

    async def bump(self, gen_key: str) -> None:
        self._new_generation(gen_key)

    def _generation(self, gen_key: str) -> int:
        entry = self._generations.get(gen_key)
        if entry is None or entry.expires_at <= self._now() or entry.tag is None:
            return self._new_generation(gen_key)
        return entry.tag

    def _new_generation(self, gen_key: str) -> int:
        generation = next(self._generation_seq)
        self._generations[gen_key] = _Entry(generation, b"", self._now() + self._generation_ttl)
        self._generations.move_to_end(gen_key)
        while len(self._generations) > self._max_entries:
            self._generations.popitem(last=False)
        return generation

    def _live(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= self._now():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def _store(self, key: str, entry: _Entry) -> None:
        self._drop(key)
        self._entries[key] = entry
        self._bytes += len(entry.value)
        while self._entries and (
            len(self._entries) > self._max_entries or self._bytes > self._max_bytes
        ):
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted.value)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.value)
