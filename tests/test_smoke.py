"""End-to-end smoke: the three core domains answer through HTTP."""

from __future__ import annotations

import httpx

from tests.support.factories import MakeTask, User
from tests.support.http import expect_not_found


async def test_create_then_get_task(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice, title="Write tests", labels=["x", "y", "x"])

    response = await client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers)

    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"1"'
    assert response.json()["labels"] == ["x", "y"]


async def test_other_user_gets_404(
    client: httpx.AsyncClient, alice: User, bob: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    expect_not_found(await client.get(f"/api/v1/tasks/{task['id']}", headers=bob.headers))
