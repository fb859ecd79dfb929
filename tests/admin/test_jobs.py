"""The background-jobs view: outbox rows by status; a dead job can be run again."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update

from taskhub.jobs.models import OutboxMessage
from tests.support.factories import MakeTask, MakeUser

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
JOBS = "/admin/outbox-message"


async def _status(app: FastAPI, job_id: str) -> str:
    async with app.state.db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, status FROM outbox"))
        statuses = {str(uuid.UUID(str(row.id))): str(row.status) for row in rows}
    return statuses[job_id]


@pytest.fixture
async def finished_job(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> str:
    """Complete a task: its activity entry is one outbox job (after its creation's)."""
    user = await make_user()
    task = await make_task(user)
    done = await client.patch(
        f"/api/v1/tasks/{task['id']}", json={"done": True}, headers=user.headers
    )
    assert done.status_code == 200, done.text
    job_id = await _one_job_id(app)
    await _until_done(app, job_id)
    return job_id


async def _one_job_id(app: FastAPI) -> str:
    completion = select(OutboxMessage.id).where(
        OutboxMessage.payload["action"].as_string() == "completed"
    )
    async with app.state.db.engine.connect() as conn:
        raw = (await conn.execute(completion)).scalar_one()
    return str(uuid.UUID(str(raw)))


async def _until_done(app: FastAPI, job_id: str) -> str:
    async with asyncio.timeout(10):
        while (status := await _status(app, job_id)) != "done":
            await asyncio.sleep(0.02)
    return status


async def _mark(app: FastAPI, job_id: str, status: str) -> None:
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == uuid.UUID(job_id))
            .values(status=status, last_error="boom")
        )


async def test_a_dead_job_listed_under_dead_is_run_again(
    app: FastAPI, admin: httpx.AsyncClient, finished_job: str
) -> None:
    job_id = finished_job
    await _mark(app, job_id, "dead")

    dead = await admin.get(f"{JOBS}/list", params={"status": "dead"})
    done_before = await admin.get(f"{JOBS}/list", params={"status": "done"})
    retried = await admin.get(f"{JOBS}/action/retry?pks={job_id}", headers=SAME_ORIGIN)

    assert job_id in dead.text
    assert job_id not in done_before.text
    assert retried.status_code == 302, retried.text
    assert await _until_done(app, job_id) == "done"


async def test_retry_leaves_jobs_that_are_not_dead_alone(
    app: FastAPI, admin: httpx.AsyncClient, finished_job: str
) -> None:
    job_id = finished_job

    retried = await admin.get(f"{JOBS}/action/retry?pks={job_id}", headers=SAME_ORIGIN)

    assert retried.status_code == 302, retried.text
    assert await _status(app, job_id) == "done"
