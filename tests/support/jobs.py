"""Test-only job behaviour, loaded into Celery worker subprocesses by `tests.support.worker`.

`registry_with_test_jobs()` is the application's registry plus:
- `ALWAYS_FAILS`, a job that raises every time;
- if `TASKHUB_TEST_SLOW_JOB_SECONDS` is set, the real `task.activity` job wrapped so that it
  first appends a line to the file `TASKHUB_TEST_JOB_MARKER` (one line per attempt, so
  a test can see a job start and count redeliveries), then sleeps inside the job's
  transaction, holding its outbox row locked.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.jobs.registry import TASK_ACTIVITY, Job, JobFunction, JobRegistry
from taskhub.wiring import job_registry

ALWAYS_FAILS = "test.always_fails"
SLOW_SECONDS_ENV = "TASKHUB_TEST_SLOW_JOB_SECONDS"
MARKER_ENV = "TASKHUB_TEST_JOB_MARKER"


class DeliberateFailure(RuntimeError):
    pass


async def always_fails(_session: AsyncSession, message: Job) -> None:
    raise DeliberateFailure(f"job {message.id} fails on purpose")


def slowed(job: JobFunction, seconds: float, marker: Path) -> JobFunction:
    async def slow_job(session: AsyncSession, message: Job) -> None:
        with marker.open("a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {message.id}\n")
        await asyncio.sleep(seconds)
        await job(session, message)

    return slow_job


def registry_with_test_jobs() -> JobRegistry:
    jobs = dict(job_registry())
    jobs[ALWAYS_FAILS] = always_fails
    if SLOW_SECONDS_ENV in os.environ:
        jobs[TASK_ACTIVITY] = slowed(
            jobs[TASK_ACTIVITY], float(os.environ[SLOW_SECONDS_ENV]), Path(os.environ[MARKER_ENV])
        )
    return JobRegistry(jobs)
