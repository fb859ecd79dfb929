"""GET /api/v1/export: the caller's own projects and tasks, streamed in keyset batches.

"Own" (SPEC §10): the caller's inbox and every project they own, with all of its tasks
(whoever created them). Projects the caller only belongs to are someone else's to
export. Each batch is read in its own short autocommit session, so neither memory nor a
transaction grows with the account: the document is written as it is read.

The JSON document:

    {"format": "taskhub-export", "version": 1, "exported_at": "...Z",
     "projects": [{"id", "name", "description", "created_at", "updated_at"}],
     "tasks": [{"id", "project_id", "parent_id", "title", "description", "done",
                "priority", "due_at", "labels", "position", "created_at", "updated_at",
                "completed_at", "comments": [{"body", "created_at"}], ...}]}

Subtasks refer to their parent by `parent_id`; a parent may come after its subtask (the
import resolves references in any order). Task fields that exist on the task table
beyond these (`OPTIONAL_TASK_FIELDS`: recurrence, timezone, remind_at) are exported when
present. A task's comments are listed oldest first, read per batch of tasks (one
statement: `comments.service.bodies_for_tasks`). The CSV export has no comments: the
JSON document is the format for a faithful round trip.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import RowMapping

from taskhub.comments import service as comments
from taskhub.db import Database, utcnow
from taskhub.projects.access import MEMBER_ROLE, Role, visible_projects
from taskhub.tasks import service as tasks
from taskhub.transfer.cells import export_row
from taskhub.transfer.plain_csv import COLUMNS
from taskhub.transfer.staging import EXPORT_FORMAT, EXPORT_VERSION

BATCH = 1000
TASK_FIELDS = (
    "id",
    "project_id",
    "parent_id",
    "title",
    "description",
    "done",
    "priority",
    "due_at",
    "labels",
    "position",
    "created_at",
    "updated_at",
    "completed_at",
)
OPTIONAL_TASK_FIELDS = ("recurrence", "timezone", "remind_at")
_OPTIONS = orjson.OPT_UTC_Z


def _default(value: Any) -> str:
    return str(value)  # asyncpg's UUID class, anything else orjson does not know


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=_OPTIONS)


def task_entry(
    row: Mapping[Any, Any], task_comments: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    entry = {name: row[name] for name in TASK_FIELDS}
    entry.update({name: row[name] for name in OPTIONAL_TASK_FIELDS if name in row})
    entry["comments"] = task_comments or []
    return entry


async def owned_projects(database: Database, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """The projects `user_id` owns, oldest first (few: read in one statement)."""
    async with database.reader() as session:
        query = visible_projects(user_id).where(MEMBER_ROLE == Role.owner)  # noqa: SIM300
        rows = (await session.execute(query)).all()
    projects = [
        {
            "id": p.id,
            "name": p.name,
            "description": p.description,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
        }
        for p, _role in rows
    ]
    return sorted(projects, key=lambda p: (p["created_at"], str(p["id"])))


OnBatch = Callable[[int], None]


def _ignore(_rows: int) -> None:
    pass


async def task_batches(
    database: Database,
    user_id: uuid.UUID,
    project_ids: list[uuid.UUID],
    on_batch: OnBatch = _ignore,
) -> AsyncIterator[list[RowMapping]]:
    """The inbox's tasks, then each project's, `BATCH` rows at a time."""
    for place in [None, *project_ids]:
        after: tuple[datetime, uuid.UUID] | None = None
        while True:
            async with database.reader() as session:
                rows = await tasks.place_batch(session, user_id, place, after, BATCH)
            if rows:
                on_batch(len(rows))
                yield rows
            if len(rows) < BATCH:
                break
            after = (rows[-1]["created_at"], rows[-1]["id"])


async def export_json(
    database: Database, user_id: uuid.UUID, on_batch: OnBatch = _ignore
) -> AsyncIterator[bytes]:
    """The export document, in pieces."""
    projects = await owned_projects(database, user_id)
    head = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": utcnow()}
    yield _dumps(head)[:-1] + b',"projects":' + _dumps(projects) + b',"tasks":['
    first = True
    ids = [p["id"] for p in projects]
    async for rows in task_batches(database, user_id, ids, on_batch):
        async with database.reader() as session:
            said = await comments.bodies_for_tasks(session, [row["id"] for row in rows])
        body = b",".join(_dumps(task_entry(row, said[row["id"]])) for row in rows)
        yield body if first else b"," + body
        first = False
    yield b"]}"


async def export_csv(
    database: Database, user_id: uuid.UUID, on_batch: OnBatch = _ignore
) -> AsyncIterator[bytes]:
    """The same tasks as taskhub's plain CSV (`transfer.plain_csv` columns).

    Cells a spreadsheet would run as a formula are neutralised (`cells.escape_cell`).
    `ref` is the task id and `parent` its parent's; the plain CSV reader wants a parent
    before its subtasks, so the JSON document is the format for a faithful round trip.
    """
    projects = await owned_projects(database, user_id)
    names = {p["id"]: p["name"] for p in projects}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue().encode()
    async for rows in task_batches(database, user_id, list(names), on_batch):
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            due = row["due_at"]
            writer.writerow(
                export_row(
                    [
                        row["title"],
                        row["description"],
                        row["done"],
                        row["priority"],
                        due.isoformat().replace("+00:00", "Z") if due else None,
                        ";".join(row["labels"]),
                        names.get(row["project_id"]) if row["project_id"] else None,
                        str(row["id"]),
                        str(row["parent_id"]) if row["parent_id"] else None,
                    ]
                )
            )
        yield buffer.getvalue().encode()
