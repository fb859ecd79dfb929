"""Who may hold a stream and which events it may carry; no HTTP here.

- `StreamLimit`: at most N open streams per user on this instance (429 above).
- `Viewer`: the visibility rule (`tasks.access.may_see`) for one stream's user, with
  the user's project memberships cached for `ttl` seconds, so a member removed from a
  project stops receiving its events within `ttl` (0: memberships read per event).
"""

from __future__ import annotations

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


class Viewer:
    def __init__(self, database: Database, user_id: uuid.UUID, ttl: float) -> None:
        self._database = database
        self.user_id = user_id
        self._ttl = ttl
        self._projects: set[str] = set()
        self._read_at = float("-inf")

    async def sees(self, event: LiveEvent) -> bool:
        if event.owner_id is None:
            return False
        if event.project_id is not None and time.monotonic() - self._read_at >= self._ttl:
            async with self._database.reader() as session:
                self._projects = set(await roles_of(session, self.user_id))
            self._read_at = time.monotonic()
        return may_see(self.user_id, event.owner_id, event.project_id, self._projects)
