"""Embedded job runner: the outbox is executed in-process, durably, exactly once."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from taskhub.jobs.models import JobStatus, OutboxMessage
from taskhub.jobs.outbox import enqueue
from taskhub.jobs.registry import TASK_ACTIVITY
from taskhub.tasks.events import task_changed
from tests.support.activity import activity_of, complete_and_wait
from tests.support.factories import MakeTask, User
from tests.support.http import expect


async def test_completing_a_task_records_activity(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    done = await client.patch(
        f"/api/v1/tasks/{task['id']}", json={"done": True}, headers=alice.headers
    )

    assert done.status_code == 200, done.text
    entries = await activity_of(client, alice, task["id"], expected=2)
    assert [(e["action"], e["actor_id"]) for e in entries] == [
        ("created", alice.id),
        ("completed", alice.id),
    ]
    assert entries[0]["changes"] == {"fields": ["title"]}  # what the creator sent
    assert entries[1]["changes"] == {"fields": ["done"]}


async def test_activity_lists_each_change_once_in_order(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    url = f"/api/v1/tasks/{task['id']}"

    for body in ({"title": "renamed"}, {"done": True}, {"done": False}, {"title": "renamed"}):
        expect(await client.patch(url, json=body, headers=alice.headers), 200)

    entries = await activity_of(client, alice, task["id"], expected=4)
    await asyncio.sleep(0.3)  # a duplicate, if any, would show up by now
    entries = await activity_of(client, alice, task["id"], expected=4)
    assert [e["action"] for e in entries] == ["created", "updated", "completed", "reopened"]


async def test_activity_of_another_users_task_is_404(
    client: httpx.AsyncClient, alice: User, bob: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    expect(await client.get(f"/api/v1/tasks/{task['id']}/activity", headers=bob.headers), 404)


async def test_a_message_left_running_by_a_crash_is_run_again(
    alice: User, app: FastAPI, client: httpx.AsyncClient, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    await complete_and_wait(client, alice, task)
    async with app.state.db.writer() as session:
        # Simulate a process that claimed a message and died before finishing it.
        message = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.payload["action"].as_string() == "completed")
        )
        assert message is not None
        message.status = JobStatus.running
        message.claimed_until = message.created_at
        await session.commit()

    app.state.jobs.loop.wake()
    await asyncio.sleep(0.5)

    async with app.state.db.reader() as session:
        statuses = (await session.scalars(select(OutboxMessage.status))).all()
        assert list(statuses) == [JobStatus.done, JobStatus.done]
    entries = await activity_of(client, alice, task["id"], expected=2)
    assert len(entries) == 2  # re-run, but the effect happened once


async def test_outbox_row_commits_with_the_write_or_not_at_all(
    alice: User, app: FastAPI, client: httpx.AsyncClient, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    expect(
        await client.patch(
            f"/api/v1/tasks/{task['id']}",
            json={"done": True},
            headers={**alice.headers, "If-Match": '"99"'},
        ),
        412,
    )
    async with app.state.db.reader() as session:
        payloads = (await session.scalars(select(OutboxMessage.payload))).all()
        assert [p["action"] for p in payloads] == ["created"]  # nothing for the refused write


async def test_a_backlog_runs_in_batches_and_one_failing_job_spares_the_rest(
    alice: User, app: FastAPI, client: httpx.AsyncClient, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    changes = 20  # more than one transaction batch of the runner
    async with app.state.db.writer() as session:
        # A backlog committed at once (as after a restart), with one message whose body
        # fails (no task_id in its payload) in the middle of it.
        for i in range(changes):
            row = {"id": uuid.UUID(task["id"]), "owner_id": uuid.UUID(alice.id), "project_id": None}
            task_changed(session, row, uuid.UUID(alice.id), {"priority": i % 5})
            if i == changes // 2:
                enqueue(session, TASK_ACTIVITY, {"actor_id": alice.id})
        await session.commit()
    app.state.jobs.loop.wake()

    entries = await activity_of(client, alice, task["id"], expected=changes + 1)

    assert len(entries) == changes + 1  # its creation and every good job, each once
    async with app.state.db.reader() as session:
        rows = (await session.execute(select(OutboxMessage.status, OutboxMessage.attempts))).all()
    failed = [(status, attempts) for status, attempts in rows if status != JobStatus.done]
    assert failed == [(JobStatus.pending, 1)]  # only the bad one, retried later
