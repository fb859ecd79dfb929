"""Comment rules: who reads, posts, edits and deletes. Never commits.

Visibility is the task's (`tasks.access`, never a copy of the rule): whoever sees the
task reads its comments, and a comment on a task the caller cannot see does not exist
for them (404).

* post: whoever may change the task (its inbox owner, project editors and owners);
* edit: the author;
* delete: the author, or the owner of the task's place (a project owner; the inbox
  owner, for comments left while the task was in a project).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.comments.models import Comment
from taskhub.comments.schemas import CommentIn, CommentOut
from taskhub.db import utcnow
from taskhub.errors import Forbidden, NotFound
from taskhub.pagination import decode_time_key, encode_cursor, fingerprint
from taskhub.projects.access import Role
from taskhub.tasks.access import may_write, visible_task
from taskhub.tasks.events import emit


@dataclass(frozen=True, slots=True)
class CommentPage:
    items: list[CommentOut]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class _Place:
    """The commented task as the caller sees it."""

    owner_id: uuid.UUID
    project_id: uuid.UUID | None
    role: Role | None

    def owned_by(self, user_id: uuid.UUID) -> bool:
        if self.project_id is None:
            return self.owner_id == user_id
        return self.role is Role.owner


async def _place(session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID) -> _Place:
    found = await visible_task(session, user_id, task_id)
    if found is None:
        raise NotFound("Task")
    task, role = found
    return _Place(task.owner_id, task.project_id, role)


async def list_comments(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID, limit: int, cursor: str | None
) -> CommentPage:
    """The task's comments, oldest first (a conversation reads down), keyset-paged."""
    await _place(session, user_id, task_id)
    fp = fingerprint(kind="comments", task=str(task_id))
    query = select(Comment).where(Comment.task_id == task_id)
    if cursor is not None:
        created, last_id = decode_time_key(cursor, fp)
        query = query.where(
            or_(
                Comment.created_at > created,
                and_(Comment.created_at == created, Comment.id > last_id),
            )
        )
    query = query.order_by(Comment.created_at, Comment.id).limit(limit + 1)
    rows = list(await session.scalars(query))
    items = [CommentOut.model_validate(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(fp, [last.created_at.isoformat(), str(last.id)])
    return CommentPage(items=items, next_cursor=next_cursor)


async def create_comment(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID, data: CommentIn
) -> CommentOut:
    place = await _place(session, user_id, task_id)
    if not may_write(place.project_id, place.role):
        raise Forbidden("Your role in this project is read-only")
    now = utcnow()
    comment = Comment(
        task_id=task_id, author_id=user_id, body=data.body, created_at=now, updated_at=now
    )
    session.add(comment)
    await session.flush()
    emit(
        session,
        "comment.created",
        task_id=task_id,
        actor_id=user_id,
        owner_id=place.owner_id,
        project_id=place.project_id,
        action="commented",
        changes={"comment_id": str(comment.id)},
    )
    return CommentOut.model_validate(comment)


async def _visible_comment(
    session: AsyncSession, user_id: uuid.UUID, comment_id: uuid.UUID
) -> tuple[Comment, _Place]:
    comment = await session.get(Comment, comment_id)
    if comment is None:
        raise NotFound("Comment")
    try:
        place = await _place(session, user_id, comment.task_id)
    except NotFound:
        raise NotFound("Comment") from None
    return comment, place


async def get_comment(
    session: AsyncSession, user_id: uuid.UUID, comment_id: uuid.UUID
) -> CommentOut:
    comment, _ = await _visible_comment(session, user_id, comment_id)
    return CommentOut.model_validate(comment)


async def update_comment(
    session: AsyncSession, user_id: uuid.UUID, comment_id: uuid.UUID, data: CommentIn
) -> CommentOut:
    comment, _ = await _visible_comment(session, user_id, comment_id)
    if comment.author_id != user_id:
        raise Forbidden("Only the author may edit a comment")
    if comment.body != data.body:
        comment.body = data.body
        comment.updated_at = utcnow()
        await session.flush()
    return CommentOut.model_validate(comment)


async def delete_comment(session: AsyncSession, user_id: uuid.UUID, comment_id: uuid.UUID) -> None:
    comment, place = await _visible_comment(session, user_id, comment_id)
    if comment.author_id != user_id and not place.owned_by(user_id):
        raise Forbidden("Only the author or the project's owner may delete a comment")
    await session.execute(delete(Comment).where(Comment.id == comment.id))


async def bodies_for_tasks(
    session: AsyncSession, task_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each task's comments as `{"body", "created_at"}`, oldest first, in one statement.

    For the export, which reads its tasks in batches and has already decided the caller
    may read them (`transfer.export`): no visibility check here. Every id is a key.
    """
    found: dict[uuid.UUID, list[dict[str, Any]]] = {task_id: [] for task_id in task_ids}
    if not found:
        return found
    rows = await session.execute(
        select(Comment.task_id, Comment.body, Comment.created_at)
        .where(Comment.task_id.in_(list(found)))
        .order_by(Comment.created_at, Comment.id)
    )
    for task_id, body, created_at in rows:
        found[task_id].append({"body": body, "created_at": created_at})
    return found
