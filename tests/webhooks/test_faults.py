"""Webhook deliveries under faults: the receiver away for a while, the worker killed.

The receiver verifies every request with the `standardwebhooks` verifier; it counts
what it was sent, so "none twice" and "once more at most" are read off `webhook-id`s.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.app import CHEAP_ARGON2_ENV
from tests.support.databases import empty_database
from tests.support.factories import Factories, register
from tests.support.http import expect
from tests.support.servers import ApiProcess, run_migrate
from tests.webhooks.helpers import deliveries_when, register_webhook, settled
from tests.webhooks.receiver import VerifyingReceiver

CHANGES = ({"title": "renamed"}, {"description": "more"}, {"priority": 3})


async def test_receiver_down_then_back_gets_every_event_in_order_once(
    hooks_client: httpx.AsyncClient, hooks: Factories, verifying_receiver: VerifyingReceiver
) -> None:
    alice = await hooks.user()
    webhook = await register_webhook(
        hooks_client, alice, verifying_receiver.url(), events=["task.updated"]
    )
    verifying_receiver.secret = webhook["secret"]
    tasks = [await hooks.task(alice) for _ in range(3)]
    verifying_receiver.down()
    for change in CHANGES:
        for task in tasks:
            expect(
                await hooks_client.patch(
                    f"/api/v1/tasks/{task['id']}", json=change, headers=alice.headers
                ),
                200,
            )
    # Down long enough that the head of every task's queue failed twice.
    retried = await deliveries_when(
        hooks_client,
        alice,
        webhook["id"],
        lambda rows: len(rows) == 9 and sum(r["attempts"] >= 2 for r in rows) >= 3,
    )
    assert all(r["status"] == "pending" for r in retried), retried
    verifying_receiver.up()

    rows = await deliveries_when(hooks_client, alice, webhook["id"], settled(9), timeout=60)

    assert [r["status"] for r in rows] == ["delivered"] * 9, rows
    ids = verifying_receiver.ids()
    assert sorted(ids) == sorted({r["message_id"] for r in rows})  # each once, none lost
    order: dict[str, list[list[str]]] = defaultdict(list)
    for delivery in verifying_receiver.received:
        data = delivery.payload["data"]
        order[data["task_id"]].append(data["changes"]["fields"])
    assert order == {t["id"]: [["title"], ["description"], ["priority"]] for t in tasks}
    assert verifying_receiver.rejected == 0


@pytest.fixture
async def lone_database(tmp_path: Path) -> AsyncIterator[str]:
    async with empty_database(tmp_path, "taskhub_hook_faults") as url:
        yield url


async def test_worker_killed_mid_delivery_delivers_once_more_at_most(
    tmp_path: Path, lone_database: str, verifying_receiver: VerifyingReceiver
) -> None:
    env = {
        "TASKHUB_DATABASE_URL": lone_database,
        "TASKHUB_SECRET_KEY": secrets.token_urlsafe(36),
        "TASKHUB_DATA_DIR": str(tmp_path / "data"),
        "TASKHUB_ACCESS_LOG": "false",
        "TASKHUB_RATE_LIMIT_PER_MINUTE": "0",
        "TASKHUB_WEBHOOKS_ALLOW_PRIVATE": "true",
        **CHEAP_ARGON2_ENV,
    }
    await asyncio.to_thread(run_migrate, env, tmp_path)
    verifying_receiver.hold = threading.Event()
    first = ApiProcess("first", env, tmp_path / "first.log")
    second = ApiProcess("second", env, tmp_path / "second.log")
    try:
        first.start()
        await asyncio.to_thread(first.wait_ready)
        async with httpx.AsyncClient(base_url=first.url, timeout=10) as http:
            alice = await register(http)
            webhook = await register_webhook(
                http, alice, verifying_receiver.url(), events=["task.completed"]
            )
            verifying_receiver.secret = webhook["secret"]
            task = expect(
                await http.post("/api/v1/tasks", json={"title": "t"}, headers=alice.headers), 201
            )
            expect(
                await http.patch(
                    f"/api/v1/tasks/{task['id']}", json={"done": True}, headers=alice.headers
                ),
                200,
            )
            assert await asyncio.to_thread(verifying_receiver.arrived.wait, 20)
        assert first.process is not None
        os.killpg(first.process.pid, signal.SIGKILL)  # mid-request: no answer was read
        first.process.wait(timeout=5)
        first.process = None
        verifying_receiver.hold.set()

        second.start()
        await asyncio.to_thread(second.wait_ready)
        async with httpx.AsyncClient(base_url=second.url, timeout=10) as http:
            # The killed run's outbox lease (15 s) must pass before the job is retaken.
            rows = await deliveries_when(http, alice, webhook["id"], settled(1), timeout=60)
    finally:
        first.stop()
        second.stop()

    assert [r["status"] for r in rows] == ["delivered"], rows
    assert verifying_receiver.ids() == [rows[0]["message_id"]] * 2  # once more, same id
