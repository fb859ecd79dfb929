"""What a task write tells the rest of the system: one outbox message per change.

A change enqueues a `task.activity` message in the writer's transaction (so it exists
iff the write commits). Its payload is the contract consumers read:

    {"task_id": "<uuid>", "actor_id": "<uuid>", "action": "updated" | "completed" |
     "reopened", "changes": {"fields": ["title", ...]}}

The activity log (`activity.service.record_activity`) consumes it today; webhooks and
live events can consume the same messages. Consumers import this module, never the
other way round, so tasks stays below them (see the import-linter contracts).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import RowMapping, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.jobs.outbox import enqueue
from taskhub.tasks.models import TASKS, Task

TASK_ACTIVITY = "task.activity"  # the job name `jobs.registry` maps to its consumer

# Columns that change with every write: not worth reporting as a change.
_BOOKKEEPING = frozenset({"updated_at", "version", "completed_at", "owner_id"})


def task_changed(
    session: AsyncSession, task_id: uuid.UUID, actor_id: uuid.UUID, changes: Mapping[str, Any]
) -> None:
    """Queue the message for a write that applied `changes` (column -> new value)."""
    fields = sorted(k for k in changes if k not in _BOOKKEEPING)
    action = "updated"
    if changes.get("done") is True:
        action = "completed"
    elif changes.get("done") is False:
        action = "reopened"
    payload = {
        "task_id": str(task_id),
        "actor_id": str(actor_id),
        "action": action,
        "changes": {"fields": fields},
    }
    enqueue(session, TASK_ACTIVITY, payload)


def existing_task(task_id: uuid.UUID) -> Select[uuid.UUID]:
    """The task's id if it still exists: for a consumer's `INSERT ... SELECT`.

    A message can run after its task was deleted; inserting from this select writes
    nothing then, instead of failing on the foreign key.
    """
    return select(Task.id).where(Task.id == task_id)


async def task_snapshot(session: AsyncSession, task_id: uuid.UUID) -> RowMapping | None:
    """The task's columns as they are now (None once deleted): what an event consumer
    (webhooks, live events) reports and whose place (owner, project) decides who sees it.
    """
    result = await session.execute(select(TASKS).where(Task.id == task_id))
    row: RowMapping | None = result.mappings().first()
    return row
