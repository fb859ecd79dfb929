"""The embedded SQLite database serialises this process's write transactions.

Each test runs its own SQLite app (whatever TASKHUB_TEST_DATABASE says: the behaviour
belongs to SQLite) with SQLite's busy timeout forced to 0. Two of this process's
writers overlapping inside SQLite would then fail at once with "database is locked"
(a 503 through HTTP); queued in the process, they never meet there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select, text

from taskhub.app import create_app
from taskhub.db import Database
from taskhub.jobs.models import JobStatus, OutboxMessage
from taskhub.migrate import upgrade
from taskhub.tasks.models import Task
from tests.support.activity import activity_of
from tests.support.app import build_settings, make_client, running
from tests.support.factories import register

CONCURRENT = 30
LOCK_RELEASE_DEADLINE_S = 5  # far below the 10 s the lock would be waited for if leaked


@pytest.fixture
async def sqlite_app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = build_settings(f"sqlite+aiosqlite:///{tmp_path / 'taskhub.db'}", tmp_path)
    await asyncio.to_thread(upgrade, settings)
    async with running(create_app(settings)) as app:
        database: Database = app.state.db

        def no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=0")
            cursor.close()

        # Registered after taskhub's own connect hook, so it wins; the pool is emptied
        # so that no connection opened at start-up keeps the 10 s timeout.
        event.listen(database.engine.sync_engine, "connect", no_busy_wait)
        await database.engine.dispose()
        yield app


@pytest.fixture
async def sqlite_client(sqlite_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(sqlite_app) as client:
        yield client


async def _create(client: httpx.AsyncClient, headers: dict[str, str], title: str) -> str:
    response = await client.post("/api/v1/tasks", json={"title": title}, headers=headers)
    assert response.status_code == 201, response.text
    task_id: str = response.json()["id"]
    return task_id


async def test_concurrent_creates_all_succeed_without_waiting_on_sqlite(
    sqlite_app: FastAPI, sqlite_client: httpx.AsyncClient
) -> None:
    alice = await register(sqlite_client)

    responses = await asyncio.gather(
        *(
            sqlite_client.post("/api/v1/tasks", json={"title": f"t{i}"}, headers=alice.headers)
            for i in range(CONCURRENT)
        )
    )

    assert [r.status_code for r in responses] == [201] * CONCURRENT, [
        r.text for r in responses if r.status_code != 201
    ]
    async with sqlite_app.state.db.reader() as session:
        count = await session.scalar(select(func.count()).select_from(Task))
    assert count == CONCURRENT
    listed = await sqlite_client.get("/api/v1/tasks?limit=100", headers=alice.headers)
    assert listed.status_code == 200, listed.text
    titles = {item["title"] for item in listed.json()["items"]}
    assert titles == {f"t{i}" for i in range(CONCURRENT)}


async def test_a_request_that_fails_mid_transaction_releases_the_write_lock(
    sqlite_client: httpx.AsyncClient,
) -> None:
    alice, bob = await register(sqlite_client), await register(sqlite_client)
    project = await sqlite_client.post(
        "/api/v1/projects", json={"name": "Bob's"}, headers=bob.headers
    )
    assert project.status_code == 201, project.text

    # The write transaction starts, finds the project invisible to alice, and rolls back.
    refused = await sqlite_client.post(
        "/api/v1/tasks",
        json={"title": "sneaky", "project_id": project.json()["id"]},
        headers=alice.headers,
    )
    assert refused.status_code == 404, refused.text

    async with asyncio.timeout(LOCK_RELEASE_DEADLINE_S):
        await _create(sqlite_client, alice.headers, "after the refusal")
    listed = await sqlite_client.get("/api/v1/tasks", headers=alice.headers)
    assert [t["title"] for t in listed.json()["items"]] == ["after the refusal"]


async def test_a_transaction_that_raises_releases_the_write_lock(
    sqlite_app: FastAPI, sqlite_client: httpx.AsyncClient
) -> None:
    database: Database = sqlite_app.state.db
    alice = await register(sqlite_client)

    async def half_write() -> None:
        async with database.writer() as session:
            await session.execute(text("UPDATE users SET display_name = 'half-written'"))
            raise RuntimeError("mid-transaction")

    with pytest.raises(RuntimeError, match="mid-transaction"):
        await half_write()

    async with asyncio.timeout(LOCK_RELEASE_DEADLINE_S):
        await _create(sqlite_client, alice.headers, "after the failure")
    me = await sqlite_client.get("/api/v1/users/me", headers=alice.headers)
    assert me.status_code == 200, me.text
    assert me.json()["display_name"] != "half-written"


async def test_job_runner_writes_interleave_with_request_writes(
    sqlite_app: FastAPI, sqlite_client: httpx.AsyncClient
) -> None:
    alice = await register(sqlite_client)
    ids = [await _create(sqlite_client, alice.headers, f"t{i}") for i in range(CONCURRENT // 2)]

    # Completing a task queues an activity job that the embedded runner executes while
    # the next requests' writes arrive: both sides contend for the one write lock.
    results = await asyncio.gather(
        *(
            sqlite_client.patch(
                f"/api/v1/tasks/{task_id}", json={"done": True}, headers=alice.headers
            )
            for task_id in ids
        ),
        *(
            sqlite_client.post("/api/v1/tasks", json={"title": f"n{i}"}, headers=alice.headers)
            for i in range(CONCURRENT // 2)
        ),
    )

    assert all(r.status_code in (200, 201) for r in results), [
        r.text for r in results if r.status_code not in (200, 201)
    ]
    for task_id in ids:
        entries = await activity_of(sqlite_client, alice, task_id, expected=2)
        assert [e["action"] for e in entries] == ["created", "completed"]
    for created in results[len(ids) :]:  # each new task's creation is a job too
        entries = await activity_of(sqlite_client, alice, created.json()["id"], expected=1)
        assert [e["action"] for e in entries] == ["created"]
    async with sqlite_app.state.db.reader() as session:
        jobs = (await session.execute(select(OutboxMessage))).scalars().all()
    # Every job ran once and never failed: no runner write met a request write in SQLite.
    assert len(jobs) >= len(ids)
    assert {(j.status, j.attempts, j.last_error) for j in jobs} == {(JobStatus.done, 1, None)}


async def test_a_cancelled_transaction_releases_the_write_lock(
    sqlite_app: FastAPI, sqlite_client: httpx.AsyncClient
) -> None:
    database: Database = sqlite_app.state.db
    alice = await register(sqlite_client)
    holding = asyncio.Event()

    async def hold_the_lock() -> None:
        async with database.writer() as session:
            await session.execute(text("UPDATE users SET display_name = 'cancelled'"))
            holding.set()
            await asyncio.Event().wait()  # until cancelled, e.g. by a shutdown

    holder = asyncio.create_task(hold_the_lock())
    await holding.wait()
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder

    async with asyncio.timeout(LOCK_RELEASE_DEADLINE_S):
        await _create(sqlite_client, alice.headers, "after the cancellation")
    me = await sqlite_client.get("/api/v1/users/me", headers=alice.headers)
    assert me.json()["display_name"] != "cancelled"
