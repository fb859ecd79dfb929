"""Hot-read caching for tasks: single tasks by id and the first page of the default list.

Correct across API instances when the cache is Redis (see `taskhub.kv.cache` for the
races this relies on being handled):

* A task entry carries its owner and project, so a hit is still checked against the
  caller: inbox tasks by owner, project tasks against the caller's cached roles. The
  cache never widens what a caller may see.
* Writers store the new version (`put_versioned`) or tombstone the key before they
  answer, so no instance serves the old version once the write has returned.
* Derived data (a user's roles, a user's first page) lives under per-user generations
  that every affecting write bumps after its commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import orjson

from taskhub.kv.cache import Cache

TASK_TTL = 60.0
PAGE_TTL = 30.0
ROLES_TTL = 60.0
TOMBSTONE_TTL = 60.0  # longer than any read-then-store can take


@dataclass(frozen=True, slots=True)
class CachedTask:
    owner_id: str
    project_id: str | None
    version: int
    body: bytes


def _task_key(task_id: uuid.UUID | str) -> str:
    return f"task:{task_id}"


def _encode(owner_id: str, project_id: str | None, version: int, body: bytes) -> bytes:
    return f"{owner_id}|{project_id or ''}|{version}\n".encode() + body


def _decode(raw: bytes) -> CachedTask | None:
    """The entry, or None for anything malformed (a miss: the database answers)."""
    head, sep, body = raw.partition(b"\n")
    try:
        parts = head.decode().split("|")
        if not sep or len(parts) != 3:
            return None
        owner, project, version = parts
        # Every stored entry names a real owner (and project, when not in an inbox); one
        # that does not was not written by `store` and must not decide visibility.
        uuid.UUID(owner)
        if project:
            uuid.UUID(project)
        if not body:
            return None
        return CachedTask(owner, project or None, int(version), body)
    except (UnicodeDecodeError, ValueError):
        return None


class TaskCache:
    def __init__(self, cache: Cache, *, enabled: bool = True) -> None:
        self._cache = cache
        self.enabled = enabled

    # Single tasks -------------------------------------------------------------------

    async def get(self, task_id: uuid.UUID) -> CachedTask | None:
        if not self.enabled:
            return None
        raw = await self._cache.get_versioned(_task_key(task_id))
        return _decode(raw) if raw is not None else None

    async def store(
        self,
        task_id: uuid.UUID | str,
        owner_id: uuid.UUID | str,
        project_id: uuid.UUID | str | None,
        version: int,
        body: bytes,
    ) -> None:
        if not self.enabled:
            return
        value = _encode(str(owner_id), str(project_id) if project_id else None, version, body)
        await self._cache.put_versioned(_task_key(task_id), version, value, TASK_TTL)

    async def forget(self, task_ids: Iterable[uuid.UUID | str]) -> None:
        if not self.enabled:
            return
        for task_id in task_ids:
            await self._cache.tombstone(_task_key(task_id), TOMBSTONE_TTL)

    # Per-user derived data ------------------------------------------------------------

    async def roles(
        self, user_id: uuid.UUID, load: Callable[[], Awaitable[dict[str, str]]]
    ) -> dict[str, str]:
        """Project id -> role for `user_id`, from the cache or `load`."""
        if not self.enabled:
            return await load()
        key, gen_key = f"roles:{user_id}", f"rolesgen:{user_id}"
        generation, raw = await self._cache.get_with_generation(key, gen_key)
        if raw is not None:
            try:
                cached = orjson.loads(raw)
            except orjson.JSONDecodeError:
                cached = None
            if isinstance(cached, dict):
                return {str(k): str(v) for k, v in cached.items()}
        roles = await load()
        await self._cache.put_for_generation(
            key, gen_key, generation, orjson.dumps(roles), ROLES_TTL
        )
        return roles

    async def first_page(
        self, user_id: uuid.UUID, limit: int, load: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        """The default list's first page for `user_id`, from the cache or `load`."""
        if not self.enabled:
            return await load()
        key, gen_key = f"page:{user_id}:{limit}", f"pagegen:{user_id}"
        generation, raw = await self._cache.get_with_generation(key, gen_key)
        if raw is not None:
            return raw
        body = await load()
        await self._cache.put_for_generation(key, gen_key, generation, body, PAGE_TTL)
        return body

    async def lists_changed(self, user_ids: Iterable[uuid.UUID | str]) -> None:
        if not self.enabled:
            return
        for user_id in set(map(str, user_ids)):
            await self._cache.bump(f"pagegen:{user_id}")

    async def memberships_changed(self, user_ids: Iterable[uuid.UUID | str]) -> None:
        """Roles changed (or a project was deleted): roles and first pages are stale."""
        if not self.enabled:
            return
        for user_id in set(map(str, user_ids)):
            await self._cache.bump(f"rolesgen:{user_id}")
            await self._cache.bump(f"pagegen:{user_id}")
