"""What a task write tells the rest of the system: one outbox message per change.

A text write (creation, or a new title or description) also enqueues `search.embed`
`{"task_id": "<uuid>"}`, after which the task's embedding is recomputed.

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
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.jobs.outbox import enqueue
from taskhub.tasks.models import Task

TASK_ACTIVITY = "task.activity"  # the job name `jobs.registry` maps to its consumer
TEXT_WRITTEN = "search.embed"  # consumed by search: the task's embedding is recomputed
# session.info key: set (by the app) when embeddings are on; without it no search.embed
# message is queued, so a server with TASKHUB_EMBEDDINGS=off pays nothing for them.
EMBED_TEXTS_KEY = "taskhub.tasks.embed_texts"
_TEXT = frozenset({"title", "description"})

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
    if _TEXT.intersection(changes):
        text_written(session, task_id)


def text_written(session: AsyncSession, task_id: uuid.UUID) -> None:
    """Queue `{"task_id": ...}` for a task created or whose title/description changed."""
    if session.info.get(EMBED_TEXTS_KEY):
        enqueue(session, TEXT_WRITTEN, {"task_id": str(task_id)})


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
