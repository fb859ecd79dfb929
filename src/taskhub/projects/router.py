"""/api/v1/projects and their members."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Protocol

from fastapi import APIRouter, Request, Response, status

from taskhub.auth.deps import CallerDep
from taskhub.deps import CursorQuery, LimitQuery, ReaderDep, SessionDep
from taskhub.pagination import Page
from taskhub.projects import service
from taskhub.projects.schemas import MemberOut, MemberPut, ProjectCreate, ProjectOut, ProjectUpdate
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


class MembershipListener(Protocol):
    """Whoever caches what depends on membership (`tasks.cache.TaskCache` does)."""

    async def memberships_changed(self, user_ids: Iterable[uuid.UUID | str]) -> None: ...


async def _memberships_changed(request: Request, user_ids: list[uuid.UUID]) -> None:
    """After the commit: cached roles and task lists of these users are stale."""
    listener: MembershipListener = request.app.state.task_cache
    await listener.memberships_changed(user_ids)


router = APIRouter(prefix="/api/v1/projects", tags=["projects"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectOut,
    operation_id="create_project",
    responses={
        **UNAUTHORIZED,
        **BODY_ERRORS,
        **created_links(
            "project_id",
            "get_project",
            "update_project",
            "delete_project",
            "list_project_members",
            "put_project_member",
        ),
    },
)
async def create_project(
    body: ProjectCreate,
    caller: CallerDep,
    session: SessionDep,
    response: Response,
    request: Request,
) -> ProjectOut:
    project = await service.create_project(session, caller.user_id, body)
    await session.commit()
    await _memberships_changed(request, [caller.user_id])
    response.headers["Location"] = f"/api/v1/projects/{project.id}"
    return project


@router.get(
    "", response_model=Page[ProjectOut], operation_id="list_projects", responses=UNAUTHORIZED
)
async def list_projects(
    caller: CallerDep, session: ReaderDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[ProjectOut]:
    page = await service.list_projects(session, caller.user_id, limit, cursor)
    return Page(items=page.items, next_cursor=page.next_cursor)


@router.get(
    "/{project_id}", response_model=ProjectOut, operation_id="get_project", responses=NOT_FOUND
)
async def get_project(project_id: PathId, caller: CallerDep, session: ReaderDep) -> ProjectOut:
    return await service.get_project(session, parse_id(project_id, "Project"), caller.user_id)


@router.patch(
    "/{project_id}",
    response_model=ProjectOut,
    operation_id="update_project",
    responses={**WRITE_ERRORS, **BODY_ERRORS},
)
async def update_project(
    project_id: PathId, body: ProjectUpdate, caller: CallerDep, session: SessionDep
) -> ProjectOut:
    project = await service.update_project(
        session, parse_id(project_id, "Project"), caller.user_id, body
    )
    await session.commit()
    return project


@router.delete(
    "/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_project",
    responses=WRITE_ERRORS,
)
async def delete_project(
    project_id: PathId, caller: CallerDep, session: SessionDep, request: Request
) -> Response:
    members = await service.delete_project(session, parse_id(project_id, "Project"), caller.user_id)
    await session.commit()
    await _memberships_changed(request, members)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{project_id}/members",
    response_model=list[MemberOut],
    operation_id="list_project_members",
    responses=NOT_FOUND,
)
async def list_members(
    project_id: PathId, caller: CallerDep, session: ReaderDep
) -> list[MemberOut]:
    return await service.list_members(session, parse_id(project_id, "Project"), caller.user_id)


@router.put(
    "/{project_id}/members/{user_id}",
    response_model=MemberOut,
    operation_id="put_project_member",
    responses={
        **WRITE_ERRORS,
        **BODY_ERRORS,
        **error_responses(409, e409="Would leave the project without an owner"),
        200: {
            "links": {
                "remove_project_member": {
                    "operationId": "remove_project_member",
                    "parameters": {
                        "project_id": "$request.path.project_id",
                        "user_id": "$response.body#/user_id",
                    },
                }
            }
        },
    },
)
async def put_member(
    project_id: PathId,
    user_id: PathId,
    body: MemberPut,
    caller: CallerDep,
    session: SessionDep,
    request: Request,
) -> MemberOut:
    member = await service.put_member(
        session,
        parse_id(project_id, "Project"),
        caller.user_id,
        parse_id(user_id, "User"),
        body.role,
    )
    await session.commit()
    await _memberships_changed(request, [member.user_id])
    return member


@router.delete(
    "/{project_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="remove_project_member",
    responses={
        **WRITE_ERRORS,
        **error_responses(409, e409="Would leave the project without an owner"),
    },
)
async def remove_member(
    project_id: PathId, user_id: PathId, caller: CallerDep, session: SessionDep, request: Request
) -> Response:
    member_id = parse_id(user_id, "Member")
    await service.remove_member(session, parse_id(project_id, "Project"), caller.user_id, member_id)
    await session.commit()
    await _memberships_changed(request, [member_id])
    return Response(status_code=status.HTTP_204_NO_CONTENT)
