"""Task rules: what may be written, optimistic concurrency, moves. Never commits.

The domain's public face for routers and other features. Who may see or change a
task is decided in `tasks.access`; lists are built in `tasks.listing`, the subtask
tree walks in `tasks.tree`, the statements in `tasks.writes`, and the outbox message
a change emits in `tasks.events`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub import recurrence
from taskhub.db import utcnow
from taskhub.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed
from taskhub.projects.access import Role, role_in
from taskhub.tasks import writes
from taskhub.tasks.access import audience, may_write, visible_task, visible_task_row
from taskhub.tasks.events import (
    changed_fields,
    emit,
    schedule_reminder,
    task_changed,
    text_written,
)
from taskhub.tasks.listing import TaskFilters, TaskPage, list_tasks, place_batch
from taskhub.tasks.models import TASKS, Task
from taskhub.tasks.schemas import TaskCreate, TaskUpdate
from taskhub.tasks.tree import child_rows, creates_cycle, descendant_ids

__all__ = [
    "ANY_VERSION",
    "AnyVersion",
    "Expected",
    "TaskFilters",
    "TaskPage",
    "TaskWrite",
    "create_task",
    "delete_task",
    "get_task_row",
    "list_subtasks",
    "list_tasks",
    "place_batch",
    "update_task",
]

WRITE_RETRIES = 3


class AnyVersion:
    """`If-Match: *`: any current version matches."""


ANY_VERSION = AnyVersion()
# None: no If-Match sent; otherwise the versions the caller's If-Match accepts.
Expected = frozenset[int] | AnyVersion | None


@dataclass(frozen=True, slots=True)
class TaskWrite:
    """What a committed write changed, for the caller to answer and to invalidate caches."""

    row: Mapping[Any, Any] | None  # the task as written; None when it was deleted
    owner_id: uuid.UUID
    forget: tuple[uuid.UUID, ...] = ()  # other tasks changed or deleted with it
    audience: frozenset[uuid.UUID] = frozenset()  # users whose lists now differ


async def get_task_row(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID
) -> Mapping[str, Any]:
    """The visible task's columns (one statement); NotFound otherwise."""
    row = await visible_task_row(session, user_id, task_id)
    if row is None:
        raise NotFound("Task")
    return row


async def list_subtasks(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID
) -> list[RowMapping]:
    """The direct subtasks of a visible task (a subtree shares its root's place); NotFound
    when the task is not visible."""
    await get_task_row(session, user_id, task_id)
    return await child_rows(session, task_id)


async def _visible(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID
) -> tuple[Task, Role | None]:
    found = await visible_task(session, user_id, task_id)
    if found is None:
        raise NotFound("Task")
    return found


async def _load_writable(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID, expected: Expected
) -> Task:
    task, role = await _visible(session, user_id, task_id)
    if not may_write(task.project_id, role):
        raise Forbidden("Your role in this project is read-only")
    if isinstance(expected, frozenset) and task.version not in expected:
        raise PreconditionFailed("Task was modified (version mismatch)")
    return task


async def _require_project_writer(
    session: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID
) -> None:
    role = await role_in(session, project_id, user_id)
    if role is None:
        raise NotFound("Project")
    if not may_write(project_id, role):
        raise Forbidden("Your role in this project is read-only")


async def _check_parent(
    session: AsyncSession,
    user_id: uuid.UUID,
    parent_id: uuid.UUID,
    project_id: uuid.UUID | None,
    owner_id: uuid.UUID,
) -> None:
    parent, role = await _visible(session, user_id, parent_id)
    # The parent is a reference in the body, not the resource being changed: a parent
    # the caller may only read is an invalid value (422), like one in another project.
    if not may_write(parent.project_id, role):
        raise Invalid("parent_id: the parent is read-only to you", loc=("body", "parent_id"))
    same_place = parent.project_id == project_id and (
        project_id is not None or parent.owner_id == owner_id
    )
    if not same_place:
        raise Invalid(
            "parent_id: the parent must be in the same project (or inbox)",
            loc=("body", "parent_id"),
        )


