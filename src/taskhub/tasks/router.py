"""/api/v1/tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from taskhub.auth.deps import CallerDep
from taskhub.deps import CursorQuery, LimitQuery, ReaderDep, SessionDep
from taskhub.errors import NotFound
from taskhub.pagination import Page
from taskhub.projects.access import roles_of
from taskhub.routing import (
    BODY_ERRORS,
    NOT_FOUND,
    UNAUTHORIZED,
    WRITE_ERRORS,
    PathId,
    created_links,
    error_responses,
    parse_id,
)
from taskhub.tasks import service
from taskhub.tasks.access import may_see
from taskhub.tasks.cache import TaskCache
from taskhub.tasks.encode import encode_page, encode_task
from taskhub.tasks.schemas import (
    SearchText,
    TaskCreate,
    TaskOrder,
    TaskOut,
    TaskUpdate,
    UtcTimestamp,
)

JSON = "application/json"
DEFAULT_FILTERS = service.TaskFilters()

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

IfMatch = Annotated[
    str | None,
    Header(max_length=256, description='Strong ETag of the version you changed, e.g. "3"'),
]


def parse_if_match(value: str | None) -> service.Expected:
    """The versions an If-Match header accepts (RFC 9110 §13.1.1, strong comparison).

    A weak or malformed tag never matches: an If-Match naming nothing we could have
    sent is an empty set, so the request fails with 412 rather than being applied.
    """
    if value is None:
        return None
    if value.strip() == "*":
        return service.ANY_VERSION
    versions: set[int] = set()
    for candidate in value.split(","):
        tag = candidate.strip()
        if len(tag) < 3 or tag[0] != '"' or tag[-1] != '"':
            continue
        digits = tag[1:-1]
        # Only the exact text we send ("3", never "03" or other scripts' digits).
        if digits.isascii() and digits.isdigit() and str(int(digits)) == digits:
            versions.add(int(digits))
    return frozenset(versions)


def _task_response(
    body: bytes, version: int, status_code: int = 200, location: str | None = None
) -> Response:
    headers = {"ETag": f'"{version}"'}
    if location is not None:
        headers["Location"] = location
    return Response(body, status_code=status_code, media_type=JSON, headers=headers)


def _cache(request: Request) -> TaskCache:
    cache: TaskCache = request.app.state.task_cache
    return cache


async def _after_write(request: Request, write: service.TaskWrite) -> bytes | None:
    """After the commit, before answering: the caches must not outlive the old version."""
    cache = _cache(request)
    body = None
    if write.row is not None:
        body = encode_task(write.row)
        row = write.row
        await cache.store(row["id"], row["owner_id"], row["project_id"], row["version"], body)
    await cache.forget(write.forget)
    await cache.lists_changed(write.audience)
    return body


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskOut,
    operation_id="create_task",
    responses={
        **WRITE_ERRORS,
        **BODY_ERRORS,
        **created_links("task_id", "get_task", "update_task", "delete_task", "list_task_activity"),
    },
)
async def create_task(
    body: TaskCreate, caller: CallerDep, session: SessionDep, request: Request
) -> Response:
    write = await service.create_task(session, caller.user_id, body)
    await session.commit()
    encoded = await _after_write(request, write)
    assert write.row is not None
    assert encoded is not None
    return _task_response(
        encoded, write.row["version"], 201, location=f"/api/v1/tasks/{write.row['id']}"
    )


@router.get(
    "",
    response_model=Page[TaskOut],
    operation_id="list_tasks",
    responses={**UNAUTHORIZED, 404: NOT_FOUND[404]},
)
async def list_tasks(
    caller: CallerDep,
    session: ReaderDep,
    request: Request,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    done: bool | None = None,
    project_id: Annotated[str | None, Query(max_length=64)] = None,
    label: Annotated[list[SearchText] | None, Query(max_length=20)] = None,
    due_after: UtcTimestamp | None = None,
    due_before: UtcTimestamp | None = None,
    q: Annotated[SearchText | None, Query(max_length=200)] = None,
    order_by: TaskOrder = "-created_at",
) -> Response:
    filters = service.TaskFilters(
        done=done,
        project_id=parse_id(project_id, "Project") if project_id is not None else None,
        labels=tuple(dict.fromkeys(label or ())),
        due_after=due_after,
        due_before=due_before,
        q=q,
        order_by=order_by,
    )

    async def load() -> bytes:
        page = await service.list_tasks(session, caller.user_id, filters, limit, cursor)
        return encode_page(page.rows, page.next_cursor)

    if cursor is None and filters == DEFAULT_FILTERS:  # the hot first page
        body = await _cache(request).first_page(caller.user_id, limit, load)
    else:
        body = await load()
    return Response(body, media_type=JSON)


@router.get("/{task_id}", response_model=TaskOut, operation_id="get_task", responses=NOT_FOUND)
async def get_task(
    task_id: PathId, caller: CallerDep, session: ReaderDep, request: Request
) -> Response:
    ident = parse_id(task_id, "Task")
    cache = _cache(request)
    cached = await cache.get(ident)
    if cached is not None:
        roles: dict[str, str] = {}
        if cached.project_id is not None:  # inbox tasks need no lookup at all
            roles = await cache.roles(caller.user_id, lambda: roles_of(session, caller.user_id))
        if not may_see(caller.user_id, cached.owner_id, cached.project_id, roles):
            raise NotFound("Task")
        return _task_response(cached.body, cached.version)
    row = await service.get_task_row(session, caller.user_id, ident)
    body = encode_task(row)
    await cache.store(row["id"], row["owner_id"], row["project_id"], row["version"], body)
    return _task_response(body, row["version"])


@router.patch(
    "/{task_id}",
    response_model=TaskOut,
    operation_id="update_task",
    responses={
        **WRITE_ERRORS,
        **BODY_ERRORS,
        **error_responses(409, 412, e409="Concurrent write conflict"),
    },
)
async def update_task(
    task_id: PathId,
    body: TaskUpdate,
    caller: CallerDep,
    session: SessionDep,
    request: Request,
    if_match: IfMatch = None,
) -> Response:
    write = await service.update_task(
        session, caller.user_id, parse_id(task_id, "Task"), body, parse_if_match(if_match)
    )
    await session.commit()
    encoded = await _after_write(request, write)
    assert write.row is not None
    assert encoded is not None
    return _task_response(encoded, write.row["version"])


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_task",
    responses={**WRITE_ERRORS, **error_responses(412)},
)
async def delete_task(
    task_id: PathId,
    caller: CallerDep,
    session: SessionDep,
    request: Request,
    if_match: IfMatch = None,
) -> Response:
    write = await service.delete_task(
        session, caller.user_id, parse_id(task_id, "Task"), parse_if_match(if_match)
    )
    await session.commit()
    await _after_write(request, write)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
