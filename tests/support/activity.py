"""Waiting for asynchronous job effects through the public API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support.factories import User


async def activity_of(
    client: httpx.AsyncClient, user: User, task_id: str, expected: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Poll the activity endpoint until `expected` entries appear (jobs are asynchronous)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await client.get(f"/api/v1/tasks/{task_id}/activity", headers=user.headers)
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()
        if len(entries) >= expected or asyncio.get_running_loop().time() > deadline:
            return entries
        await asyncio.sleep(0.05)


async def complete_and_wait(
    client: httpx.AsyncClient, user: User, task: dict[str, Any]
) -> list[dict[str, Any]]:
    """Mark a new `task` done and wait until its activity jobs have run (created, completed)."""
    response = await client.patch(
        f"/api/v1/tasks/{task['id']}", json={"done": True}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    return await activity_of(client, user, task["id"], expected=2)
