"""/api/v1/tasks/{task_id}/activity."""

from __future__ import annotations

from fastapi import APIRouter

from taskhub.activity.schemas import ActivityOut
from taskhub.activity.service import list_activity
from taskhub.auth.deps import CallerDep
from taskhub.deps import ReaderDep
from taskhub.routing import NOT_FOUND, PathId, parse_id

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


@router.get(
    "/{task_id}/activity",
    response_model=list[ActivityOut],
    operation_id="list_task_activity",
    responses=NOT_FOUND,
)
async def task_activity(
    task_id: PathId, caller: CallerDep, session: ReaderDep
) -> list[ActivityOut]:
    """Who changed what on this task, oldest first (written asynchronously by a job)."""
    return await list_activity(session, caller.user_id, parse_id(task_id, "Task"))
