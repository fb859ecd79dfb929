"""Who may see or change a project, and project membership as composable SQL.

The rule: a user sees a project, and every task in it, iff they are a member of it
(any role). The role says what else they may do: `Role.can_write_tasks` for the
project's tasks, and owner-only operations in `projects.service`.

`project_members` belongs to this package. Other domains never query it themselves:
they compose the pieces below, so a change to what membership means (say, invitations
that must be accepted first) is made here once and every read built on it follows.

- `visible_projects(user)`: `Select(Project, role)`, the base of every project read.
- `join_membership(query, user, project_id)`: `query` joined to `user`'s membership row
  of the project a column names; inner (members only) or outer (`MEMBER_ROLE` is NULL
  for a non-member, `is_member()` says which). `tasks.access` builds on it.
- `memberships_of(user)`: the user's `(project_id, role)` rows, to drive one query per
  project (a LATERAL join on PostgreSQL).
- `role_in`, `roles_of`, `member_ids`: one-statement lookups for rules and caches.

`user` may be a value or a bound parameter, so statements built once at import time
(the hot reads) use these too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.projects.models import Project, ProjectMember, Role

__all__ = [
    "MEMBER_ROLE",
    "Role",
    "is_member",
    "join_membership",
    "member_ids",
    "memberships_of",
    "role_in",
    "roles_of",
    "visible_projects",
]

SelectT = TypeVar("SelectT", bound=Select[Any])

# The joined membership row's role: NULL on an outer join where the user is no member.
MEMBER_ROLE = ProjectMember.role


def _membership(user: Any, project_id: Any) -> ColumnElement[bool]:
    return and_(ProjectMember.project_id == project_id, ProjectMember.user_id == user)


def visible_projects(user: Any) -> Select[Project, Role]:
    """Every project `user` is a member of, with their role: the base of all reads."""
    return select(Project, MEMBER_ROLE).join(ProjectMember, _membership(user, Project.id))


def join_membership(query: SelectT, user: Any, project_id: Any, *, outer: bool = False) -> SelectT:
    """`query` joined to `user`'s membership of the project `project_id` (a column) names.

    One index probe per row (the primary key of `project_members`). Inner: only rows in
    projects of `user`. Outer: every row, with `MEMBER_ROLE` NULL where `user` is no
    member; test that with `is_member()`.
    """
    condition = _membership(user, project_id)
    if outer:
        return query.outerjoin(ProjectMember, condition)
    return query.join(ProjectMember, condition)


def is_member() -> ColumnElement[bool]:
    """After an outer `join_membership`: the user is a member of the row's project."""
    return ProjectMember.user_id.is_not(None)


def memberships_of(user: Any) -> Select[uuid.UUID, Role]:
    """`user`'s memberships as `(project_id, role)` rows (index range on the user)."""
    return select(ProjectMember.project_id, MEMBER_ROLE).where(ProjectMember.user_id == user)


async def role_in(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
    """`user_id`'s role in the project; None when they are no member (or it does not exist)."""
    return await session.scalar(select(MEMBER_ROLE).where(_membership(user_id, project_id)))


async def roles_of(session: AsyncSession, user_id: uuid.UUID) -> dict[str, str]:
    """Project id (text) -> `user_id`'s role there: the cacheable form of membership."""
    rows = await session.execute(memberships_of(user_id))
    return {str(project_id): str(role) for project_id, role in rows}


async def member_ids(session: AsyncSession, project_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """Every member of these projects (each once per project)."""
    wanted = list(project_ids)
    if not wanted:
        return []
    rows = await session.scalars(
        select(ProjectMember.user_id).where(ProjectMember.project_id.in_(wanted))
    )
    return list(rows.all())
