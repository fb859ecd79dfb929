"""Personal access tokens: mint, list, revoke, and resolve a presented one (SPEC §10).

Never commits: the caller owns the transaction. Lookups are not cached, so a revoked
(deleted) token is refused by its very next request on every instance; one indexed
read per token request is the price.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.auth.models import PersonalToken
from taskhub.auth.pat_format import generate_token, parse_scopes, token_digest, token_matches
from taskhub.errors import Conflict, Invalid, NotFound

MAX_TOKENS_PER_USER = 100
# last_used_at is written at most this often per token, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ResolvedToken:
    id: uuid.UUID
    user_id: uuid.UUID
    scopes: frozenset[str]
    stale: bool  # last_used_at is older than TOUCH_EVERY: worth a write


def split_scopes(stored: str) -> list[str]:
    return stored.split()


async def create_token(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    name: str,
    scopes: Sequence[str],
    expires_at: datetime | None,
    now: datetime,
) -> tuple[PersonalToken, str]:
    """A new token row and the secret to show once."""
    if expires_at is not None and expires_at <= now:
        raise Invalid("expires_at must be in the future", loc=("body", "expires_at"))
    owned = await session.scalar(
        select(func.count()).select_from(PersonalToken).where(PersonalToken.user_id == user_id)
    )
    if (owned or 0) >= MAX_TOKENS_PER_USER:
        raise Conflict(f"A user may hold at most {MAX_TOKENS_PER_USER} tokens; revoke one first")
    new = generate_token()
    row = PersonalToken(
        user_id=user_id,
        name=name,
        token_hash=new.digest,
        hint=new.hint,
        scopes=" ".join(parse_scopes(scopes)),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return row, new.token


async def list_tokens(session: AsyncSession, user_id: uuid.UUID) -> Sequence[PersonalToken]:
    rows = await session.scalars(
        select(PersonalToken)
        .where(PersonalToken.user_id == user_id)
        .order_by(PersonalToken.created_at, PersonalToken.id)
    )
    return rows.all()


async def revoke_token(session: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID) -> None:
    """Delete the caller's token; another user's is NotFound, like a missing one."""
    deleted = await session.execute(
        delete(PersonalToken)
        .where(PersonalToken.id == token_id, PersonalToken.user_id == user_id)
        .returning(PersonalToken.id)
    )
    if deleted.first() is None:
        raise NotFound("Token")


async def resolve_token(session: AsyncSession, token: str, now: datetime) -> ResolvedToken | None:
    """The unexpired token `token` names, or None."""
    digest = token_digest(token)
    row = (
        await session.execute(
            select(
                PersonalToken.id,
                PersonalToken.user_id,
                PersonalToken.token_hash,
                PersonalToken.scopes,
                PersonalToken.expires_at,
                PersonalToken.last_used_at,
            ).where(PersonalToken.token_hash == digest)
        )
    ).first()
    # The index finds the row by digest; the constant-time comparison is belt and braces.
    if row is None or not token_matches(token, row.token_hash):
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    stale = row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY
    return ResolvedToken(
        id=row.id, user_id=row.user_id, scopes=frozenset(split_scopes(row.scopes)), stale=stale
    )


async def touch_token(session: AsyncSession, token_id: uuid.UUID, now: datetime) -> None:
    """Record a use, unless another request recorded one within TOUCH_EVERY."""
    await session.execute(
        update(PersonalToken)
        .where(
            PersonalToken.id == token_id,
            or_(
                PersonalToken.last_used_at.is_(None),
                PersonalToken.last_used_at <= now - TOUCH_EVERY,
            ),
        )
        .values(last_used_at=now)
    )
