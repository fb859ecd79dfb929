"""Task rules: visibility, permissions, optimistic concurrency. Never commits."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    RowMapping,
    String,
    Uuid,
    and_,
    bindparam,
    delete,
    func,
    literal_column,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from taskhub.activity.service import activity_payload
from taskhub.db import utcnow
from taskhub.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed
from taskhub.jobs.outbox import enqueue
from taskhub.jobs.registry import TASK_ACTIVITY
from taskhub.pagination import decode_cursor, encode_cursor, fingerprint
from taskhub.projects.models import ProjectMember, Role
from taskhub.projects.service import role_in
from taskhub.tasks.models import TASKS, Task
from taskhub.tasks.queries import (
    LabelContains,
    Ordering,
    in_inbox_of,
    label_param,
    like_escape,
    visible_task,
    visible_task_row,
)
from taskhub.tasks.schemas import TaskCreate, TaskUpdate

MAX_DEPTH = 1000  # bounds the ancestor walk even if the data were ever corrupt
WRITE_RETRIES = 3
_POSITION_LOCK_NAMESPACE = 0x7461736B  # "task": first key of the advisory lock on positions
_BOOKKEEPING = frozenset({"updated_at", "version", "completed_at", "owner_id"})


class AnyVersion:
    """`If-Match: *`: any current version matches."""


ANY_VERSION = AnyVersion()
# None: no If-Match sent; otherwise the versions the caller's If-Match accepts.
Expected = frozenset[int] | AnyVersion | None


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
    rows: list[RowMapping]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class TaskWrite:
    """What a committed write changed, for the caller to answer and to invalidate caches."""

    row: Mapping[Any, Any] | None  # the task as written; None when it was deleted
    owner_id: uuid.UUID
    forget: tuple[uuid.UUID, ...] = ()  # other tasks changed or deleted with it
    audience: frozenset[uuid.UUID] = frozenset()  # users whose lists now differ


async def _load(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID
) -> tuple[Task, Role | None]:
    found = await visible_task(session, user_id, task_id)
    if found is None:
        raise NotFound("Task")
    return found


def _require_write(role: Role | None, task: Task) -> None:
    # role None means the task is in the caller's own inbox (visible_task ensured it).
    if task.project_id is not None and (role is None or not role.can_write_tasks):
        raise Forbidden("Your role in this project is read-only")


def _check_expected(task: Task, expected: Expected) -> None:
    if isinstance(expected, frozenset) and task.version not in expected:
        raise PreconditionFailed("Task was modified (version mismatch)")


async def get_task_row(session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID) -> RowMapping:
    """The visible task's columns (one statement); NotFound otherwise."""
    row = await visible_task_row(session, user_id, task_id)
    if row is None:
        raise NotFound("Task")
    return row


async def roles_of(session: AsyncSession, user_id: uuid.UUID) -> dict[str, str]:
    """Project id -> the caller's role, for checking cached project tasks."""
    rows = await session.execute(
        select(ProjectMember.project_id, ProjectMember.role).where(ProjectMember.user_id == user_id)
    )
    return {str(project_id): str(role) for project_id, role in rows}


Place = tuple[uuid.UUID, uuid.UUID | None]  # (owner, project); project None: the inbox


async def audience(session: AsyncSession, places: set[Place]) -> set[uuid.UUID]:
    """Users whose default list shows tasks of these places (inbox owners, members)."""
    users = {owner for owner, project in places if project is None}
    projects = {project for _, project in places if project is not None}
    if projects:
        members = await session.scalars(
            select(ProjectMember.user_id).where(ProjectMember.project_id.in_(projects))
        )
        users.update(members)
    return users


async def _require_project_writer(
    session: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID
) -> None:
    role = await role_in(session, project_id, user_id)
    if role is None:
        raise NotFound("Project")
    if not role.can_write_tasks:
        raise Forbidden("Your role in this project is read-only")


async def _check_parent(
    session: AsyncSession,
    user_id: uuid.UUID,
    parent_id: uuid.UUID,
    project_id: uuid.UUID | None,
    owner_id: uuid.UUID,
) -> None:
    found = await visible_task(session, user_id, parent_id)
    if found is None:
        raise NotFound("Task")
    parent, role = found
    # The parent is a reference in the body, not the resource being changed: a parent
    # the caller may only read is an invalid value (422), like one in another project.
    if parent.project_id is not None and (role is None or not role.can_write_tasks):
        raise Invalid("parent_id: the parent is read-only to you", loc=("body", "parent_id"))
    same_place = parent.project_id == project_id and (
        project_id is not None or parent.owner_id == owner_id
    )
    if not same_place:
        raise Invalid(
            "parent_id: the parent must be in the same project (or inbox)",
            loc=("body", "parent_id"),
        )


async def _lock_positions(
    session: AsyncSession, owner_id: uuid.UUID, project_id: uuid.UUID | None
) -> None:
    """Serialize writers that append to one place (see `_next_position`); PostgreSQL only."""
    if session.get_bind().dialect.name == "postgresql":
        place_key = (project_id or owner_id).int % 2**31
        await session.execute(
            _POSITION_LOCK, {"namespace": _POSITION_LOCK_NAMESPACE, "key": place_key}
        )


