"""/api/v1/tokens: personal access tokens (SPEC §10). Session (JWT) callers only."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from taskhub.auth import pats
from taskhub.auth.deps import CallerDep
from taskhub.auth.models import PersonalToken
from taskhub.auth.schemas import TokenCreate, TokenCreated, TokenOut
from taskhub.db import utcnow
from taskhub.deps import ReaderDep, SessionDep
from taskhub.pagination import Page
from taskhub.routing import PathId, error_responses, parse_id

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


def _out(row: PersonalToken) -> dict[str, object]:
    return {
        "id": row.id,
        "name": row.name,
        "scopes": pats.split_scopes(row.scopes),
        "hint": row.hint,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "last_used_at": row.last_used_at,
    }


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenCreated,
    operation_id="create_token",
    responses=error_responses(
        401, 403, 409, 413, 429, 503, e403="Tokens cannot mint tokens", e409="Too many tokens"
    ),
)
async def create_token(body: TokenCreate, caller: CallerDep, session: SessionDep) -> TokenCreated:
    row, secret = await pats.create_token(
        session,
        caller.user_id,
        name=body.name,
        scopes=body.scopes,
        expires_at=body.expires_at,
        now=utcnow(),
    )
    await session.commit()
    return TokenCreated.model_validate({**_out(row), "token": secret})


@router.get(
    "",
    response_model=Page[TokenOut],
    operation_id="list_tokens",
    responses=error_responses(401, 403, 429, 503),
)
async def list_tokens(caller: CallerDep, session: ReaderDep) -> Page[TokenOut]:
    # A user holds at most MAX_TOKENS_PER_USER tokens: always one page, in SPEC §2's shape.
    rows = await pats.list_tokens(session, caller.user_id)
    items = [TokenOut.model_validate(_out(row)) for row in rows]
    return Page[TokenOut](items=items, next_cursor=None)


@router.delete(
    "/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_token",
    responses=error_responses(401, 403, 404, 429, 503),
)
async def delete_token(token_id: PathId, caller: CallerDep, session: SessionDep) -> Response:
    await pats.revoke_token(session, caller.user_id, parse_id(token_id, "Token"))
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
