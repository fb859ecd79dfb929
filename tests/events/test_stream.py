"""GET /api/v1/events on one instance without Redis: visibility, resume, heartbeats,
membership changes on open streams, the per-user limit."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.events.sse import event_order as _key
from tests.events.sse import open_stream
from tests.support.activity import activity_of
from tests.support.factories import User, register
from tests.support.http import expect


async def _patch(http: httpx.AsyncClient, user: User, task: dict[str, Any], **change: Any) -> None:
    expect(await http.patch(f"/api/v1/tasks/{task['id']}", json=change, headers=user.headers), 200)


async def _task(http: httpx.AsyncClient, user: User, **fields: Any) -> dict[str, Any]:
    body = {"title": "t", **fields}
    task: dict[str, Any] = expect(
        await http.post("/api/v1/tasks", json=body, headers=user.headers), 201
    )
    return task


async def test_each_user_gets_the_events_they_can_see_with_ids_and_heartbeats(
    instance: httpx.AsyncClient,
) -> None:
    alice, bob = await register(instance), await register(instance)
    alices, bobs = await _task(instance, alice), await _task(instance, bob)
    # Their creation is published by a job: let it pass before the streams open.
    await activity_of(instance, alice, alices["id"], expected=1)
    await activity_of(instance, bob, bobs["id"], expected=1)
    async with (
        open_stream(instance, alice) as alice_stream,
        open_stream(instance, bob) as bob_stream,
    ):
        await _patch(instance, alice, alices, title="alice's")
        await _patch(instance, bob, bobs, done=True)

        seen_by_alice = await alice_stream.next()
        seen_by_bob = await bob_stream.next()
        await asyncio.sleep(1.5)  # past one heartbeat interval

    assert (seen_by_alice.event, seen_by_alice.data["data"]["task_id"]) == (
        "task.updated",
        alices["id"],
    )
    assert seen_by_alice.data["type"] == "task.updated"
    assert seen_by_alice.data["data"]["changes"]["fields"] == ["title"]
    assert (seen_by_bob.event, seen_by_bob.data["data"]["task_id"]) == (
        "task.completed",
        bobs["id"],
    )
    assert alice_stream.messages.empty()  # bob's event never reached alice
    assert alice_stream.comments >= 1
    assert seen_by_alice.id != seen_by_bob.id


async def test_last_event_id_resumes_with_what_was_missed(instance: httpx.AsyncClient) -> None:
    alice = await register(instance)
    task = await _task(instance, alice)
    await activity_of(instance, alice, task["id"], expected=1)  # creation published first
    async with open_stream(instance, alice) as stream:
        await _patch(instance, alice, task, title="one")
        first = await stream.next()
    await _patch(instance, alice, task, description="two")
    await _patch(instance, alice, task, priority=3)
    # The two are published by the job that also writes the activity: wait for it.
    assert len(await activity_of(instance, alice, task["id"], expected=4)) == 4

    async with open_stream(instance, alice, last_event_id=first.id) as resumed:
        missed = [await resumed.next(), await resumed.next()]
        await _patch(instance, alice, task, done=True)
        live = await resumed.next()

    assert [m.data["data"]["changes"]["fields"] for m in missed] == [["description"], ["priority"]]
    assert live.event == "task.completed"
    assert _key(first.id) < _key(missed[0].id) < _key(missed[1].id) < _key(live.id)


async def test_a_member_removed_from_a_project_stops_receiving_its_events(
    instance: httpx.AsyncClient,
) -> None:
    alice, bob = await register(instance), await register(instance)
    project = expect(
        await instance.post("/api/v1/projects", json={"name": "p"}, headers=alice.headers), 201
    )
    expect(
        await instance.put(
            f"/api/v1/projects/{project['id']}/members/{bob.id}",
            json={"role": "viewer"},
            headers=alice.headers,
        ),
        200,
    )
    shared = await _task(instance, alice, project_id=project["id"])
    bobs_own = await _task(instance, bob)
    # Their creation is published by a job: let it pass before the stream opens.
    await activity_of(instance, alice, shared["id"], expected=1)
    await activity_of(instance, bob, bobs_own["id"], expected=1)
    async with open_stream(instance, bob) as stream:
        await _patch(instance, alice, shared, title="while a member")
        while_member = await stream.next()
        expect(
            await instance.delete(
                f"/api/v1/projects/{project['id']}/members/{bob.id}", headers=alice.headers
            ),
            204,
        )
        await _patch(instance, alice, shared, title="after removal")
        await _patch(instance, bob, bobs_own, title="bob's own")  # published after it
        next_seen = await stream.next()

    assert while_member.data["data"]["task_id"] == shared["id"]
    assert next_seen.data["data"]["task_id"] == bobs_own["id"]


async def test_streams_above_the_per_user_limit_are_429_and_anonymous_401(
    instance: httpx.AsyncClient,
) -> None:
    alice, bob = await register(instance), await register(instance)
    async with (
        open_stream(instance, alice) as one,
        open_stream(instance, alice) as two,
        open_stream(instance, alice) as three,
        open_stream(instance, bob) as bobs,
    ):
        statuses = [one.status, two.status, three.status, bobs.status]
    async with open_stream(instance, alice) as again:  # the slots are given back
        reopened = again.status
    anonymous = await instance.get("/api/v1/events")

    assert statuses == [200, 200, 429, 200]
    assert reopened == 200
    assert anonymous.status_code == 401, anonymous.text