async def _next_position(
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


def _insert_statement(position: str) -> Any:
    """INSERT ... RETURNING with every value bound; `position` is given, or last in place."""
    values: dict[str, Any] = {c.name: bindparam(c.name, type_=c.type) for c in TASKS.columns}
    if position != "given":
        place = (
            Task.project_id == bindparam("project_id")
            if position == "last_in_project"
            else in_inbox_of(bindparam("owner_id"))  # type: ignore[arg-type]
        )
        values["position"] = (
            select(func.coalesce(func.max(Task.position), 0) + 1).where(place).scalar_subquery()
        )
    return TASKS.insert().values(values).returning(*TASKS.columns)


# Built once: constructing an INSERT with fifteen values per request cost more CPU than
# sending it.
_INSERTS = {kind: _insert_statement(kind) for kind in ("given", "last_in_project", "last_in_inbox")}
_POSITION_LOCK = select(func.pg_advisory_xact_lock(bindparam("namespace"), bindparam("key")))


async def create_task(session: AsyncSession, user_id: uuid.UUID, data: TaskCreate) -> TaskWrite:
    if data.project_id is not None:
        await _require_project_writer(session, user_id, data.project_id)
    if data.parent_id is not None:
        await _check_parent(session, user_id, data.parent_id, data.project_id, user_id)
    now = utcnow()
    values: dict[str, Any] = {
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
    }
    if data.position is not None:
        kind = "given"
    else:
        kind = "last_in_project" if data.project_id is not None else "last_in_inbox"
        await _lock_positions(session, user_id, data.project_id)
    result = await session.execute(_INSERTS[kind], values)
    row = result.mappings().one()
    users = await audience(session, {(user_id, data.project_id)})
    return TaskWrite(row=row, owner_id=user_id, audience=frozenset(users))


async def _creates_cycle(session: AsyncSession, task_id: uuid.UUID, new_parent: uuid.UUID) -> bool:
    if task_id == new_parent:
        return True
    ancestors = (
        select(Task.id, Task.parent_id, literal_column("1").label("depth"))
        .where(Task.id == new_parent)
        .cte("ancestors", recursive=True)
    )
    step = aliased(Task)
    ancestors = ancestors.union_all(
        select(step.id, step.parent_id, ancestors.c.depth + 1).where(
            step.id == ancestors.c.parent_id, ancestors.c.depth < MAX_DEPTH
        )
    )
    hit = await session.scalar(select(ancestors.c.id).where(ancestors.c.id == task_id).limit(1))
    return hit is not None


async def _descendant_ids(session: AsyncSession, task_id: uuid.UUID) -> list[uuid.UUID]:
    tree = (
        select(Task.id, literal_column("1").label("depth"))
        .where(Task.parent_id == task_id)
        .cte("descendants", recursive=True)
    )
    step = aliased(Task)
    tree = tree.union_all(
        select(step.id, tree.c.depth + 1).where(
            step.parent_id == tree.c.id, tree.c.depth < MAX_DEPTH
        )
    )
    return list((await session.scalars(select(tree.c.id))).all())


async def _plan_changes(
    session: AsyncSession, user_id: uuid.UUID, task: Task, data: TaskUpdate
) -> dict[str, Any]:
    sent = data.model_dump(exclude_unset=True)
    changes = {k: v for k, v in sent.items() if getattr(task, k) != v}
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
            changes["position"] = await _next_position(session, new_owner, target)
    project_id = changes.get("project_id", task.project_id)
    owner_id = changes.get("owner_id", task.owner_id)
    parent_id = changes.get("parent_id", task.parent_id)
    if parent_id is not None and ("parent_id" in changes or "project_id" in changes):
        await _check_parent(session, user_id, parent_id, project_id, owner_id)
        if await _creates_cycle(session, task.id, parent_id):
            raise Invalid(
                "parent_id: this would make a task its own ancestor", loc=("body", "parent_id")
            )
    if "done" in changes:
        changes["completed_at"] = utcnow() if changes["done"] else None
    return changes


async def update_task(
    session: AsyncSession,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    data: TaskUpdate,
    expected: Expected,
) -> TaskWrite:
    for _ in range(WRITE_RETRIES):
        task, role = await _load(session, user_id, task_id)
        _require_write(role, task)
        _check_expected(task, expected)
        changes = await _plan_changes(session, user_id, task, data)
        if not changes:  # nothing to write: answer with the row already loaded
            current = {column.name: getattr(task, column.name) for column in TASKS.columns}
            return TaskWrite(row=current, owner_id=task.owner_id)
        changes["updated_at"] = utcnow()
        changes["version"] = Task.version + 1
        result = await session.execute(
            update(TASKS)
            .where(Task.id == task.id, Task.version == task.version)
            .values(changes)
            .returning(*TASKS.columns)
        )
        row = result.mappings().one_or_none()
        if row is not None:
            moved: list[uuid.UUID] = []
            if "project_id" in changes:
                moved = await _move_subtree(session, task.id, changes)
            _record_activity(session, task, user_id, changes)
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


def _record_activity(
    session: AsyncSession, task: Task, user_id: uuid.UUID, changes: dict[str, Any]
) -> None:
    """Queue the activity entry; the job writes it after this transaction commits."""
    fields = sorted(k for k in changes if k not in _BOOKKEEPING)
    action = "updated"
    if changes.get("done") is True:
        action = "completed"
    elif changes.get("done") is False:
        action = "reopened"
    enqueue(
        session,
        TASK_ACTIVITY,
        activity_payload(task.id, user_id, action, {"fields": fields}),
    )


async def _move_subtree(
    session: AsyncSession, task_id: uuid.UUID, changes: dict[str, Any]
) -> list[uuid.UUID]:
    ids = await _descendant_ids(session, task_id)
    if not ids:
        return ids
    moved: dict[str, Any] = {
        "project_id": changes["project_id"],
        "updated_at": changes["updated_at"],
        "version": Task.version + 1,
    }
    if "owner_id" in changes:
        moved["owner_id"] = changes["owner_id"]
    await session.execute(update(TASKS).where(Task.id.in_(ids)).values(moved))
    return ids


async def delete_task(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID, expected: Expected
) -> TaskWrite:
    task, role = await _load(session, user_id, task_id)
    _require_write(role, task)
    _check_expected(task, expected)
    subtasks = await _descendant_ids(session, task.id)  # deleted by the cascade
    users = await audience(session, {(task.owner_id, task.project_id)})
    condition = [Task.id == task.id]
    versioned = isinstance(expected, frozenset)
    if versioned:
        condition.append(Task.version == task.version)
    result = await session.execute(delete(TASKS).where(*condition))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        if versioned:
            raise PreconditionFailed("Task was modified (version mismatch)")
        raise NotFound("Task")
    return TaskWrite(
        row=None, owner_id=task.owner_id, forget=(task.id, *subtasks), audience=frozenset(users)
    )


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
    terms: int


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
    for i in range(shape.terms):
        pattern = bindparam(f"term_{i}", type_=String())
        conditions.append(
            or_(
                func.lower(Task.title).like(pattern, escape="\\"),
                func.lower(Task.description).like(pattern, escape="\\"),
            )
        )
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

    def branch(base: Any) -> Any:
        return base.where(*conditions).order_by(*ordering.order_clause()).limit(limit)

    if shape.in_project:
        return branch(select(TASKS).where(Task.project_id == bindparam("project_id")))
    user = bindparam("user_id", type_=Uuid())
    # Two index ranges (the inbox, the caller's projects), each already in list order
    # and cut to one page before the merge: the plan never visits other users' rows.
    inbox = branch(select(TASKS).where(Task.project_id.is_(None), Task.owner_id == user)).subquery()
    members = ProjectMember.__table__
    if shape.dialect == "postgresql":
        # LATERAL: a project with 100,000 tasks contributes one page of index entries
        # instead of a sort of all of them. SQLite has no LATERAL (and no such sizes).
        per_project = branch(select(TASKS).where(Task.project_id == members.c.project_id))
        lateral = per_project.lateral("per_project")
        shared = (
            select(lateral)
            .select_from(members.join(lateral, true()))
            .where(members.c.user_id == user)
            .subquery()
        )
    else:
        shared = branch(
            select(TASKS).join(
                members,
                and_(members.c.project_id == Task.project_id, members.c.user_id == user),
            )
        ).subquery()
    merged = union_all(select(inbox), select(shared)).subquery("visible")
    return select(merged).order_by(*ordering.order_clause(merged.c)).limit(limit)


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
    terms = (filters.q or "").lower().split()
    params: dict[str, Any] = {"limit": limit + 1, "user_id": user_id}
    after = ""
    if cursor is not None:
        value, last_id = ordering.parse_key(decode_cursor(cursor, fp, 2))
        after = "null" if value is None else "value"
        params.update(after_value=value, after_id=last_id)
    if filters.done is not None:
        params["done"] = filters.done
    params.update({f"label_{i}": label_param(dialect, v) for i, v in enumerate(filters.labels)})
    params.update({f"term_{i}": f"%{like_escape(t)}%" for i, t in enumerate(terms)})
    params.update(due_after=filters.due_after, due_before=filters.due_before)
    if filters.project_id is not None:
        if await role_in(session, filters.project_id, user_id) is None:
            raise NotFound("Project")
        params["project_id"] = filters.project_id
    shape = _ListShape(
        dialect=dialect,
        in_project=filters.project_id is not None,
        order_by=filters.order_by,
        after=after,
        done=filters.done is not None,
        labels=len(filters.labels),
        due_after=filters.due_after is not None,
        due_before=filters.due_before is not None,
        terms=len(terms),
    )
    result = await session.execute(_list_statement(shape), params)
    rows = list(result.mappings().all())
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(fp, ordering.key_of(rows[limit - 1]))
    return TaskPage(rows=rows[:limit], next_cursor=next_cursor)
