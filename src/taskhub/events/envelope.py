"""One event as every consumer sees it, read from the message its write left in the outbox.

Tasks enqueue a `task.activity` message in the transaction of each change
(`tasks.events`); the job that runs it hands the same `Event` to the activity log,
the webhook fan-out and the live stream, so all three agree on what happened. The
payload may name the event (`event`) and the task's place at that moment
(`owner_id`, `project_id`, needed after a deletion); otherwise both come from the
task as it is now.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.jobs.registry import Job, JobFunction
from taskhub.tasks.encode import encode_task
from taskhub.tasks.events import task_snapshot


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    occurred_at: datetime
    data: dict[str, Any]
    task_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None  # the task's place: who may see this event
    project_id: uuid.UUID | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Consumer = Callable[[AsyncSession, Event], Awaitable[None]]


def _uuid(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


def _event_type(payload: dict[str, Any]) -> str:
    named = payload.get("event")
    if isinstance(named, str):
        return named
    return "task.completed" if payload.get("action") == "completed" else "task.updated"


async def from_message(session: AsyncSession, job: Job) -> Event | None:
    """The event a `task.activity` message records; None if nobody could see it."""
    payload = job.payload
    task_id = uuid.UUID(payload["task_id"])
    row = await task_snapshot(session, task_id)
    owner_id = _uuid(payload.get("owner_id") or (row["owner_id"] if row else None))
    if owner_id is None:
        return None  # deleted, and the message does not say where it was
    project_id = _uuid(
        payload["project_id"] if "project_id" in payload else (row["project_id"] if row else None)
    )
    occurred = payload.get("occurred_at")
    data = {
        "task_id": str(task_id),
        "actor_id": payload.get("actor_id"),
        "action": payload.get("action"),
        "changes": payload.get("changes") or {},
        "task": orjson.loads(encode_task(row)) if row is not None else None,
    }
    return Event(
        type=_event_type(payload),
        occurred_at=datetime.fromisoformat(occurred) if occurred else job.created_at,
        data=data,
        task_id=task_id,
        owner_id=owner_id,
        project_id=project_id,
    )


def consuming(first: JobFunction, consumers: Sequence[Consumer]) -> JobFunction:
    """The `task.activity` job body: `first` (the activity log), then every consumer.

    All run in the job's transaction, so a failure retries the whole message and the
    fan-out rows commit with the activity entry or not at all.
    """

    async def run(session: AsyncSession, job: Job) -> None:
        await first(session, job)
        event = await from_message(session, job)
        if event is None:
            return
        for consumer in consumers:
            await consumer(session, event)

    return run