def _check_schedule(
    rule: str | None, due_at: datetime | None, timezone: str, sent: Collection[str]
) -> None:
    """The recurrence a task will have is valid: a known zone, a rule with a due date.

    Checked on the merged state: a PATCH that clears `due_at` under a rule is refused
    as much as a rule sent without one.
    """
    if rule is None:
        recurrence.parse_timezone(timezone)
        return
    if due_at is None:
        field = "due_at" if "due_at" in sent and "recurrence" not in sent else "recurrence"
        raise recurrence.InvalidRecurrence("A recurring task needs a due_at", field=field)
    recurrence.validate(rule, due_at, timezone)


async def create_task(session: AsyncSession, user_id: uuid.UUID, data: TaskCreate) -> TaskWrite:
    _check_schedule(data.recurrence, data.due_at, data.timezone, data.model_fields_set)
    if data.project_id is not None:
        await _require_project_writer(session, user_id, data.project_id)
    if data.parent_id is not None:
        await _check_parent(session, user_id, data.parent_id, data.project_id, user_id)
    now = utcnow()
    row = await writes.insert_task(
        session,
        {
            "id": uuid.uuid4(),
            "owner_id": user_id,
            "project_id": data.project_id,
            "parent_id": data.parent_id,
            "title": data.title,
            "description": data.description,
            "done": data.done,
            "priority": data.priority,
            "due_at": data.due_at,
            "labels": data.labels,
            "position": data.position,
            "created_at": now,
            "updated_at": now,
            "completed_at": now if data.done else None,
            "version": 1,
            "recurrence": data.recurrence,
            "timezone": data.timezone,
            "remind_at": data.remind_at,
        },
    )
    emit(
        session,
        "task.created",
        task_id=row["id"],
        actor_id=user_id,
        owner_id=user_id,
        project_id=data.project_id,
        action="created",
        changes={"fields": changed_fields(data.model_dump(exclude_unset=True))},
    )
    if data.remind_at is not None:
        schedule_reminder(session, row["id"], data.remind_at)
    text_written(session, row["id"])
    users = await audience(session, {(user_id, data.project_id)})
    return TaskWrite(row=row, owner_id=user_id, audience=frozenset(users))


def _merged(task: Task, changes: Mapping[str, Any], field: str) -> Any:
    return changes[field] if field in changes else getattr(task, field)


def _complete_occurrence(task: Task, changes: dict[str, Any]) -> dict[str, Any] | None:
    """Completing a recurring task: move `due_at` to the next occurrence instead.

    Rewrites `changes` (no `done`, the next `due_at`, the rule with COUNT spent) and
    returns what the activity entry records; None when this is an ordinary completion
    (not recurring, or the rule has no next occurrence: done as usual).
    """
    rule = _merged(task, changes, "recurrence")
    if changes.get("done") is not True or rule is None:
        return None
    due_at: datetime = _merged(task, changes, "due_at")  # _check_schedule: set under a rule
    step = recurrence.advance(rule, due_at, _merged(task, changes, "timezone"))
    if step is None:
        return None
    del changes["done"]
    changes["due_at"] = step.due_at
    if step.rule != rule:
        changes["recurrence"] = step.rule
    return {"occurrence": {"completed": due_at.isoformat(), "next_due_at": step.due_at.isoformat()}}


async def _plan_changes(
    session: AsyncSession, user_id: uuid.UUID, task: Task, data: TaskUpdate
) -> dict[str, Any]:
    sent = data.model_dump(exclude_unset=True)
    changes = {k: v for k, v in sent.items() if getattr(task, k) != v}
    if changes.keys() & {"recurrence", "timezone", "due_at"}:
        _check_schedule(
            _merged(task, changes, "recurrence"),
            _merged(task, changes, "due_at"),
            _merged(task, changes, "timezone"),
            sent.keys(),
        )
    if "project_id" in changes:
        target = changes["project_id"]
        if target is not None:
            await _require_project_writer(session, user_id, target)
        if task.parent_id is not None and "parent_id" not in sent:
            raise Invalid(
                "parent_id: a subtask moves with its parent; clear parent_id to move it alone",
                loc=("body", "project_id"),
            )
        if target is None:
            # Into an inbox: the mover's own, so the task stays visible to them.
            changes["owner_id"] = user_id
        if "position" not in sent:
            new_owner = changes.get("owner_id", task.owner_id)
            changes["position"] = await writes.next_position(session, new_owner, target)
    project_id = changes.get("project_id", task.project_id)
    owner_id = changes.get("owner_id", task.owner_id)
    parent_id = changes.get("parent_id", task.parent_id)
    if parent_id is not None and ("parent_id" in changes or "project_id" in changes):
        await _check_parent(session, user_id, parent_id, project_id, owner_id)
        if await creates_cycle(session, task.id, parent_id):
            raise Invalid(
                "parent_id: this would make a task its own ancestor", loc=("body", "parent_id")
            )
    return changes


