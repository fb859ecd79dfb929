"""Job functions by name. Each runs inside the transaction that marks its message done."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.activity.service import record_activity
from taskhub.jobs.models import OutboxMessage

JobFunction = Callable[[AsyncSession, OutboxMessage], Awaitable[None]]

TASK_ACTIVITY = "task.activity"

JOBS: dict[str, JobFunction] = {
    TASK_ACTIVITY: record_activity,
}
