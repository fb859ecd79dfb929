"""The task write statements: prebuilt INSERT/UPDATE/DELETE ... RETURNING, positions.

No rules here (`tasks.service` decides what may be written); these only write it in
as few statements as possible. Every UPDATE of one task is conditional on the version
the caller read: that is the optimistic concurrency the API promises.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import RowMapping, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.tasks.access import in_inbox_of
from taskhub.tasks.models import TASKS, Task

_POSITION_LOCK_NAMESPACE = 0x7461736B  # "task": first key of the advisory lock on positions


def _insert_statement(position: str) -> Any:
    """INSERT ... RETURNING with every value bound; `position` is given, or last in place."""
    values: dict[str, Any] = {c.name: bindparam(c.name, type_=c.type) for c in TASKS.columns}
    if position != "given":
        place = (
            Task.project_id == bindparam("project_id")
            if position == "last_in_project"
            else in_inbox_of(bindparam("owner_id"))
        )
        values["position"] = (
            select(func.coalesce(func.max(Task.position), 0) + 1).where(place).scalar_subquery()
        )
    return TASKS.insert().values(values).returning(*TASKS.columns)


# Built once: constructing an INSERT with fifteen values per request cost more CPU than
# sending it.
_INSERTS = {kind: _insert_statement(kind) for kind in ("given", "last_in_project", "last_in_inbox")}
_POSITION_LOCK = select(func.pg_advisory_xact_lock(bindparam("namespace"), bindparam("key")))


async def _lock_positions(
    session: AsyncSession, owner_id: uuid.UUID, project_id: uuid.UUID | None
) -> None:
    """Serialize writers that append to one place (see `next_position`); PostgreSQL only."""
    if session.get_bind().dialect.name == "postgresql":
        place_key = (project_id or owner_id).int % 2**31
        await session.execute(
            _POSITION_LOCK, {"namespace": _POSITION_LOCK_NAMESPACE, "key": place_key}
        )


async def next_position(
    session: AsyncSession, owner_id: uuid.UUID, project_id: uuid.UUID | None
) -> Any:
    """The position after the last task of a project (or inbox), as a scalar subquery.

    On PostgreSQL two concurrent writers would both read the same max() (READ
    COMMITTED) and hand out one position twice, so writers to one place queue on a
    transaction-scoped advisory lock first. SQLite writers are already serialized
    (BEGIN IMMEDIATE).
    """
    await _lock_positions(session, owner_id, project_id)
    place = Task.project_id == project_id if project_id is not None else in_inbox_of(owner_id)
    return select(func.coalesce(func.max(Task.position), 0) + 1).where(place).scalar_subquery()


async def insert_task(session: AsyncSession, values: Mapping[str, Any]) -> RowMapping:
    """Insert one task (every column in `values`; `position` None: last in its place)."""
    if values["position"] is not None:
        kind = "given"
    else:
        kind = "last_in_project" if values["project_id"] is not None else "last_in_inbox"
        await _lock_positions(session, values["owner_id"], values["project_id"])
    result = await session.execute(_INSERTS[kind], values)
    return result.mappings().one()


async def update_if_version(
    session: AsyncSession, task_id: uuid.UUID, seen: int, changes: Mapping[str, Any]
) -> RowMapping | None:
    """Apply `changes` and bump the version if it is still `seen`; None if it was not."""
    result = await session.execute(
        update(TASKS)
        .where(Task.id == task_id, Task.version == seen)
        .values({**changes, "version": Task.version + 1})
        .returning(*TASKS.columns)
    )
    return result.mappings().one_or_none()


async def update_many(
    session: AsyncSession, task_ids: list[uuid.UUID], changes: Mapping[str, Any]
) -> None:
    """Apply `changes` to these tasks, each bumping its version (no version check)."""
    await session.execute(
        update(TASKS).where(Task.id.in_(task_ids)).values({**changes, "version": Task.version + 1})
    )


async def delete_task_row(session: AsyncSession, task_id: uuid.UUID, seen: int | None) -> bool:
    """Delete the task (its subtasks cascade), if still at version `seen` when given."""
    condition = [Task.id == task_id]
    if seen is not None:
        condition.append(Task.version == seen)
    result = await session.execute(delete(TASKS).where(*condition))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
