"""Who may hold a stream and which events it may carry; no HTTP here.

- `StreamLimit`: at most N open streams per user on this instance (429 above).
- `Viewer`: the visibility rule (`tasks.access.may_see`) for one stream's user, on
  `Memberships` cached per user for `ttl` seconds and shared by the instance's
  streams, so a member removed from a project stops receiving its events within
  `ttl` (0: memberships read per event).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Iterator

from taskhub.db import Database
from taskhub.errors import RateLimited
from taskhub.events.broker import LiveEvent
from taskhub.projects.access import roles_of
from taskhub.tasks.access import may_see

RETRY_AFTER_SECONDS = 5


class StreamLimit:
    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._open: Counter[uuid.UUID] = Counter()

    @contextlib.contextmanager
    def hold(self, user_id: uuid.UUID) -> Iterator[None]:
        """Count one open stream for `user_id`; RateLimited if that is one too many."""
        if self._open[user_id] >= self.per_user:
            raise RateLimited(RETRY_AFTER_SECONDS)
        self._open[user_id] += 1
        try:
            yield
        finally:
            self._open[user_id] -= 1
            if self._open[user_id] <= 0:
                del self._open[user_id]


class Memberships:
    """Users' project ids, read at most once per `ttl` per user on this instance.

    Shared by every open stream: 1,000 streams of 50 users cost 50 reads per `ttl`,
    not 1,000. A user removed from a project stops getting its events within `ttl`.
    """

    def __init__(self, database: Database, ttl: float) -> None:
        self._database = database
        self._ttl = ttl
        self._known: dict[uuid.UUID, tuple[float, frozenset[str]]] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}

    async def projects_of(self, user_id: uuid.UUID) -> frozenset[str]:
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:  # one read per user however many streams ask at once
            known = self._known.get(user_id)
            if known is not None and time.monotonic() - known[0] < self._ttl:
                return known[1]
            async with self._database.reader() as session:
                projects = frozenset(await roles_of(session, user_id))
            self._known[user_id] = (time.monotonic(), projects)
            return projects


class Viewer:
    """The visibility rule for one stream's user."""

    def __init__(self, memberships: Memberships, user_id: uuid.UUID) -> None:
        self._memberships = memberships
        self.user_id = user_id

    async def sees(self, event: LiveEvent) -> bool:
        if event.owner_id is None:
            return False
        projects: frozenset[str] = frozenset()
        if event.project_id is not None:
            projects = await self._memberships.projects_of(self.user_id)
        return may_see(self.user_id, event.owner_id, event.project_id, projects)
