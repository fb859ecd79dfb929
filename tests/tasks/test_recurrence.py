"""Recurring tasks through HTTP (SPEC §9): validation, completion, DST, concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.support.activity import activity_of
from tests.support.env import BACKEND
from tests.support.factories import MakeTask, MakeUser, User

DAILY_9_BERLIN = {"recurrence": "FREQ=DAILY", "timezone": "Europe/Berlin"}


def locs(response: httpx.Response) -> list[list[Any]]:
    return [error["loc"] for error in response.json()["detail"]]


async def complete(client: httpx.AsyncClient, user: User, task: dict[str, Any]) -> httpx.Response:
    return await client.patch(
        f"/api/v1/tasks/{task['id']}", json={"done": True}, headers=user.headers
    )


async def test_task_defaults_to_no_recurrence_in_utc(
    client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    task = await make_task(alice)
    assert (task["recurrence"], task["timezone"], task["remind_at"]) == (None, "UTC", None)

    fetched = await client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers)
    assert fetched.json() == task


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"recurrence": "FREQ=DAILY"}, ["body", "recurrence"]),  # no due_at
        ({"recurrence": "FREQ=SECONDLY", "due_at": "2026-01-05T09:00:00Z"}, ["body", "recurrence"]),
        ({"recurrence": "FREQ=DAILY;INTERVAL=100000", "due_at": "2026-01-05T09:00:00Z"}, None),
        ({"recurrence": "EVERY MONDAY", "due_at": "2026-01-05T09:00:00Z"}, ["body", "recurrence"]),
        ({"recurrence": "RRULE:FREQ=DAILY", "due_at": "2026-01-05T09:00:00Z"}, None),
        ({"recurrence": "", "due_at": "2026-01-05T09:00:00Z"}, ["body", "recurrence"]),
        ({"timezone": "Mars/Olympus"}, ["body", "timezone"]),
        ({"timezone": "../../etc/passwd"}, ["body", "timezone"]),
        ({"timezone": None}, ["body", "timezone"]),
        (
            {"recurrence": "FREQ=DAILY", "due_at": "2026-01-05T09:00:00Z", "timezone": "Nope/No"},
            ["body", "timezone"],
        ),
        ({"remind_at": "tomorrow"}, ["body", "remind_at"]),
        ({"remind_at": "2026-01-05T09:00:00"}, ["body", "remind_at"]),  # no offset
    ],
)
async def test_invalid_schedules_are_refused_with_the_field_named(
    client: httpx.AsyncClient, make_user: MakeUser, body: dict[str, Any], loc: list[Any] | None
) -> None:
    alice = await make_user()

    response = await client.post(
        "/api/v1/tasks", json={"title": "t", **body}, headers=alice.headers
    )

    assert response.status_code == 422, response.text
    assert (loc or ["body", "recurrence"]) in locs(response)
    listed = await client.get("/api/v1/tasks", headers=alice.headers)
    assert listed.json()["items"] == []  # nothing half-written


async def test_patch_checks_the_merged_schedule(
    client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    task = await make_task(alice, due_at="2026-01-05T08:00:00Z", **DAILY_9_BERLIN)
    plain = await make_task(alice)
    url = f"/api/v1/tasks/{task['id']}"

    cleared = await client.patch(url, json={"due_at": None}, headers=alice.headers)
    assert cleared.status_code == 422, cleared.text
    assert locs(cleared) == [["body", "due_at"]]
    bad_zone = await client.patch(url, json={"timezone": "Nowhere/City"}, headers=alice.headers)
    assert locs(bad_zone) == [["body", "timezone"]]
    no_due = await client.patch(
        f"/api/v1/tasks/{plain['id']}", json={"recurrence": "FREQ=WEEKLY"}, headers=alice.headers
    )
    assert no_due.status_code == 422, no_due.text
    assert locs(no_due) == [["body", "recurrence"]]
    unchanged = await client.get(url, headers=alice.headers)
    assert unchanged.json() == task

    # Clearing both together is fine: an ordinary task again.
    both = await client.patch(url, json={"due_at": None, "recurrence": None}, headers=alice.headers)
    assert both.status_code == 200, both.text
    assert (both.json()["due_at"], both.json()["recurrence"]) == (None, None)
    # And a rule sent with its due date on a plain task is taken.
    added = await client.patch(
        f"/api/v1/tasks/{plain['id']}",
        json={"recurrence": "FREQ=WEEKLY;BYDAY=MO", "due_at": "2026-01-05T09:00:00+01:00"},
        headers=alice.headers,
    )
    assert added.status_code == 200, added.text
    assert added.json()["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
    assert added.json()["due_at"] == "2026-01-05T08:00:00Z"


@pytest.mark.parametrize(
    ("due_at", "next_due_at"),
    [
        # 09:00 CET on the eve of the spring change -> 09:00 CEST (one hour less in UTC).
        ("2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z"),
        # 09:00 CEST on the eve of the autumn change -> 09:00 CET (one hour more in UTC).
        ("2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z"),
        # An ordinary day: 24 hours on.
        ("2026-01-05T08:00:00Z", "2026-01-06T08:00:00Z"),
    ],
)
async def test_completing_a_daily_task_keeps_its_wall_clock_time_across_dst(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_task: MakeTask,
    due_at: str,
    next_due_at: str,
) -> None:
    alice = await make_user()
    task = await make_task(alice, due_at=due_at, **DAILY_9_BERLIN)

    done = await complete(client, alice, task)

    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["due_at"], body["done"], body["completed_at"]) == (next_due_at, False, None)
    assert body["version"] == task["version"] + 1
    assert done.headers["ETag"] == f'"{body["version"]}"'
    assert (await client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers)).json() == body
    entries = await activity_of(client, alice, task["id"], expected=2)
    assert [e["action"] for e in entries] == ["created", "completed"]
    assert entries[1]["changes"]["occurrence"] == {
        "completed": due_at.replace("Z", "+00:00"),
        "next_due_at": next_due_at.replace("Z", "+00:00"),
    }


async def test_weekly_task_in_new_york_keeps_monday_9am_across_the_us_change(
    client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    # Monday 2026-03-02 09:00 EST; the US springs forward on Sunday 2026-03-08.
    task = await make_task(
        alice,
        due_at="2026-03-02T09:00:00-05:00",
        recurrence="FREQ=WEEKLY;BYDAY=MO",
        timezone="America/New_York",
    )

    done = await complete(client, alice, task)

    assert done.json()["due_at"] == "2026-03-09T13:00:00Z"  # 09:00 EDT


async def test_a_rule_that_runs_out_completes_the_task_as_usual(
    client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    task = await make_task(alice, due_at="2026-01-05T09:00:00Z", recurrence="FREQ=DAILY;COUNT=2")

    first = await complete(client, alice, task)
    assert first.status_code == 200, first.text
    assert first.json()["done"] is False
    assert first.json()["due_at"] == "2026-01-06T09:00:00Z"
    assert first.json()["recurrence"] == "FREQ=DAILY;COUNT=1"

    last = await complete(client, alice, first.json())
    assert last.status_code == 200, last.text
    assert last.json()["done"] is True
    assert last.json()["completed_at"] is not None
    assert last.json()["due_at"] == "2026-01-06T09:00:00Z"


async def test_concurrent_completions_with_if_match_advance_once(
    client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    task = await make_task(alice, due_at="2026-01-05T09:00:00Z", recurrence="FREQ=DAILY")
    headers = {**alice.headers, "If-Match": f'"{task["version"]}"'}
    url = f"/api/v1/tasks/{task['id']}"

    answers = await asyncio.gather(
        *(client.patch(url, json={"done": True}, headers=headers) for _ in range(2))
    )

    assert sorted(r.status_code for r in answers) == [200, 412], [r.text for r in answers]
    after = (await client.get(url, headers=alice.headers)).json()
    assert (after["due_at"], after["version"]) == ("2026-01-06T09:00:00Z", task["version"] + 1)


@pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="SQLite serialises write transactions: a second PATCH starts after the first "
    "commits, so it is a later completion of the next occurrence, never a concurrent one",
)
async def test_concurrent_completions_without_if_match_advance_once(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    task = await make_task(alice, due_at="2026-01-05T09:00:00Z", recurrence="FREQ=DAILY")
    url = f"/api/v1/tasks/{task['id']}"

    # Hold the row so both requests read version 1 and then queue on their UPDATE:
    # a real overlap every run, not a hoped-for one.
    async with app.state.db.writer() as blocker:
        await blocker.execute(
            text("SELECT id FROM tasks WHERE id = :id FOR UPDATE"), {"id": task["id"]}
        )
        patches = [
            asyncio.create_task(client.patch(url, json={"done": True}, headers=alice.headers))
            for _ in range(2)
        ]
        await _until_waiting_on_locks(app, 2)
        await blocker.commit()
    answers = await asyncio.gather(*patches)

    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    after = (await client.get(url, headers=alice.headers)).json()
    assert (after["due_at"], after["version"]) == ("2026-01-06T09:00:00Z", task["version"] + 1)


async def _until_waiting_on_locks(app: FastAPI, count: int, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while loop.time() < deadline:
        async with app.state.db.reader() as session:
            if (await session.scalar(query) or 0) >= count:
                return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{count} requests never queued on the row lock")
