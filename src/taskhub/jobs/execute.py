"""Running one outbox message, claiming batches, and recording failures.

Shared by the embedded runner and the Celery worker, so both modes have the same
semantics: a message's effect and its `done` mark commit together, which makes a
redelivered message a no-op.
"""

from __future__ import annotations

import enum
import random
import uuid
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.db import Database, utcnow
from taskhub.jobs.metrics import JOBS_TOTAL
from taskhub.jobs.models import JobStatus, OutboxMessage
from taskhub.jobs.registry import JOBS
from taskhub.ops.logging import get_logger

log = get_logger(__name__)

MAX_ATTEMPTS = 6
LEASE = timedelta(seconds=15)  # an embedded claim older than this is presumed dead
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0


class Outcome(enum.StrEnum):
    succeeded = "succeeded"
    duplicate = "duplicate"  # already done: a redelivery, skipped
    failed = "failed"  # will be retried
    dead = "dead"  # out of retries


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter (seconds) before retry number `attempt`."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not security)


async def execute(database: Database, message_id: uuid.UUID) -> Outcome:
    """Run the job of `message_id` once; raise on failure (the caller decides retries)."""
    async with database.writer() as session:
        message = await session.get(OutboxMessage, message_id, with_for_update=True)
        if message is None or message.status in (JobStatus.done, JobStatus.dead):
            JOBS_TOTAL.labels(message.job if message else "unknown", Outcome.duplicate).inc()
            return Outcome.duplicate
        function = JOBS.get(message.job)
        if function is None:
            raise LookupError(f"unknown job {message.job!r}")
        await function(session, message)
        message.status = JobStatus.done
        message.finished_at = utcnow()
        message.last_error = None
        await session.commit()
        JOBS_TOTAL.labels(message.job, Outcome.succeeded).inc()
        return Outcome.succeeded


async def record_failure(
    database: Database, message_id: uuid.UUID, error: BaseException, *, final: bool
) -> Outcome:
    """Note a failed attempt; reschedule it (embedded mode) or mark it dead."""
    text = f"{type(error).__name__}: {error}"[:2000]
    async with database.writer() as session:
        message = await session.get(OutboxMessage, message_id, with_for_update=True)
        if message is None or message.status is JobStatus.done:
            return Outcome.duplicate
        if message.status is JobStatus.dispatched:
            message.attempts += 1  # Celery attempts are counted here (embedded: at claim)
        final = final or message.attempts >= MAX_ATTEMPTS
        message.last_error = text
        if final:
            message.status = JobStatus.dead
            message.finished_at = utcnow()
        elif message.status is JobStatus.running:
            message.status = JobStatus.pending
            message.available_at = utcnow() + timedelta(seconds=backoff(message.attempts))
        job = message.job
        await session.commit()
    outcome = Outcome.dead if final else Outcome.failed
    JOBS_TOTAL.labels(job, outcome).inc()
    log.warning("job_failed", job=job, message_id=str(message_id), outcome=outcome, error=text)
    return outcome


def _claimable(now: object) -> object:
    return or_(
        (OutboxMessage.status == JobStatus.pending) & (OutboxMessage.available_at <= now),
        (OutboxMessage.status == JobStatus.running) & (OutboxMessage.claimed_until < now),
    )


async def claim_batch(session: AsyncSession, limit: int) -> list[uuid.UUID]:
    """Claim up to `limit` runnable messages for this process (embedded mode)."""
    now = utcnow()
    candidates = (
        select(OutboxMessage.id)
        .where(_claimable(now))  # type: ignore[arg-type]
        .order_by(OutboxMessage.available_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list((await session.scalars(candidates)).all())
    if not ids:
        return []
    claimed = await session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), _claimable(now))  # type: ignore[arg-type]
        .values(
            status=JobStatus.running,
            claimed_until=now + LEASE,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage.id)
    )
    return list(claimed.all())
