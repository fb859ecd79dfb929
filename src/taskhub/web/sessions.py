"""Server-side sessions: create, resolve, revoke. Never commits; framework-free.

The cookie holds a random value; the table holds its SHA-256. Signing out deletes the
row, so the old cookie is worthless at once, whoever kept a copy.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.db import utcnow
from taskhub.web.models import WebSession

SESSION_TTL = timedelta(days=14)
# last_seen_at is a hint for people, not a rule: refreshing it at most this often keeps
# a page view a read.
LAST_SEEN_GRANULARITY = timedelta(minutes=5)
MAX_COOKIE_CHARS = 128


@dataclass(frozen=True, slots=True)
class ActiveSession:
    id: uuid.UUID
    user_id: uuid.UUID
    csrf_secret: str
    last_seen_at: datetime


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


async def open_session(session: AsyncSession, user_id: uuid.UUID) -> str:
    """A new session for `user_id`; returns the cookie value (shown once, never stored)."""
    value = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_hash=_digest(value),
            user_id=user_id,
            csrf_secret=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_TTL,
            last_seen_at=now,
        )
    )
    await session.flush()
    return value


async def resolve(session: AsyncSession, cookie: str) -> ActiveSession | None:
    """The live session a cookie value names, or None (unknown, revoked or expired)."""
    if not cookie or len(cookie) > MAX_COOKIE_CHARS or "\x00" in cookie:
        return None
    row = (
        await session.execute(
            select(
                WebSession.id, WebSession.user_id, WebSession.csrf_secret, WebSession.last_seen_at
            ).where(WebSession.token_hash == _digest(cookie), WebSession.expires_at > utcnow())
        )
    ).first()
    if row is None:
        return None
    return ActiveSession(id=row[0], user_id=row[1], csrf_secret=row[2], last_seen_at=row[3])


def is_stale(active: ActiveSession) -> bool:
    return utcnow() - active.last_seen_at >= LAST_SEEN_GRANULARITY


async def touch(session: AsyncSession, active: ActiveSession) -> None:
    """Record activity (call when `is_stale`)."""
    await session.execute(
        update(WebSession).where(WebSession.id == active.id).values(last_seen_at=utcnow())
    )


async def revoke(session: AsyncSession, session_id: uuid.UUID) -> None:
    await session.execute(delete(WebSession).where(WebSession.id == session_id))


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(WebSession).where(WebSession.expires_at < now))
    return int(result.rowcount)  # type: ignore[attr-defined]
