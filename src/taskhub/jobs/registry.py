"""Job bodies by name: plain functions of a session and the job, supplied by their domains.

The jobs package runs whatever it is given and imports no domain: the composition root
(`taskhub.wiring.job_registry`) hands each domain's job bodies to the runner and the
Celery worker. A body runs inside the transaction that marks its outbox row done.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

# Job names are the contract between the domain that enqueues and the one that runs.
TASK_ACTIVITY = "task.activity"  # enqueued by tasks, run by activity
TASK_REMINDER = "task.reminder"  # enqueued by tasks for remind_at, run by tasks.reminders
SEARCH_EMBED = "search.embed"  # enqueued by tasks (title/description written), run by search
SEARCH_REINDEX = "search.reindex"  # enqueued by search itself: one backfill batch per run


@dataclass(frozen=True, slots=True)
class Job:
    id: uuid.UUID  # the outbox row: the same on every redelivery, an idempotency key
    name: str
    payload: dict[str, Any]
    created_at: datetime  # when the transaction that caused it committed


JobFunction = Callable[[AsyncSession, Job], Awaitable[None]]


class JobRegistry(Mapping[str, JobFunction]):
    """Job name -> body. Built once at start-up; a name is registered once."""

    def __init__(
        self,
        functions: Mapping[str, JobFunction] | None = None,
        *,
        batchable: frozenset[str] = frozenset(),
    ) -> None:
        self._functions: dict[str, JobFunction] = {}
        for name, function in (functions or {}).items():
            self.register(name, function)
        # Bodies that only write this database (no call out, nothing a retry would
        # repeat elsewhere): the embedded runner may run several in one transaction.
        self.batchable = batchable

    def register(self, name: str, function: JobFunction) -> None:
        if name in self._functions:
            raise ValueError(f"job {name!r} is already registered")
        self._functions[name] = function

    def __getitem__(self, name: str) -> JobFunction:
        return self._functions[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._functions)

    def __len__(self) -> int:
        return len(self._functions)
