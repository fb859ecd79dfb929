"""What happened to a task, told to the rest of the system: one outbox message per event.

A text write (creation, or a new title or description) also enqueues `search.embed`
`{"task_id": "<uuid>"}`, after which the task's embedding is recomputed.

`emit` is the one emission point. Every event SPEC §9 names (`task.created`,
`task.updated`, `task.completed`, `task.deleted`, `task.reminder`, `comment.created`)
goes through it, in the transaction of the write that caused it, so the message exists
iff the write commits. The message runs as the `task.activity` job; its payload is the
contract consumers read:

    {"event": "task.completed", "task_id": "<uuid>", "actor_id": "<uuid>" | null,
     "owner_id": "<uuid>", "project_id": "<uuid>" | null,
     "action": "created" | "updated" | "completed" | "reopened" | "commented" | "reminded"
               | "deleted",
     "changes": {...}, "occurred_at": "<RFC 3339>"}

`owner_id`/`project_id` name the task's place when the event happened (who may see
it, via `tasks.access.may_see`), which a consumer still needs after a deletion. The
activity log (`activity.service.record_activity`) consumes the message today;
webhooks and live events consume the same messages. Consumers import this module,
never the other way round, so tasks stays below them (see the import-linter contracts).

`schedule_reminder` queues the `task.reminder` job for the instant a reminder is due
(see `tasks.reminders`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import RowMapping, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.db import utcnow
from taskhub.jobs.outbox import enqueue
from taskhub.jobs.registry import SEARCH_EMBED, TASK_ACTIVITY, TASK_REMINDER
from taskhub.tasks.models import TASKS, Task

# session.info key: set (by the app) when embeddings are on; without it no search.embed
# message is queued, so a server with TASKHUB_EMBEDDINGS=off pays nothing for them.
EMBED_TEXTS_KEY = "taskhub.tasks.embed_texts"
_TEXT = frozenset({"title", "description"})

Event = Literal[
    "task.created",
    "task.updated",
    "task.completed",
    "task.deleted",
    "task.reminder",
    "comment.created",
]
EVENTS: tuple[Event, ...] = (
    "task.created",
    "task.updated",
    "task.completed",
    "task.deleted",
    "task.reminder",
    "comment.created",
)

# Columns that change with every write: not worth reporting as a change.
_BOOKKEEPING = frozenset({"updated_at", "version", "completed_at", "owner_id"})


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def emit(
    session: AsyncSession,
    event: Event,
    *,
    task_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    owner_id: uuid.UUID,
    project_id: uuid.UUID | None,
    action: str,
    changes: Mapping[str, Any] | None = None,
) -> None:
    """Record that `event` happened to a task, in the caller's transaction.

    `actor_id` is None for what the system does by itself (a reminder firing).
    `changes` must be JSON-serialisable.
    """
    payload = {
        "event": event,
        "task_id": str(task_id),
        "actor_id": _text(actor_id),
        "owner_id": str(owner_id),
        "project_id": _text(project_id),
        "action": action,
        "changes": dict(changes or {}),
        "occurred_at": utcnow().isoformat(),
    }
    enqueue(session, TASK_ACTIVITY, payload)


def changed_fields(changes: Mapping[str, Any]) -> list[str]:
    """The fields a write changed that people care about (no bookkeeping columns)."""
    return sorted(k for k in changes if k not in _BOOKKEEPING)


def task_changed(
    session: AsyncSession,
    row: Mapping[Any, Any],
    actor_id: uuid.UUID,
    changes: Mapping[str, Any],
    completion: Mapping[str, Any] | None = None,
) -> None:
    """Emit the event for an update that applied `changes` (column -> new value) to `row`.

    `completion`: a recurring task was completed (its `due_at` moved on rather than
    `done` being set); what the entry records about the occurrence.
    """
    event: Event = "task.updated"
    action = "updated"
    if changes.get("done") is True or completion is not None:
        event, action = "task.completed", "completed"
    elif changes.get("done") is False:
        action = "reopened"
    emit(
        session,
        event,
        task_id=row["id"],
        actor_id=actor_id,
        owner_id=row["owner_id"],
        project_id=row["project_id"],
        action=action,
        changes={"fields": changed_fields(changes), **(completion or {})},
    )
    if _TEXT.intersection(changes):
        text_written(session, row["id"])


def schedule_reminder(session: AsyncSession, task_id: uuid.UUID, remind_at: datetime) -> None:
    """Queue the reminder job to run at `remind_at` (an outbox row not available before).

    The job fires only if the task still has this `remind_at` then: changing or clearing
    it needs no cancellation, the stale job finds nothing to do.
    """
    payload = {"task_id": str(task_id), "remind_at": remind_at.isoformat()}
    enqueue(session, TASK_REMINDER, payload, available_at=remind_at)


def text_written(session: AsyncSession, task_id: uuid.UUID) -> None:
    """Queue `{"task_id": ...}` for a task created or whose title/description changed."""
    if session.info.get(EMBED_TEXTS_KEY):
        enqueue(session, SEARCH_EMBED, {"task_id": str(task_id)})


def texts_of(
    ids: Sequence[uuid.UUID],
) -> Select[uuid.UUID, uuid.UUID, uuid.UUID | None, bool, str, str]:
    """(id, owner_id, project_id, done, title, description) of those tasks that exist.

    For a consumer of `search.embed` (which computes what a task's text means).
    """
    return select(
        Task.id, Task.owner_id, Task.project_id, Task.done, Task.title, Task.description
    ).where(Task.id.in_(list(ids)))


def ids_after(after: uuid.UUID | None, owner_id: uuid.UUID | None, limit: int) -> Select[Any]:
    """The next `limit` task ids in id order (of one owner's tasks): for a backfill."""
    query = select(Task.id).order_by(Task.id).limit(limit)
    if after is not None:
        query = query.where(Task.id > after)
    if owner_id is not None:
        query = query.where(Task.owner_id == owner_id)
    return query


def count_of(owner_id: uuid.UUID | None) -> Select[Any]:
    """How many tasks there are (of one owner): a backfill's total."""
    query = select(func.count()).select_from(Task)
    return query if owner_id is None else query.where(Task.owner_id == owner_id)


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
