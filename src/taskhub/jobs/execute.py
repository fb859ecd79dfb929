"""Running one outbox message, and recording its failures.

Shared by the embedded runner and the Celery worker, so both modes have the same
semantics: a message's effect and its `done` mark commit together, which makes a
redelivered message a no-op. The retry policy lives here; the statements in `outbox`.
"""

from __future__ import annotations

import enum
import random
import uuid
from collections.abc import Sequence
from datetime import timedelta

from taskhub.db import Database
from taskhub.jobs import outbox
from taskhub.jobs.metrics import JOBS_TOTAL
from taskhub.jobs.registry import JobRegistry
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


def _retry_in(attempt: int) -> timedelta:
    return timedelta(seconds=backoff(attempt))


async def execute(database: Database, jobs: JobRegistry, message_id: uuid.UUID) -> Outcome:
    """Run the job of `message_id` once; raise on failure (the caller decides retries)."""
    async with database.writer() as session:
        message = await outbox.lock(session, message_id)
        if message is None or message.status in outbox.FINISHED:
            JOBS_TOTAL.labels(message.job if message else "unknown", Outcome.duplicate).inc()
            return Outcome.duplicate
        function = jobs.get(message.job)
        if function is None:
            raise LookupError(f"unknown job {message.job!r}")
        await function(session, outbox.job_of(message))
        outbox.mark_done(message)
        await session.commit()
        JOBS_TOTAL.labels(message.job, Outcome.succeeded).inc()
        return Outcome.succeeded


async def execute_batch(
    database: Database, jobs: JobRegistry, message_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """Run the batchable jobs among these in one transaction; return the others' ids.

    Each job runs as `execute` would (skipped if finished, done-mark in the same
    transaction), with one BEGIN/COMMIT and one lock statement for the batch instead of
    per job. All or nothing: if a body fails, nothing commits and the error propagates,
    so the caller runs the batch one by one (`execute`) and records that one's failure.
    """
    succeeded: list[str] = []
    duplicates: list[str] = []
    others: list[uuid.UUID] = []
    async with database.writer() as session:
        for message in await outbox.lock_many(session, message_ids):
            if message.status in outbox.FINISHED:
                duplicates.append(message.job)
            elif message.job not in jobs.batchable:
                others.append(message.id)
            else:
                await jobs[message.job](session, outbox.job_of(message))
                outbox.mark_done(message)
                succeeded.append(message.job)
        await session.commit()
    for name in succeeded:
        JOBS_TOTAL.labels(name, Outcome.succeeded).inc()
    for name in duplicates:
        JOBS_TOTAL.labels(name, Outcome.duplicate).inc()
    return others


async def record_failure(
    database: Database, message_id: uuid.UUID, error: BaseException, *, final: bool
) -> Outcome:
    """Note a failed attempt; reschedule it (embedded mode) or mark it dead."""
    text = f"{type(error).__name__}: {error}"[:2000]
    async with database.writer() as session:
        failure = await outbox.record_failure(
            session, message_id, text, final=final, max_attempts=MAX_ATTEMPTS, retry_in=_retry_in
        )
        await session.commit()
    if failure is None:
        return Outcome.duplicate
    outcome = Outcome.dead if failure.dead else Outcome.failed
    JOBS_TOTAL.labels(failure.job, outcome).inc()
    log.warning(
        "job_failed", job=failure.job, message_id=str(message_id), outcome=outcome, error=text
    )
    return outcome
