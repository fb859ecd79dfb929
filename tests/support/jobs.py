"""Test-only job behaviour, loaded into Celery worker subprocesses by `tests.support.worker`.

Importing this module:
- registers `ALWAYS_FAILS`, a job that raises every time;
- if `TASKHUB_TEST_SLOW_JOB_SECONDS` is set, wraps the real `task.activity` job so that it
  first appends a line to the file `TASKHUB_TEST_JOB_MARKER` (one line per attempt, so
  a test can see a job start and count redeliveries), then sleeps inside the job's
  transaction, holding its outbox row locked.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.jobs.models import OutboxMessage
from taskhub.jobs.registry import JOBS, TASK_ACTIVITY, JobFunction

ALWAYS_FAILS = "test.always_fails"
SLOW_SECONDS_ENV = "TASKHUB_TEST_SLOW_JOB_SECONDS"
MARKER_ENV = "TASKHUB_TEST_JOB_MARKER"


class DeliberateFailure(RuntimeError):
    pass


async def always_fails(_session: AsyncSession, message: OutboxMessage) -> None:
    raise DeliberateFailure(f"job {message.id} fails on purpose")


def slowed(job: JobFunction, seconds: float, marker: Path) -> JobFunction:
    async def slow_job(session: AsyncSession, message: OutboxMessage) -> None:
        with marker.open("a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {message.id}\n")
        await asyncio.sleep(seconds)
        await job(session, message)

    return slow_job


def install() -> None:
    JOBS[ALWAYS_FAILS] = always_fails
    if SLOW_SECONDS_ENV in os.environ:
        JOBS[TASK_ACTIVITY] = slowed(
            JOBS[TASK_ACTIVITY], float(os.environ[SLOW_SECONDS_ENV]), Path(os.environ[MARKER_ENV])
        )
