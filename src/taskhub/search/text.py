"""The full-text ranking: the caller's visible tasks holding every word, best first.

Built on `tasks.access` (visibility inside the query, one index range per place the
caller sees) and `tasks.queries.ranked_by_words` (the dialect's index and score:
FTS5 bm25 on SQLite, ts_rank_cd on PostgreSQL). Ties are broken by id.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, RowMapping, Select, Uuid, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.tasks.access import USER, project_tasks, visible_tasks
from taskhub.tasks.queries import ranked_by_words, words, words_param

LIMIT = bindparam("limit", type_=Integer())
IDS = bindparam("ids", type_=Uuid(), expanding=True)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which visible tasks a search considers: all, or one project's; open, done or both.

    The project must already be known visible to the caller (`tasks.access.sees_project`).
    """

    project_id: uuid.UUID | None = None
    done: bool | None = None


@dataclass(frozen=True, slots=True)
class _Shape:
    dialect: str
    in_project: bool
    done: bool
    by_id: bool  # rows of given ids (another ranking's hits) instead of a text ranking


def _narrowed(place: Select[Any], shape: _Shape) -> Select[Any]:
    columns = place.selected_columns
    if shape.done:
        place = place.where(columns.done == bindparam("done"))
    if shape.by_id:
        return place.where(columns.id.in_(IDS))
    ranked = ranked_by_words(place, shape.dialect)
    return ranked.order_by(ranked.selected_columns.score.desc(), columns.id).limit(LIMIT)


# Memoized by shape, like the task lists: building the UNION/LATERAL costs more CPU
# than running it, and every value is a bound parameter.
@functools.lru_cache(maxsize=64)
def _statement(shape: _Shape) -> Select[Any]:
    def part(place: Select[Any]) -> Select[Any]:
        return _narrowed(place, shape)

    if shape.in_project:
        return project_tasks(part)
    visible = visible_tasks(USER, part, dialect=shape.dialect)
    if shape.by_id:
        return select(visible)
    return select(visible).order_by(visible.c.score.desc(), visible.c.id).limit(LIMIT)


def _params(user_id: uuid.UUID, scope: Scope) -> dict[str, Any]:
    params: dict[str, Any] = {"user_id": user_id}
    if scope.project_id is not None:
        params["project_id"] = scope.project_id
    if scope.done is not None:
        params["done"] = scope.done
    return params


def _shape(session: AsyncSession, scope: Scope, *, by_id: bool) -> _Shape:
    return _Shape(
        dialect=session.get_bind().dialect.name,
        in_project=scope.project_id is not None,
        done=scope.done is not None,
        by_id=by_id,
    )


async def rank_by_text(
    session: AsyncSession, user_id: uuid.UUID, q: str, scope: Scope, limit: int
) -> list[tuple[RowMapping, float]]:
    """Up to `limit` (task row, score) of visible tasks holding every word of `q`.

    Higher scores are better; they compare within one answer only. A `q` without a word
    (only punctuation or symbols) matches nothing.
    """
    terms = words(q)
    if not terms:
        return []
    shape = _shape(session, scope, by_id=False)
    params = _params(user_id, scope)
    params.update(words=words_param(shape.dialect, terms), limit=limit)
    result = await session.execute(_statement(shape), params)
    return [(row, float(row["score"])) for row in result.mappings()]


async def visible_rows(
    session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID], scope: Scope
) -> dict[uuid.UUID, RowMapping]:
    """The rows of those `ids` that the caller sees within `scope`, by id; others omitted."""
    if not ids:
        return {}
    shape = _shape(session, scope, by_id=True)
    params = _params(user_id, scope)
    params["ids"] = list(ids)
    result = await session.execute(_statement(shape), params)
    return {row["id"]: row for row in result.mappings()}
