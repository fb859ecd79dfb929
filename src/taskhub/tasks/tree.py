"""Subtasks: walks up and down the `parent_id` tree with recursive CTEs.

Neither walk checks visibility: a subtree lives in its root's place (a subtask is in
the same project or inbox as its parent), so whoever may change the root may change
the subtree. Both are bounded by `MAX_DEPTH` even if the data were ever corrupt.
"""

from __future__ import annotations

import uuid

from sqlalchemy import RowMapping, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from taskhub.tasks.models import TASKS, Task

MAX_DEPTH = 1000


async def creates_cycle(session: AsyncSession, task_id: uuid.UUID, new_parent: uuid.UUID) -> bool:
    """Whether making `new_parent` the parent of `task_id` would make it its own ancestor."""
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


async def descendant_ids(session: AsyncSession, task_id: uuid.UUID) -> list[uuid.UUID]:
    """Every task below `task_id` (children, their children, ...), in no order."""
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


async def child_rows(session: AsyncSession, task_id: uuid.UUID) -> list[RowMapping]:
    """The direct subtasks of `task_id`, in their order (they share its visibility)."""
    result = await session.execute(
        select(*TASKS.columns)
        .where(TASKS.c.parent_id == task_id)
        .order_by(TASKS.c.position, TASKS.c.created_at, TASKS.c.id)
    )
    return list(result.mappings().all())
