"""Fixtures of the task tests (helpers live in `tests.support`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from taskhub.db import Database, utcnow
from taskhub.jobs.models import JobStatus, OutboxMessage


@pytest.fixture(autouse=True)
async def _outbox_drained(app: FastAPI) -> AsyncIterator[None]:
    """Let the embedded runner finish the jobs a test queued before tables are emptied.

    The cleanup (DELETE FROM each table, tests/conftest.py) would otherwise race a job
    that holds its outbox row locked and writes task_activity.
    """
    yield
    database: Database = app.state.db
    unfinished = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.status.in_((JobStatus.pending, JobStatus.running)),
            OutboxMessage.available_at <= utcnow(),  # not reminders scheduled for later
        )
    )
    for _ in range(250):
        async with database.reader() as session:
            if not await session.scalar(unfinished):
                return
        await asyncio.sleep(0.02)
