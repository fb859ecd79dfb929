"""The idempotency records: claim a key before executing, store the answer after.

Each step is its own short transaction, committed before the request runs, so the unique
(caller, key) constraint decides between concurrent duplicates on every instance sharing
the database: one INSERT wins, every other request sees the winner's row.

A request that dies without answering (a crash, a lost connection to the database)
leaves its row "in progress". It holds a lease of LEASE; after that a retry may take
the key over and run. Requests here take milliseconds, so a request still running after
a minute is taken for dead.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.db import Database, new_id
from taskhub.idempotency.models import IdempotencyKey

KEEP = timedelta(hours=24)
LEASE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Claimed:
    """This request runs; `complete` or `release` with this claim afterwards."""

    id: uuid.UUID
    lease: str


@dataclass(frozen=True, slots=True)
class Stored:
    """The first request's answer. `body` None: it was too large to keep."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes | None


class InProgress:
    """The first request with this key is still running."""


class Mismatch:
    """The key was used for another request (method, path or body)."""


Outcome = Claimed | Stored | InProgress | Mismatch


async def claim(
    database: Database, caller: str, key: str, fingerprint: str, now: datetime
) -> Outcome:
    """Take the key for this request, or say why not."""
    # Twice at most: the second round follows a purge of an expired row.
    for _ in range(2):
        lease = secrets.token_hex(16)
        row_id = new_id()
        async with database.gate, database.writer() as session:
            session.add(
                IdempotencyKey(
                    id=row_id,
                    caller=caller,
                    key=key,
                    fingerprint=fingerprint,
                    lease=lease,
                    lease_until=now + LEASE,
                    created_at=now,
                    expires_at=now + KEEP,
                )
            )
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
            else:
                return Claimed(row_id, lease)
            outcome = await _existing(session, caller, key, fingerprint, now)
            if outcome is not None:
                return outcome
    return InProgress()  # a concurrent request keeps re-creating it: it is running


async def _existing(
    session: AsyncSession, caller: str, key: str, fingerprint: str, now: datetime
) -> Outcome | None:
    """What the row that beat our INSERT says; None when it is gone or expired (retry)."""
    row = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.caller == caller, IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if row.expires_at <= now:
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.id == row.id, IdempotencyKey.expires_at <= now
            )
        )
        await session.commit()
        return None
    if row.fingerprint != fingerprint:
        return Mismatch()
    if row.status_code is not None:
        headers = [(str(name), str(value)) for name, value in row.response_headers or ()]
        return Stored(row.status_code, headers, row.response_body)
    if row.lease_until > now:
        return InProgress()
    # The first request's lease ran out (it died): take the key over, unless another
    # retry just did (compare-and-set on the lease).
    lease = secrets.token_hex(16)
    taken = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == row.id,
            IdempotencyKey.lease == row.lease,
            IdempotencyKey.status_code.is_(None),
        )
        .values(lease=lease, lease_until=now + LEASE)
        .returning(IdempotencyKey.id)
    )
    won = taken.first() is not None
    await session.commit()
    return Claimed(row.id, lease) if won else InProgress()


async def complete(database: Database, claimed: Claimed, answer: Stored) -> None:
    """Keep the answer for replays."""
    async with database.gate, database.writer() as session:
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == claimed.id, IdempotencyKey.lease == claimed.lease)
            .values(
                status_code=answer.status,
                response_headers=[list(pair) for pair in answer.headers],
                response_body=answer.body,
            )
        )
        await session.commit()


async def release(database: Database, claimed: Claimed) -> None:
    """Forget the key: the request did not complete, and a retry should run it."""
    async with database.gate, database.writer() as session:
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.id == claimed.id, IdempotencyKey.lease == claimed.lease
            )
        )
        await session.commit()


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete keys past their 24 hours (the maintenance job). The caller commits."""
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now).returning(IdempotencyKey.id)
    )
    return len(result.all())
