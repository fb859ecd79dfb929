"""Task activity: written by the `task.activity` job, read through the task's visibility.

Every event `tasks.events.emit` records becomes one entry (creation, changes,
completions, comments, reminders); an event about a deleted task writes nothing.

A consumer of `tasks.events` (the message and its payload are defined there) and a
reader built on `tasks.access`; it never touches the `tasks` table itself.
"""

from __future__ import annotations

import uuid

from sqlalchemy import String, Uuid, literal, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.activity.models import TaskActivity
from taskhub.activity.schemas import ActivityOut
from taskhub.db import JSONList, UTCDateTime
from taskhub.errors import NotFound
from taskhub.jobs.registry import Job
from taskhub.tasks.access import visible_task
from taskhub.tasks.events import existing_task

MAX_ENTRIES = 200


def _actor(raw: object) -> uuid.UUID | None:
    # None: the system acted (a reminder firing), not a person.
    return uuid.UUID(str(raw)) if raw is not None else None


async def record_activity(session: AsyncSession, message: Job) -> None:
    """Job body: one activity entry per message, at most once, in one statement.

    INSERT ... SELECT from `existing_task` writes nothing if the task was deleted
    before the job ran, and ON CONFLICT (source_id) DO NOTHING makes a redelivery a
    no-op even if the outbox row was purged meanwhile.
    """
    payload = message.payload
    task = existing_task(uuid.UUID(payload["task_id"])).subquery("task")
    source = select(
        literal(uuid.uuid4(), Uuid()),
        task.c.id,
        literal(_actor(payload.get("actor_id")), Uuid()),
        literal(str(payload["action"]), String()),
        literal(payload.get("changes", {}), JSONList),
        literal(message.id, Uuid()),
        literal(message.created_at, UTCDateTime()),
    ).where(true())  # SQLite parses `FROM x ON CONFLICT` as a join without a WHERE first
    columns = ["id", "task_id", "actor_id", "action", "changes", "source_id", "created_at"]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(TaskActivity)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["source_id"])
    )


async def list_activity(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID
) -> list[ActivityOut]:
    if await visible_task(session, user_id, task_id) is None:
        raise NotFound("Task")
    rows = await session.scalars(
        select(TaskActivity)
        .where(TaskActivity.task_id == task_id)
        .order_by(TaskActivity.created_at, TaskActivity.id)
        .limit(MAX_ENTRIES)
    )
    return [ActivityOut.model_validate(row) for row in rows]
