"""Reminders: the job that emits `task.reminder` when a task's `remind_at` comes.

Scheduling is the outbox's: setting `remind_at` queues a `task.reminder` job whose
row is not available before that instant (`events.schedule_reminder`). The embedded
runner and the Celery relay poll available rows every second, in every instance, so a
reminder runs about a second late (a killed claimer's lease, 15 s, bounds the worst
case well within SPEC §9's minute).

Exactly once, across instances, workers and restarts:

* the job's effect and its outbox done-mark commit together (`jobs.execute`), so a
  redelivered job is a no-op;
* the emission also inserts `task_reminders (task_id, remind_at)`, whose primary key
  stops a second job for the same instant (the reminder set, moved, then set back);
* a job whose task no longer has that `remind_at` (changed, cleared, task deleted)
  does nothing: changing the time is cancelling the old reminder.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.db import utcnow
from taskhub.jobs.registry import Job
from taskhub.tasks.events import emit
from taskhub.tasks.models import Task, TaskReminder


async def fire_reminder(session: AsyncSession, message: Job) -> None:
    """Job body: emit `task.reminder` once if the task still wants this reminder."""
    task_id = uuid.UUID(message.payload["task_id"])
    remind_at = datetime.fromisoformat(message.payload["remind_at"])
    task = (
        await session.execute(
            select(Task.owner_id, Task.project_id)
            .where(Task.id == task_id, Task.remind_at == remind_at)
            .with_for_update()
        )
    ).first()
    if task is None:
        return  # changed, cleared or deleted since it was scheduled: cancelled
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    fired = await session.execute(
        insert(TaskReminder)
        .values(task_id=task_id, remind_at=remind_at, fired_at=utcnow())
        .on_conflict_do_nothing(index_elements=["task_id", "remind_at"])
        .returning(TaskReminder.task_id)
    )
    if fired.first() is None:
        return  # this instant already fired (another job for the same remind_at)
    emit(
        session,
        "task.reminder",
        task_id=task_id,
        actor_id=None,
        owner_id=task.owner_id,
        project_id=task.project_id,
        action="reminded",
        changes={"remind_at": remind_at.isoformat()},
    )
