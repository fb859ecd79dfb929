"""/api/v1/tasks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import AwareDatetime

from taskhub.deps import CallerDep, CursorQuery, LimitQuery, ReaderDep, SessionDep
from taskhub.pagination import Page
from taskhub.routing import NOT_FOUND, UNAUTHORIZED, WRITE_ERRORS, PathId, parse_id
from taskhub.tasks import service
from taskhub.tasks.schemas import TaskCreate, TaskOrder, TaskOut, TaskUpdate

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

PRECONDITION: dict[int | str, dict[str, Any]] = {
    412: {"description": "If-Match does not match the current version"}
}
IfMatch = Annotated[
    str | None,
    Header(max_length=256, description='Strong ETag of the version you changed, e.g. "3"'),
]


def parse_if_match(value: str | None) -> service.Expected:
    """The version an If-Match header demands (RFC 9110 §13.1.1, strong comparison)."""
    if value is None:
        return None
    if value.strip() == "*":
        return service.ANY_VERSION
    for candidate in value.split(","):
        tag = candidate.strip()
        # A weak tag never matches under strong comparison.
        if len(tag) >= 3 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit():
            return int(tag[1:-1])
    return service.NO_MATCH


def _with_etag(response: Response, task: TaskOut) -> TaskOut:
    response.headers["ETag"] = f'"{task.version}"'
    return task


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskOut,
    operation_id="create_task",
    responses={**UNAUTHORIZED, 403: WRITE_ERRORS[403], 404: NOT_FOUND[404]},
)
async def create_task(
    body: TaskCreate, caller: CallerDep, session: SessionDep, response: Response
) -> TaskOut:
    task = await service.create_task(session, caller.user_id, body)
    await session.commit()
    response.headers["Location"] = f"/api/v1/tasks/{task.id}"
    return _with_etag(response, task)


@router.get(
    "",
    response_model=Page[TaskOut],
    operation_id="list_tasks",
    responses={**UNAUTHORIZED, 404: NOT_FOUND[404]},
)
async def list_tasks(
    caller: CallerDep,
    session: ReaderDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    done: bool | None = None,
    project_id: Annotated[str | None, Query(max_length=64)] = None,
    label: Annotated[list[str] | None, Query(max_length=20)] = None,
    due_after: AwareDatetime | None = None,
    due_before: AwareDatetime | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    order_by: TaskOrder = "-created_at",
) -> Page[TaskOut]:
    filters = service.TaskFilters(
        done=done,
        project_id=parse_id(project_id, "Project") if project_id is not None else None,
        labels=tuple(dict.fromkeys(label or ())),
        due_after=due_after,
        due_before=due_before,
        q=q,
        order_by=order_by,
    )
    page = await service.list_tasks(session, caller.user_id, filters, limit, cursor)
    return Page(items=page.items, next_cursor=page.next_cursor)


@router.get("/{task_id}", response_model=TaskOut, operation_id="get_task", responses=NOT_FOUND)
async def get_task(
    task_id: PathId, caller: CallerDep, session: ReaderDep, response: Response
) -> TaskOut:
    task = await service.get_task(session, caller.user_id, parse_id(task_id, "Task"))
    return _with_etag(response, task)


@router.patch(
    "/{task_id}",
    response_model=TaskOut,
    operation_id="update_task",
    responses={**WRITE_ERRORS, **PRECONDITION, 409: {"description": "Write conflict"}},
)
async def update_task(
    task_id: PathId,
    body: TaskUpdate,
    caller: CallerDep,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> TaskOut:
    task = await service.update_task(
        session, caller.user_id, parse_id(task_id, "Task"), body, parse_if_match(if_match)
    )
    await session.commit()
    return _with_etag(response, task)


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_task",
    responses={**WRITE_ERRORS, **PRECONDITION},
)
async def delete_task(
    task_id: PathId, caller: CallerDep, session: SessionDep, if_match: IfMatch = None
) -> Response:
    await service.delete_task(
        session, caller.user_id, parse_id(task_id, "Task"), parse_if_match(if_match)
    )
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
