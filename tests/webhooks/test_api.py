"""/api/v1/webhooks end to end: registration rules, signed deliveries, visibility at
delivery time, the test event, and disabling after sustained failure."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from taskhub.db import utcnow
from taskhub.webhooks.models import Webhook
from tests.support.factories import Factories
from tests.support.http import expect
from tests.webhooks.helpers import (
    WEBHOOKS,
    deliveries,
    deliveries_when,
    register_webhook,
    settled,
)
from tests.webhooks.receiver import VerifyingReceiver


async def test_register_read_update_delete(
    hooks_client: httpx.AsyncClient, hooks: Factories, verifying_receiver: VerifyingReceiver
) -> None:
    alice = await hooks.user()
    created = expect(
        await hooks_client.post(
            WEBHOOKS,
            json={"url": verifying_receiver.url(), "events": ["task.updated", "task.updated"]},
            headers=alice.headers,
        ),
        201,
    )
    url = f"{WEBHOOKS}/{created['id']}"

    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["task.updated"]
    assert created["enabled"] is True
    assert created["project_id"] is None
    shown = expect(await hooks_client.get(url, headers=alice.headers), 200)
    assert "secret" not in shown
    listed = expect(await hooks_client.get(WEBHOOKS, headers=alice.headers), 200)
    assert [w["id"] for w in listed] == [created["id"]]
    patched = expect(
        await hooks_client.patch(url, json={"events": ["task.completed"]}, headers=alice.headers),
        200,
    )
    assert patched["events"] == ["task.completed"]
    expect(await hooks_client.delete(url, headers=alice.headers), 204)
    expect(await hooks_client.get(url, headers=alice.headers), 404)


async def test_another_users_webhook_is_404_and_bad_input_422(
    hooks_client: httpx.AsyncClient, hooks: Factories, verifying_receiver: VerifyingReceiver
) -> None:
    alice, mallory = await hooks.user(), await hooks.user()
    webhook = await register_webhook(hooks_client, alice, verifying_receiver.url())
    url = f"{WEBHOOKS}/{webhook['id']}"
    foreign_project = await hooks.project(alice)

    answers = [
        await hooks_client.get(url, headers=mallory.headers),
        await hooks_client.patch(url, json={"events": ["task.created"]}, headers=mallory.headers),
        await hooks_client.delete(url, headers=mallory.headers),
        await hooks_client.get(f"{url}/deliveries", headers=mallory.headers),
        await hooks_client.post(f"{url}/test", headers=mallory.headers),
        await hooks_client.post(
            WEBHOOKS,
            json={
                "url": verifying_receiver.url(),
                "events": ["task.created"],
                "project_id": foreign_project["id"],
            },
            headers=mallory.headers,
        ),
    ]
    assert [a.status_code for a in answers] == [404] * 6, [a.text for a in answers]
    assert mallory.id not in str(await hooks_client.get(WEBHOOKS, headers=mallory.headers))

    invalid = [
        {"url": verifying_receiver.url(), "events": []},
        {"url": verifying_receiver.url(), "events": ["task.exploded"]},
        {"url": verifying_receiver.url(), "events": ["task.created"], "owner_id": alice.id},
        {"url": verifying_receiver.url(), "events": ["task.created"], "secret": "whsec_mine"},
        {"url": "ftp://example.com/", "events": ["task.created"]},
    ]
    for body in invalid:
        expect(await hooks_client.post(WEBHOOKS, json=body, headers=alice.headers), 422)
    expect(await hooks_client.patch(url, json={"secret": "x"}, headers=alice.headers), 422)
    expect(await hooks_client.patch(url, json={"url": None}, headers=alice.headers), 422)
    expect(await hooks_client.get(WEBHOOKS), 401)
    expect(
        await hooks_client.get(f"{url}/deliveries", params={"limit": 0}, headers=alice.headers), 422
    )


async def test_events_arrive_signed_in_order_and_are_recorded(
    hooks_client: httpx.AsyncClient, hooks: Factories, verifying_receiver: VerifyingReceiver
) -> None:
    alice = await hooks.user()
    webhook = await register_webhook(hooks_client, alice, verifying_receiver.url())
    verifying_receiver.secret = webhook["secret"]
    task = await hooks.task(alice, title="first")
    for change in ({"title": "second"}, {"description": "more"}, {"done": True}):
        expect(
            await hooks_client.patch(
                f"/api/v1/tasks/{task['id']}", json=change, headers=alice.headers
            ),
            200,
        )

    rows = await deliveries_when(hooks_client, alice, webhook["id"], settled(4))

    assert verifying_receiver.rejected == 0
    got = [
        (d.payload["type"], d.payload["data"]["changes"]["fields"])
        for d in verifying_receiver.received
    ]
    assert got == [
        ("task.created", ["title"]),
        ("task.updated", ["title"]),
        ("task.updated", ["description"]),
        ("task.completed", ["done"]),
    ]
    assert {d.payload["data"]["task_id"] for d in verifying_receiver.received} == {task["id"]}
    assert [r["status"] for r in rows] == ["delivered"] * 4
    assert {r["attempts"] for r in rows} == {1}
    assert {r["last_status"] for r in rows} == {200}
    assert sorted(r["message_id"] for r in rows) == sorted(verifying_receiver.ids())
    assert rows[0]["response_excerpt"] == '{"ok": true}'


async def test_the_owner_must_see_the_task_when_it_is_delivered(
    hooks_app: FastAPI,
    hooks_client: httpx.AsyncClient,
    hooks: Factories,
    verifying_receiver: VerifyingReceiver,
) -> None:
    alice, bob, carol = await hooks.user(), await hooks.user(), await hooks.user()
    project, task = await hooks.shared_task(alice, bob, "viewer", alice)
    # Updates only: the task's creation, before the webhooks existed, is not their concern.
    updates = {"events": ["task.updated"]}
    bobs = await register_webhook(hooks_client, bob, verifying_receiver.url(), **updates)
    carols = await register_webhook(hooks_client, carol, verifying_receiver.url(), **updates)
    verifying_receiver.secret = bobs["secret"]
    verifying_receiver.down()  # bob's delivery has to wait for a retry

    expect(
        await hooks_client.patch(
            f"/api/v1/tasks/{task['id']}", json={"title": "moved on"}, headers=alice.headers
        ),
        200,
    )
    failed_once = await deliveries_when(
        hooks_client, bob, bobs["id"], lambda rows: bool(rows) and rows[0]["attempts"] >= 1
    )
    assert failed_once[0]["status"] == "pending", failed_once
    expect(
        await hooks_client.delete(
            f"/api/v1/projects/{project['id']}/members/{bob.id}", headers=alice.headers
        ),
        204,
    )
    verifying_receiver.up()

    rows = await deliveries_when(hooks_client, bob, bobs["id"], settled(1))

    assert [r["status"] for r in rows] == ["skipped"], rows
    assert verifying_receiver.received == []
    assert await deliveries(hooks_client, carol, carols["id"]) == []  # never in the audience


async def test_project_scope_and_the_test_event(
    hooks_client: httpx.AsyncClient, hooks: Factories, verifying_receiver: VerifyingReceiver
) -> None:
    alice = await hooks.user()
    project, in_project = await hooks.project_task(alice)
    elsewhere = await hooks.task(alice)
    webhook = await register_webhook(
        hooks_client, alice, verifying_receiver.url(), project_id=project["id"]
    )
    verifying_receiver.secret = webhook["secret"]
    for task in (elsewhere, in_project):
        expect(
            await hooks_client.patch(
                f"/api/v1/tasks/{task['id']}", json={"title": "touched"}, headers=alice.headers
            ),
            200,
        )
    queued = expect(
        await hooks_client.post(f"{WEBHOOKS}/{webhook['id']}/test", headers=alice.headers), 202
    )

    rows = await deliveries_when(hooks_client, alice, webhook["id"], settled(2))

    assert queued["event_type"] == "webhook.test"
    assert queued["status"] == "pending"
    assert sorted(r["task_id"] or "" for r in rows) == ["", in_project["id"]]
    assert sorted(d.payload["type"] for d in verifying_receiver.received) == [
        "task.updated",
        "webhook.test",
    ]


async def test_a_webhook_failing_for_days_is_disabled_and_says_why(
    hooks_app: FastAPI,
    hooks_client: httpx.AsyncClient,
    hooks: Factories,
    verifying_receiver: VerifyingReceiver,
) -> None:
    alice = await hooks.user()
    webhook = await register_webhook(hooks_client, alice, verifying_receiver.url())
    verifying_receiver.secret = "whsec_" + "A" * 44  # not its secret: every request is a 401
    async with hooks_app.state.db.writer() as session:
        # Three days of failures, as the clock would have it.
        await session.execute(
            update(Webhook)
            .where(Webhook.id == uuid.UUID(webhook["id"]))
            .values(failing_since=utcnow() - timedelta(days=3, minutes=1))
        )
        await session.commit()
    expect(await hooks_client.post(f"{WEBHOOKS}/{webhook['id']}/test", headers=alice.headers), 202)

    rows = await deliveries_when(
        hooks_client, alice, webhook["id"], lambda rows: bool(rows) and rows[0]["attempts"] >= 1
    )
    shown = expect(
        await hooks_client.get(f"{WEBHOOKS}/{webhook['id']}", headers=alice.headers), 200
    )

    assert rows[0]["last_status"] == 401
    assert rows[0]["response_excerpt"] == "bad signature"
    assert shown["enabled"] is False, shown
    assert shown["disabled_reason"].startswith("every delivery failed since")
    enabled = expect(
        await hooks_client.patch(
            f"{WEBHOOKS}/{webhook['id']}", json={"enabled": True}, headers=alice.headers
        ),
        200,
    )
    assert enabled["enabled"] is True
    assert enabled["disabled_reason"] is None
