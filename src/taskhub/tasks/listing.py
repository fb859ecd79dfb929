"""GET /api/v1/tasks: filters, keyset pages, and the memoized list statement.

Every list is `tasks.access.visible_tasks` (one index range per place the caller can
see) or, filtered by project, `tasks.access.project_tasks`, with the filters, order
and page limit applied inside each range.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, RowMapping, String, Uuid, bindparam, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.db import fetch_mappings
from taskhub.errors import NotFound
from taskhub.pagination import decode_cursor, encode_cursor, fingerprint
from taskhub.tasks.access import USER, in_inbox_of, project_tasks, sees_project, visible_tasks
from taskhub.tasks.models import TASKS, Task
from taskhub.tasks.queries import (
    LabelContains,
    Ordering,
    has_words,
    label_param,
    words,
    words_param,
)


@dataclass(frozen=True, slots=True)
class TaskFilters:
    done: bool | None = None
    project_id: uuid.UUID | None = None
    labels: tuple[str, ...] = ()
    due_after: datetime | None = None
    due_before: datetime | None = None
    q: str | None = None
    order_by: str = "-created_at"


@dataclass(frozen=True, slots=True)
class TaskPage:
    rows: Sequence[Mapping[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class _ListShape:
    """Everything that changes a list statement's SQL text; values are bound parameters."""

    dialect: str
    in_project: bool
    order_by: str
    after: str  # "", "value" or "null" (inside the trailing null due_at group)
    done: bool
    labels: int
    due_after: bool
    due_before: bool
    words: bool


def _conditions(shape: _ListShape, ordering: Ordering) -> list[Any]:
    conditions: list[Any] = []
    if shape.done:
        conditions.append(Task.done == bindparam("done"))
    for i in range(shape.labels):
        conditions.append(LabelContains(Task.labels, bindparam(f"label_{i}", type_=String())))
    if shape.due_after:
        conditions.append(Task.due_at >= bindparam("due_after"))
    if shape.due_before:
        conditions.append(Task.due_at < bindparam("due_before"))
    if shape.words:
        conditions.append(has_words(shape.dialect))
    # Typed explicitly: inside a row comparison the parameters take no type from the
    # columns, and SQLite then cannot bind a UUID.
    after_id = bindparam("after_id", type_=Uuid())
    if shape.after == "value":
        after_value = bindparam("after_value", type_=ordering.column().type)
        conditions.append(ordering.after(after_value, after_id))
    elif shape.after == "null":
        conditions.append(ordering.after(None, after_id))
    return conditions


# Statements are memoized by shape: building the UNION/LATERAL expression cost ~5 ms of
# CPU per request, far more than running it. Shapes are few and statements immutable.
@functools.lru_cache(maxsize=512)
def _list_statement(shape: _ListShape) -> Any:
    ordering = Ordering.parse(shape.order_by)
    limit = bindparam("limit", type_=Integer())
    conditions = _conditions(shape, ordering)

    # Matches first on PostgreSQL: see `has_words`.
    unindexed = shape.words and shape.dialect == "postgresql"

    def page_of(place: Any) -> Any:
        order = ordering.order_clause(unindexed=unindexed)
        return place.where(*conditions).order_by(*order).limit(limit)

    if shape.in_project:
        return project_tasks(page_of)
    visible = visible_tasks(USER, page_of, dialect=shape.dialect)
    return select(visible).order_by(*ordering.order_clause(visible.c)).limit(limit)


async def list_tasks(
    session: AsyncSession,
    user_id: uuid.UUID,
    filters: TaskFilters,
    limit: int,
    cursor: str | None,
) -> TaskPage:
    ordering = Ordering.parse(filters.order_by)
    fp = fingerprint(
        kind="tasks",
        done=filters.done,
        project=filters.project_id,
        labels=list(filters.labels),
        after=filters.due_after,
        before=filters.due_before,
        q=filters.q,
        order=filters.order_by,
    )
    dialect = session.get_bind().dialect.name
    terms = words(filters.q or "")
    params: dict[str, Any] = {"limit": limit + 1, "user_id": user_id}
    after = ""
    if cursor is not None:
        value, last_id = ordering.parse_key(decode_cursor(cursor, fp, 2))
        after = "null" if value is None else "value"
        params.update(after_value=value, after_id=last_id)
    if filters.done is not None:
        params["done"] = filters.done
    params.update({f"label_{i}": label_param(dialect, v) for i, v in enumerate(filters.labels)})
    if terms:
        params["words"] = words_param(dialect, terms)
    params.update(due_after=filters.due_after, due_before=filters.due_before)
    if filters.project_id is not None:
        if not await sees_project(session, user_id, filters.project_id):
            raise NotFound("Project")
        params["project_id"] = filters.project_id
    if filters.q and filters.q.strip() and not terms:
        # Only punctuation or symbols: no word to look for, so no task has them all.
        return TaskPage(rows=[], next_cursor=None)
    shape = _ListShape(
        dialect=dialect,
        in_project=filters.project_id is not None,
        order_by=filters.order_by,
        after=after,
        done=filters.done is not None,
        labels=len(filters.labels),
        due_after=filters.due_after is not None,
        due_before=filters.due_before is not None,
        words=bool(terms),
    )
    rows = await fetch_mappings(session, _list_statement(shape), params)
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(fp, ordering.key_of(rows[limit - 1]))
    return TaskPage(rows=rows[:limit], next_cursor=next_cursor)


async def place_batch(
    session: AsyncSession,
    owner_id: uuid.UUID,
    project_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[RowMapping]:
    """A keyset batch of one place's tasks by (created_at, id): for export, not for lists.

    The place is `owner_id`'s inbox (`project_id` None) or the project; the caller has
    already decided it may read it (`projects.access`). Each batch is one range of
    `ix_tasks_inbox_created` / `ix_tasks_project_created`.
    """
    if project_id is None:
        query = select(TASKS).where(in_inbox_of(owner_id))
        params: dict[str, Any] = {}
    else:
        query = project_tasks(lambda q: q)
        params = {"project_id": project_id}
    if after is not None:
        cursor = tuple_(*after, types=[Task.created_at.type, Task.id.type])
        query = query.where(tuple_(Task.created_at, Task.id) > cursor)
    query = query.order_by(Task.created_at, Task.id).limit(limit)
    return list((await session.execute(query, params)).mappings().all())
