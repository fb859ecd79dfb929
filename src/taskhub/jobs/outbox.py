"""Every statement on the outbox table: the one door jobs go through.

A job is a row written in the same transaction as its cause (`enqueue`). The embedded
runner `claim`s rows, the Celery relay takes `dispatchable` rows and marks them
`dispatched`; whoever runs a job `lock`s its row and marks it done in the job's own
transaction, so a redelivered job finds it done and does nothing. Policies (how many
attempts, how long a lease, the backoff) belong to the callers and come in as
arguments; this module only knows the row's states.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, event, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.db import utcnow
from taskhub.jobs.models import JobStatus, OutboxMessage
from taskhub.jobs.registry import Job

ON_COMMIT_KEY = "taskhub.outbox.on_commit"  # session.info: callable that wakes the runner
_LISTENING_KEY = "taskhub.outbox.listening"
FINISHED = (JobStatus.done, JobStatus.dead)


def enqueue(
    session: AsyncSession,
    job: str,
    payload: dict[str, Any],
    *,
    available_at: datetime | None = None,
) -> OutboxMessage:
    """Record `job` to run after this transaction commits (and only if it does).

    `available_at`: not before then (a scheduled job, e.g. a reminder); default now.

    Nothing reaches the broker here: the row commits or rolls back with the write that
    caused it, and a relay (or the embedded runner) picks it up afterwards. So a broker
    outage at commit time delays the job; it never loses it or fails the request.
    """
    message = OutboxMessage(job=job, payload=payload)
    if available_at is not None:
        message.available_at = available_at
    session.add(message)
    wake: Callable[[], None] | None = session.info.get(ON_COMMIT_KEY)
    if wake is not None and not session.info.get(_LISTENING_KEY):
        session.info[_LISTENING_KEY] = True

        def _after_commit(_session: Any) -> None:
            session.info.pop(_LISTENING_KEY, None)
            wake()

        event.listen(session.sync_session, "after_commit", _after_commit, once=True)
    return message


async def pending_payloads(session: AsyncSession, job: str, limit: int) -> list[dict[str, Any]]:
    """Payloads of up to `limit` pending `job` rows: for a job that batches its peers' work.

    Read only: the rows stay pending and run later (a batching body makes them no-ops).
    """
    if limit < 1:
        return []
    rows = await session.scalars(
        select(OutboxMessage.payload)
        .where(OutboxMessage.job == job, OutboxMessage.status == JobStatus.pending)
        .order_by(OutboxMessage.available_at)
        .limit(limit)
    )
    return list(rows.all())


# --- running one job ---------------------------------------------------------------------


async def lock(session: AsyncSession, message_id: uuid.UUID) -> OutboxMessage | None:
    """The row, locked until the transaction ends (None if it is gone)."""
    return await session.get(OutboxMessage, message_id, with_for_update=True)


async def lock_many(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[OutboxMessage]:
    """These rows (those still there), locked until the transaction ends, oldest first.

    Locked in id order (one order for every locker), returned in the order they were
    written: consumers such as the webhook fan-out rely on a task's events running in
    the order they happened.
    """
    rows = await session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .order_by(OutboxMessage.id)
        .with_for_update()
    )
    return sorted(rows.scalars().all(), key=lambda m: (m.created_at, m.id))


def job_of(message: OutboxMessage) -> Job:
    return Job(
        id=message.id, name=message.job, payload=message.payload, created_at=message.created_at
    )


def mark_done(message: OutboxMessage) -> None:
    """Done, in the transaction that holds the job's effect: both commit or neither."""
    message.status = JobStatus.done
    message.finished_at = utcnow()
    message.last_error = None


@dataclass(frozen=True)
class Failure:
    job: str
    dead: bool


async def record_failure(
    session: AsyncSession,
    message_id: uuid.UUID,
    error: str,
    *,
    final: bool,
    max_attempts: int,
    retry_in: Callable[[int], timedelta],
) -> Failure | None:
    """Note a failed attempt: reschedule it (embedded mode) or mark it dead.

    None if the row is gone or already done (a redelivery that lost the race).
    """
    message = await lock(session, message_id)
    if message is None or message.status is JobStatus.done:
        return None
    if message.status is JobStatus.dispatched:
        message.attempts += 1  # Celery attempts are counted here (embedded: at claim)
    dead = final or message.attempts >= max_attempts
    message.last_error = error
    if dead:
        message.status = JobStatus.dead
        message.finished_at = utcnow()
    elif message.status is JobStatus.running:
        message.status = JobStatus.pending
        message.available_at = utcnow() + retry_in(message.attempts)
    return Failure(job=message.job, dead=dead)


