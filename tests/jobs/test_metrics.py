"""Outbox gauges for /metrics: read from the outbox, the truth shared by every process."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY

from taskhub.jobs.metrics import refresh_outbox_gauges
from taskhub.jobs.registry import TASK_ACTIVITY
from tests.support.activity import complete_and_wait
from tests.support.factories import MakeTask, User


def outbox_gauge(status: str) -> float | None:
    return REGISTRY.get_sample_value(
        "taskhub_outbox_messages", {"job": TASK_ACTIVITY, "status": status}
    )


async def test_outbox_gauges_count_messages_by_status_including_zero(
    alice: User, app: FastAPI, client: httpx.AsyncClient, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    await complete_and_wait(client, alice, task)

    await refresh_outbox_gauges(app.state.db)

    assert outbox_gauge("done") == 2  # the task's creation and its completion
    assert outbox_gauge("pending") == 0
    assert REGISTRY.get_sample_value("taskhub_outbox_backlog") == 0
