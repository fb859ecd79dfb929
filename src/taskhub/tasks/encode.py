"""Task JSON straight from database rows.

The hot reads (one task, a page of tasks) skip building Pydantic models: the rows are
already typed by SQLAlchemy, and orjson writes them in the same shape `TaskOut`
documents (UTC timestamps with `Z`, UUID strings). `tests/tasks` compare both paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

FIELDS = (
    "id",
    "title",
    "description",
    "done",
    "priority",
    "due_at",
    "labels",
    "project_id",
    "parent_id",
    "position",
    "created_at",
    "updated_at",
    "completed_at",
    "version",
    "recurrence",
    "timezone",
    "remind_at",
)
_OPTIONS = orjson.OPT_UTC_Z


def _fallback(value: Any) -> str:
    # asyncpg hands back its own UUID class for some columns; orjson only knows the
    # standard one. Anything else unexpected also becomes its string form.
    return str(value)


def task_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {field: row[field] for field in FIELDS}


def encode_task(row: Mapping[Any, Any]) -> bytes:
    return orjson.dumps(task_dict(row), default=_fallback, option=_OPTIONS)


def encode_page(rows: Sequence[Mapping[Any, Any]], next_cursor: str | None) -> bytes:
    return orjson.dumps(
        {"items": [task_dict(row) for row in rows], "next_cursor": next_cursor},
        default=_fallback,
        option=_OPTIONS,
    )


def encode_scored(hits: Sequence[tuple[Mapping[Any, Any], float]], **fields: Any) -> bytes:
    """`{**fields, "items": [{"task": Task, "score": float}]}`: search-style answers."""
    items = [{"task": task_dict(row), "score": score} for row, score in hits]
    return orjson.dumps({**fields, "items": items}, default=_fallback, option=_OPTIONS)
