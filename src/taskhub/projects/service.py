"""Projects, membership and roles: the rules. Never commits.

Who may see a project is decided in `projects.access`; every read here starts from
`visible_projects`. Accounts belong to `auth`: emails come from `auth.service`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.auth.service import find_user, users_by_ids
from taskhub.db import utcnow
from taskhub.errors import Conflict, Forbidden, NotFound
from taskhub.pagination import decode_time_key, encode_cursor, fingerprint
from taskhub.projects.access import member_ids, role_in, visible_projects
from taskhub.projects.models import Project, ProjectMember, Role
from taskhub.projects.schemas import MemberOut, ProjectCreate, ProjectOut, ProjectUpdate


@dataclass(frozen=True, slots=True)
class ProjectPage:
    items: list[ProjectOut]
    next_cursor: str | None


def _out(project: Project, role: Role) -> ProjectOut:
    return ProjectOut(
        id=project.id,
        name=project.name,
        description=project.description,
        role=role,
        created_at=project.created_at,
        updated_at=project.updated_at,
    )


async def _visible(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Project, Role]:
    row = (await session.execute(visible_projects(user_id).where(Project.id == project_id))).first()
    if row is None:
        raise NotFound("Project")
    return row[0], row[1]


async def _owned(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> Project:
    project, role = await _visible(session, project_id, user_id)
    if role is not Role.owner:
        raise Forbidden("Only a project owner may do this")
    return project


async def create_project(
    session: AsyncSession, user_id: uuid.UUID, data: ProjectCreate
) -> ProjectOut:
    now = utcnow()
    project = Project(name=data.name, description=data.description, created_at=now, updated_at=now)
    session.add(project)
    await session.flush()
    session.add(ProjectMember(project_id=project.id, user_id=user_id, role=Role.owner))
    await session.flush()
    return _out(project, Role.owner)


async def get_project(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID
) -> ProjectOut:
    return _out(*await _visible(session, project_id, user_id))


async def list_projects(
    session: AsyncSession, user_id: uuid.UUID, limit: int, cursor: str | None
) -> ProjectPage:
    fp = fingerprint(kind="projects")
    query = visible_projects(user_id)
    if cursor is not None:
        created, last_id = decode_time_key(cursor, fp)
        query = query.where(
            or_(
                Project.created_at < created,
                and_(Project.created_at == created, Project.id < last_id),
            )
        )
    rows = (
        await session.execute(
            query.order_by(Project.created_at.desc(), Project.id.desc()).limit(limit + 1)
        )
    ).all()
    items = [_out(p, r) for p, r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(fp, [last.created_at.isoformat(), str(last.id)])
    return ProjectPage(items=items, next_cursor=next_cursor)


async def update_project(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID, data: ProjectUpdate
) -> ProjectOut:
    project = await _owned(session, project_id, user_id)
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "description"):
        value = changes.get(field)
        if value is not None and value != getattr(project, field):
            setattr(project, field, value)
            project.updated_at = utcnow()
    await session.flush()
    return _out(project, Role.owner)


async def delete_project(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID
) -> list[uuid.UUID]:
    """Delete the project (its tasks cascade); return who were its members."""
    project = await _owned(session, project_id, user_id)
    members = await member_ids(session, [project_id])
    await session.delete(project)
    await session.flush()
    return members


async def list_members(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID
) -> list[MemberOut]:
    await _visible(session, project_id, user_id)
    rows = (
        await session.execute(
            select(ProjectMember.user_id, ProjectMember.role)
            .where(ProjectMember.project_id == project_id)
            .order_by(ProjectMember.created_at, ProjectMember.user_id)
        )
    ).all()
    users = await users_by_ids(session, [member for member, _ in rows])
    # A member whose account was deleted meanwhile is gone (the cascade removes the row).
    return [
        MemberOut(user_id=member, email=users[member].email, role=role)
        for member, role in rows
        if member in users
    ]


async def _lock_owners(session: AsyncSession, project_id: uuid.UUID) -> int:
    """Count owners, locking their rows so two owners cannot demote each other at once."""
    owners = (
        await session.scalars(
            select(ProjectMember.user_id)
            .where(ProjectMember.project_id == project_id, ProjectMember.role == Role.owner)
            .with_for_update()
        )
    ).all()
    return len(owners)


async def put_member(
    session: AsyncSession,
    project_id: uuid.UUID,
    caller_id: uuid.UUID,
    member_id: uuid.UUID,
    role: Role,
) -> MemberOut:
    await _owned(session, project_id, caller_id)
    user = await find_user(session, member_id)
    if user is None:
        raise NotFound("User")
    current = await role_in(session, project_id, member_id)
    if (
        current is Role.owner
        and role is not Role.owner
        and await _lock_owners(session, project_id) <= 1
    ):
        raise Conflict("A project must keep at least one owner")
    if current is None:
        session.add(ProjectMember(project_id=project_id, user_id=member_id, role=role))
    elif current is not role:
        member = await session.get(ProjectMember, (project_id, member_id))
        assert member is not None
        member.role = role
    await session.flush()
    return MemberOut(user_id=member_id, email=user.email, role=role)


async def remove_member(
    session: AsyncSession, project_id: uuid.UUID, caller_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    _, caller_role = await _visible(session, project_id, caller_id)
    if caller_id != member_id and caller_role is not Role.owner:
        raise Forbidden("Only a project owner may remove other members")
    current = await role_in(session, project_id, member_id)
    if current is None:
        raise NotFound("Member")
    if current is Role.owner and await _lock_owners(session, project_id) <= 1:
        raise Conflict("A project must keep at least one owner")
    await session.execute(
        delete(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == member_id
        )
    )
