"""Reminders (SPEC §9): `task.reminder` once, on time, cancelled by a change, across a kill."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from taskhub.jobs.models import JobStatus, OutboxMessage
from taskhub.jobs.registry import TASK_REMINDER
from tests.support.databases import fresh_postgres_database
from tests.support.env import BACKEND
from tests.support.factories import MakeTask, MakeUser, User, register
from tests.support.servers import ApiProcess, run_migrate

DEADLINE_SECONDS = 30.0


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def reminders_of(client: httpx.AsyncClient, user: User, task_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/tasks/{task_id}/activity", headers=user.headers)
    assert response.status_code == 200, response.text
    return [e for e in response.json() if e["action"] == "reminded"]


async def wait_for_reminders(
    client: httpx.AsyncClient, user: User, task_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Poll until every task has a reminder entry (or the deadline passes)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    while True:
        found = {t: await reminders_of(client, user, t) for t in task_ids}
        if all(found.values()) or loop.time() > deadline:
            return found
        await asyncio.sleep(0.1)


async def scheduled_jobs_left(app: FastAPI) -> int:
    async with app.state.db.reader() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.job == TASK_REMINDER,
                OutboxMessage.status.in_([JobStatus.pending, JobStatus.running]),
            )
        )
        return int(count or 0)


async def wait_until_reminder_jobs_ran(app: FastAPI) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    while await scheduled_jobs_left(app) and loop.time() < deadline:
        await asyncio.sleep(0.1)
    assert await scheduled_jobs_left(app) == 0


async def test_a_reminder_is_emitted_once_when_due(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    remind_at = soon(2)
    task = await make_task(alice, remind_at=remind_at)
    assert task["remind_at"] == remind_at.replace("+00:00", "Z")

    found = await wait_for_reminders(client, alice, [task["id"]])
    await wait_until_reminder_jobs_ran(app)

    entries = await reminders_of(client, alice, task["id"])
    assert entries == found[task["id"]]
    assert len(entries) == 1, entries
    assert entries[0]["actor_id"] is None  # the system reminds, nobody acted
    assert datetime.fromisoformat(entries[0]["changes"]["remind_at"]) == datetime.fromisoformat(
        remind_at
    )
    assert datetime.fromisoformat(entries[0]["created_at"]) >= datetime.fromisoformat(remind_at)


async def test_changing_or_clearing_remind_at_cancels_the_old_reminder(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    cleared = await make_task(alice, remind_at=soon(1.5))
    moved = await make_task(alice, remind_at=soon(1.5))
    later = soon(2.5)
    for task, remind_at in ((cleared, None), (moved, later)):
        response = await client.patch(
            f"/api/v1/tasks/{task['id']}", json={"remind_at": remind_at}, headers=alice.headers
        )
        assert response.status_code == 200, response.text

    found = await wait_for_reminders(client, alice, [moved["id"]])
    await wait_until_reminder_jobs_ran(app)  # the cancelled jobs have run too, as no-ops

    assert len(found[moved["id"]]) == 1
    fired = found[moved["id"]][0]["changes"]["remind_at"]
    assert datetime.fromisoformat(fired) == datetime.fromisoformat(later)
    assert await reminders_of(client, alice, moved["id"]) == found[moved["id"]]
    assert await reminders_of(client, alice, cleared["id"]) == []


async def test_a_deleted_task_is_not_reminded(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    task = await make_task(alice, remind_at=soon(1))
    assert (
        await client.delete(f"/api/v1/tasks/{task['id']}", headers=alice.headers)
    ).status_code == 204

    await wait_until_reminder_jobs_ran(app)

    async with app.state.db.reader() as session:
        done = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.job == TASK_REMINDER, OutboxMessage.status == JobStatus.done)
        )
    assert done == 1  # ran and found nothing to remind of


# --- a process killed around the due time -------------------------------------------


@asynccontextmanager
async def own_database(tmp_path: Path) -> AsyncIterator[str]:
    if BACKEND == "postgresql":
        async with fresh_postgres_database("taskhub_reminders") as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'reminders.db'}"


def kill(process: ApiProcess) -> None:
    assert process.process is not None
    os.killpg(process.process.pid, signal.SIGKILL)
    process.process.wait(timeout=10)
    process.process = None


async def test_reminders_due_while_the_process_is_killed_fire_once_after_restart(
    tmp_path: Path,
) -> None:
    async with own_database(tmp_path) as url:
        env = {
            "TASKHUB_DATABASE_URL": url,
            "TASKHUB_SECRET_KEY": "reminder-test-" + "k" * 40,
            "TASKHUB_DATA_DIR": str(tmp_path / "data"),
            "TASKHUB_ARGON2_MEMORY_KIB": "1024",
            "TASKHUB_ARGON2_TIME_COST": "1",
            "TASKHUB_ACCESS_LOG": "false",
        }
        await asyncio.to_thread(run_migrate, env, tmp_path)
        first = ApiProcess("first", env, tmp_path / "first.log")
        second = ApiProcess("second", env, tmp_path / "second.log")
        try:
            first.start()
            await asyncio.to_thread(first.wait_ready)
            async with httpx.AsyncClient(base_url=first.url, timeout=10) as http:
                alice = await register(http)
                # Due before, at and after the kill: fired already, possibly mid-job, not yet.
                start = datetime.now(UTC) + timedelta(seconds=2)
                tasks = []
                for offset in (0.0, 0.3, 0.6, 0.9, 1.2):
                    remind_at = (start + timedelta(seconds=offset)).isoformat()
                    created = await http.post(
                        "/api/v1/tasks",
                        json={"title": "remind me", "remind_at": remind_at},
                        headers=alice.headers,
                    )
                    assert created.status_code == 201, created.text
                    tasks.append(created.json()["id"])
            await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds() + 0.6))
            kill(first)

            second.start()
            await asyncio.to_thread(second.wait_ready)
            async with httpx.AsyncClient(base_url=second.url, timeout=10) as http:
                found = await wait_for_reminders(http, alice, tasks)
                await asyncio.sleep(1.5)  # a duplicate would be written by now
                again = {t: await reminders_of(http, alice, t) for t in tasks}
            assert again == found
            assert {t: len(entries) for t, entries in again.items()} == dict.fromkeys(tasks, 1), (
                second.output()[-3000:]
            )
        finally:
            first.stop()
            second.stop()