async def update_task(
    session: AsyncSession,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    data: TaskUpdate,
    expected: Expected,
) -> TaskWrite:
    completing: tuple[Any, ...] | None = None  # the occurrence a recurring completion saw
    for _ in range(WRITE_RETRIES):
        task = await _load_writable(session, user_id, task_id, expected)
        changes = await _plan_changes(session, user_id, task, data)
        completion = _complete_occurrence(task, changes)
        if completion is not None:
            # A retry re-applies the request to the row as it is now. "Done" is an
            # action on one occurrence, not a value: if a concurrent write moved the
            # occurrence meanwhile (another completion), applying it again would skip one.
            occurrence = (task.due_at, task.recurrence, task.timezone)
            if completing is not None and completing != occurrence:
                raise Conflict("This occurrence was completed or rescheduled meanwhile; reload")
            completing = occurrence
        if "done" in changes:
            changes["completed_at"] = utcnow() if changes["done"] else None
        if not changes:  # nothing to write: answer with the row already loaded
            current = {column.name: getattr(task, column.name) for column in TASKS.columns}
            return TaskWrite(row=current, owner_id=task.owner_id)
        changes["updated_at"] = utcnow()
        row = await writes.update_if_version(session, task.id, task.version, changes)
        if row is not None:
            moved: list[uuid.UUID] = []
            if "project_id" in changes:
                moved = await _move_subtree(session, task.id, changes)
            task_changed(session, row, user_id, changes, completion)
            if changes.get("remind_at") is not None:
                schedule_reminder(session, task.id, changes["remind_at"])
            places = {(task.owner_id, task.project_id), (row["owner_id"], row["project_id"])}
            users = await audience(session, places)
            session.expire_all()
            return TaskWrite(
                row=row, owner_id=row["owner_id"], forget=tuple(moved), audience=frozenset(users)
            )
        if isinstance(expected, frozenset):
            raise PreconditionFailed("Task was modified (version mismatch)")
        session.expire_all()  # lost a race without If-Match: re-read and re-apply
    raise Conflict("Task is being modified concurrently; retry")


async def _move_subtree(
    session: AsyncSession, task_id: uuid.UUID, changes: dict[str, Any]
) -> list[uuid.UUID]:
    """A task moved place: its subtasks follow it (same project, same inbox owner)."""
    ids = await descendant_ids(session, task_id)
    if ids:
        follow = ("project_id", "owner_id", "updated_at")
        moved: dict[str, Any] = {k: changes[k] for k in follow if k in changes}
        await writes.update_many(session, ids, moved)
    return ids


async def delete_task(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID, expected: Expected
) -> TaskWrite:
    task = await _load_writable(session, user_id, task_id, expected)
    subtasks = await descendant_ids(session, task.id)  # deleted by the cascade
    users = await audience(session, {(task.owner_id, task.project_id)})
    versioned = isinstance(expected, frozenset)
    if not await writes.delete_task_row(session, task.id, task.version if versioned else None):
        if versioned:
            raise PreconditionFailed("Task was modified (version mismatch)")
        raise NotFound("Task")
    emit(
        session,
        "task.deleted",
        task_id=task.id,
        actor_id=user_id,
        owner_id=task.owner_id,
        project_id=task.project_id,
        action="deleted",
        changes={"subtasks": [str(i) for i in subtasks]},
    )
    return TaskWrite(
        row=None, owner_id=task.owner_id, forget=(task.id, *subtasks), audience=frozenset(users)
    )
