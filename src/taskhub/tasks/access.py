"""Who may see and who may change a task: the one rule, as SQL and as Python.

A task lives in a *place*: its owner's inbox (`project_id IS NULL`) or a project.

* **see**: the inbox's owner; every member of the project, whatever their role.
* **change**: the inbox's owner; members whose role `can_write_tasks` (not viewers).

Membership itself is asked of `projects.access`. Build every task read on this
module, never on a hand-written `owner_id = ...` or membership join, so a new feature
(search, similar tasks, export, live events, webhooks) cannot forget a condition:

- `visible_task_row` / `visible_task`: one task and the caller's role in its project,
  in one statement (a primary-key lookup plus one membership probe). GET, the load
  before every write, and any per-task sub-resource (activity, comments) use these.
- `visible_by_id(*columns)`: that statement prebuilt with bound `user_id`/`task_id`,
  for a reader that needs other columns or more joins.
- `visible_tasks(user, part, dialect)`: every visible task as one subquery, merged from
  one index range per place (the inbox, each project of the user) with `part` (filters,
  order, limit) applied to each range first, so a plan never reads other users' rows.
  Lists are built on it (`tasks.listing`); search and export should be too.
- `sees_project` + `project_tasks(part)`: the same for one project's tasks (a list
  filtered by project): check membership once, then read the project's range alone.
- `may_see` / `may_write`: the same rule in Python for a task known without SQL (a
  cache hit, an event being fanned out).
- `audience(session, places)`: the rule read backwards, who sees a place's tasks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    Uuid,
    and_,
    bindparam,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.db import fetch_mappings
from taskhub.projects.access import (
    MEMBER_ROLE,
    Role,
    is_member,
    join_membership,
    member_ids,
    memberships_of,
    role_in,
)
from taskhub.tasks.models import TASKS, Task

Place = tuple[uuid.UUID, uuid.UUID | None]  # (owner, project); project None: the inbox
Part = Callable[[Select[Any]], Select[Any]]

# Bound at execution: statements built from these once serve every caller.
USER = bindparam("user_id", type_=Uuid())
TASK = bindparam("task_id", type_=Uuid())
PROJECT = bindparam("project_id", type_=Uuid())


def in_inbox_of(user: Any) -> ColumnElement[bool]:
    """Tasks in `user`'s inbox (an index range of `ix_tasks_inbox_*`)."""
    return and_(Task.project_id.is_(None), Task.owner_id == user)


# SQL ---------------------------------------------------------------------------------


def visible_by_id(*columns: Any) -> Select[Any]:
    """`columns` and the caller's role (None in the inbox) of task `task_id`, if visible.

    The caller's membership is an outer join, so an inbox task and a project task
    both cost a primary-key lookup plus one index probe. Parameters: `user_id`, `task_id`.
    """
    query = select(*columns, MEMBER_ROLE).select_from(TASKS)
    query = join_membership(query, USER, Task.project_id, outer=True)
    return query.where(Task.id == TASK, or_(in_inbox_of(USER), is_member()))


# Built once: constructing the expression per request cost more CPU than executing it.
VISIBLE_TASK_ROW = visible_by_id(*TASKS.columns)
_VISIBLE_TASK_ENTITY = visible_by_id(Task)


def visible_tasks(user: Any, part: Part, *, dialect: str) -> Subquery:
    """Every task `user` may see, with `part` applied to each place before the merge.

    `part` receives `select(tasks)` narrowed to one place and adds the caller's
    conditions, ORDER BY and LIMIT: each place is then one ordered index range cut to
    a page, and the merge sorts a page per place instead of every visible row. The
    result has the task columns; order and limit it again after the merge.
    """
    inbox = part(select(TASKS).where(in_inbox_of(user))).subquery()
    if dialect == "postgresql":
        # LATERAL: a project with 100,000 tasks contributes one page of index entries
        # instead of a sort of all of them. SQLite has no LATERAL (and no such sizes).
        memberships = memberships_of(user).subquery("memberships")
        per_project = part(
            select(TASKS).where(Task.project_id == memberships.c.project_id)
        ).lateral("per_project")
        shared = select(per_project).select_from(memberships.join(per_project, true()))
    else:
        shared = select(part(join_membership(select(TASKS), user, Task.project_id)).subquery())
    return union_all(select(inbox), shared).subquery("visible")


def project_tasks(part: Part) -> Select[Any]:
    """The tasks of project `project_id` (bound) with `part` applied: one index range.

    Visibility is the caller's membership, which `sees_project` checks first: a list of
    a project the caller cannot see is an error (404), not an empty page.
    """
    return part(select(TASKS).where(Task.project_id == PROJECT))


async def sees_project(session: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID) -> bool:
    """Whether `user_id` sees the tasks of this project (is a member, any role)."""
    return await role_in(session, project_id, user_id) is not None


async def visible_task(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID
) -> tuple[Task, Role | None] | None:
    """The ORM task (for writes) and the caller's role, or None if not visible."""
    params = {"user_id": user_id, "task_id": task_id}
    row = (await session.execute(_VISIBLE_TASK_ENTITY, params)).first()
    return None if row is None else (row[0], row[1])


async def visible_task_row(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID
) -> Mapping[str, Any] | None:
    """The task's columns and the caller's `role` as a plain row (for reads), or None."""
    rows = await fetch_mappings(session, VISIBLE_TASK_ROW, {"user_id": user_id, "task_id": task_id})
    return rows[0] if rows else None


async def audience(session: AsyncSession, places: Iterable[Place]) -> set[uuid.UUID]:
    """Users who see the tasks of these places: inbox owners and project members."""
    places = list(places)
    users = {owner for owner, project in places if project is None}
    users.update(await member_ids(session, {p for _, p in places if p is not None}))
    return users


# Python ------------------------------------------------------------------------------


def may_see(
    user_id: uuid.UUID | str,
    owner_id: uuid.UUID | str,
    project_id: uuid.UUID | str | None,
    projects: Collection[str],
) -> bool:
    """The visibility rule for a task known by owner and project.

    `projects`: ids (text) of the projects `user_id` is a member of, e.g. the keys of
    `projects.access.roles_of`; only asked for a project task.
    """
    if project_id is None:
        return str(owner_id) == str(user_id)
    return str(project_id) in projects


def may_write(project_id: uuid.UUID | str | None, role: Role | None) -> bool:
    """Whether a caller who sees the task (`visible_task` found it) may change it.

    `role` is the caller's role in the task's project (None: not a member, or the
    task is in the caller's own inbox).
    """
    return project_id is None or (role is not None and role.can_write_tasks)
