"""Webhook test helpers: register one, and poll its deliveries through the API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.factories import User
from tests.support.http import expect

WEBHOOKS = "/api/v1/webhooks"
ALL_EVENTS = [
    "task.created",
    "task.updated",
    "task.completed",
    "task.deleted",
    "task.reminder",
    "comment.created",
]


async def register_webhook(
    client: httpx.AsyncClient, user: User, url: str, **fields: Any
) -> dict[str, Any]:
    body = {"url": url, "events": ALL_EVENTS, **fields}
    webhook: dict[str, Any] = expect(
        await client.post(WEBHOOKS, json=body, headers=user.headers), 201
    )
    return webhook


async def deliveries(
    client: httpx.AsyncClient, user: User, webhook_id: str
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = expect(
        await client.get(f"{WEBHOOKS}/{webhook_id}/deliveries", headers=user.headers), 200
    )
    return found


async def deliveries_when(
    client: httpx.AsyncClient,
    user: User,
    webhook_id: str,
    done: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 20.0,
) -> list[dict[str, Any]]:
    """Poll the deliveries until `done(rows)`; the last rows seen once `timeout` passed."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await deliveries(client, user, webhook_id)
        if done(rows) or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.05)


def settled(count: int) -> Callable[[list[dict[str, Any]]], bool]:
    """At least `count` deliveries, none still pending."""
    return lambda rows: len(rows) >= count and all(r["status"] != "pending" for r in rows)
