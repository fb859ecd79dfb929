"""/api/v1/tasks/{task_id}/comments and /api/v1/comments/{comment_id}."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from taskhub.auth.deps import CallerDep
from taskhub.comments import service
from taskhub.comments.schemas import CommentIn, CommentOut
from taskhub.deps import CursorQuery, LimitQuery, ReaderDep, SessionDep
from taskhub.pagination import Page
from taskhub.routing import (
    BODY_ERRORS,
    NOT_FOUND,
    WRITE_ERRORS,
    PathId,
    created_links,
    parse_id,
)

router = APIRouter(prefix="/api/v1", tags=["comments"])


@router.get(
    "/tasks/{task_id}/comments",
    response_model=Page[CommentOut],
    operation_id="list_task_comments",
    responses=NOT_FOUND,
)
async def list_comments(
    task_id: PathId,
    caller: CallerDep,
    session: ReaderDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[CommentOut]:
    """The task's comments, oldest first. Whoever sees the task reads them."""
    page = await service.list_comments(
        session, caller.user_id, parse_id(task_id, "Task"), limit, cursor
    )
    return Page[CommentOut](items=page.items, next_cursor=page.next_cursor)


@router.post(
    "/tasks/{task_id}/comments",
    status_code=status.HTTP_201_CREATED,
    response_model=CommentOut,
    operation_id="create_comment",
    responses={
        **WRITE_ERRORS,
        **BODY_ERRORS,
        **created_links("comment_id", "get_comment", "update_comment", "delete_comment"),
    },
)
async def create_comment(
    task_id: PathId, body: CommentIn, caller: CallerDep, session: SessionDep, response: Response
) -> CommentOut:
    """Comment on a task: its inbox owner, project editors and owners (viewers: 403)."""
    comment = await service.create_comment(session, caller.user_id, parse_id(task_id, "Task"), body)
    await session.commit()
    response.headers["Location"] = f"/api/v1/comments/{comment.id}"
    return comment


@router.get(
    "/comments/{comment_id}",
    response_model=CommentOut,
    operation_id="get_comment",
    responses=NOT_FOUND,
)
async def get_comment(comment_id: PathId, caller: CallerDep, session: ReaderDep) -> CommentOut:
    return await service.get_comment(session, caller.user_id, parse_id(comment_id, "Comment"))


@router.patch(
    "/comments/{comment_id}",
    response_model=CommentOut,
    operation_id="update_comment",
    responses={**WRITE_ERRORS, **BODY_ERRORS},
)
async def update_comment(
    comment_id: PathId, body: CommentIn, caller: CallerDep, session: SessionDep
) -> CommentOut:
    """Edit a comment: its author only (others who see it: 403)."""
    comment = await service.update_comment(
        session, caller.user_id, parse_id(comment_id, "Comment"), body
    )
    await session.commit()
    return comment


@router.delete(
    "/comments/{comment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_comment",
    responses=WRITE_ERRORS,
)
async def delete_comment(comment_id: PathId, caller: CallerDep, session: SessionDep) -> Response:
    """Delete a comment: its author, or the owner of the task's project (or inbox)."""
    await service.delete_comment(session, caller.user_id, parse_id(comment_id, "Comment"))
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