# --- embedded mode: claim with a lease ----------------------------------------------------


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        (OutboxMessage.status == JobStatus.pending) & (OutboxMessage.available_at <= now),
        (OutboxMessage.status == JobStatus.running) & (OutboxMessage.claimed_until < now),
    )


async def claim(session: AsyncSession, limit: int, lease: timedelta) -> list[uuid.UUID]:
    """Claim up to `limit` runnable rows for `lease`; a claim that outlives it is retaken."""
    now = utcnow()
    candidates = (
        select(OutboxMessage.id)
        .where(_claimable(now))
        .order_by(OutboxMessage.available_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list((await session.scalars(candidates)).all())
    if not ids:
        return []
    claimed = await session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), _claimable(now))
        .values(
            status=JobStatus.running,
            claimed_until=now + lease,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage.id)
    )
    return list(claimed.all())


# --- Celery mode: the relay ---------------------------------------------------------------


async def dispatchable(session: AsyncSession, limit: int) -> list[tuple[uuid.UUID, str]]:
    """(id, job) of pending rows due now, locked (skipping rows another relay holds)."""
    rows = await session.execute(
        select(OutboxMessage.id, OutboxMessage.job)
        .where(OutboxMessage.status == JobStatus.pending, OutboxMessage.available_at <= utcnow())
        .order_by(OutboxMessage.available_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(message_id, job) for message_id, job in rows.all()]


async def mark_dispatched(session: AsyncSession, ids: Sequence[uuid.UUID]) -> None:
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(status=JobStatus.dispatched, dispatched_at=utcnow())
        )


async def redispatch_stale(
    session: AsyncSession, older_than: timedelta, max_attempts: int, reason: str
) -> None:
    """Rows dispatched before `older_than` and never finished: pending again, or dead.

    Each resend counts as an attempt; a row that would pass `max_attempts` is dead.
    """
    stale = (
        OutboxMessage.status == JobStatus.dispatched,
        OutboxMessage.dispatched_at < utcnow() - older_than,
    )
    await session.execute(
        update(OutboxMessage)
        .where(*stale, OutboxMessage.attempts >= max_attempts - 1)
        .values(
            status=JobStatus.dead,
            attempts=OutboxMessage.attempts + 1,
            finished_at=utcnow(),
            last_error=reason,
        )
    )
    await session.execute(
        update(OutboxMessage)
        .where(*stale)
        .values(
            status=JobStatus.pending, available_at=utcnow(), attempts=OutboxMessage.attempts + 1
        )
    )


# --- metrics and housekeeping ---------------------------------------------------------------


async def counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Rows by (job, status)."""
    rows = await session.execute(
        select(OutboxMessage.job, OutboxMessage.status, func.count()).group_by(
            OutboxMessage.job, OutboxMessage.status
        )
    )
    return {(job, str(status)): count for job, status, count in rows.all()}


async def purge_finished(
    session: AsyncSession, *, done_before: datetime, dead_before: datetime
) -> tuple[int, int]:
    """Delete done rows finished before `done_before`, dead ones before `dead_before`."""
    done = await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.status == JobStatus.done, OutboxMessage.finished_at < done_before
        )
    )
    dead = await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.status == JobStatus.dead, OutboxMessage.finished_at < dead_before
        )
    )
    return int(done.rowcount), int(dead.rowcount)  # type: ignore[attr-defined]


async def retry_dead(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Make the given dead jobs pending again, from a clean slate; returns those reset.

    Only dead rows: a pending or running job must not be started twice.
    """
    retried = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == JobStatus.dead)
        .values(
            status=JobStatus.pending,
            attempts=0,
            available_at=utcnow(),
            claimed_until=None,
            dispatched_at=None,
        )
        .returning(OutboxMessage.id)
    )
    return list(retried.scalars())
