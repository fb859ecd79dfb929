"""Task activity: written by the `task.activity` job, read through the task's visibility."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.activity.models import TaskActivity
from taskhub.activity.schemas import ActivityOut
from taskhub.errors import NotFound
from taskhub.jobs.models import OutboxMessage
from taskhub.tasks.models import Task
from taskhub.tasks.queries import visible_task

MAX_ENTRIES = 200


def activity_payload(
    task_id: uuid.UUID, actor_id: uuid.UUID, action: str, changes: dict[str, Any]
) -> dict[str, Any]:
    return {
        "task_id": str(task_id),
        "actor_id": str(actor_id),
        "action": action,
        "changes": changes,
    }


async def record_activity(session: AsyncSession, message: OutboxMessage) -> None:
    """Job body: one activity entry per message, at most once (source_id is unique)."""
    payload = message.payload
    task_id = uuid.UUID(payload["task_id"])
    if await session.scalar(select(Task.id).where(Task.id == task_id)) is None:
        return  # the task was deleted before the job ran; nothing to annotate
    already = await session.scalar(
        select(TaskActivity.id).where(TaskActivity.source_id == message.id)
    )
    if already is not None:
        return
    session.add(
        TaskActivity(
            task_id=task_id,
            actor_id=uuid.UUID(payload["actor_id"]),
            action=payload["action"],
            changes=payload.get("changes", {}),
            source_id=message.id,
            created_at=message.created_at,
        )
    )
    await session.flush()


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
