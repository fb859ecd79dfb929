"""Keyset pages stay exact while another writer inserts between page fetches."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from tests.support.factories import Factories, User
from tests.support.http import TASKS

ORDERS = ("created_at", "-created_at", "due_at", "-due_at", "priority", "-priority", "position")
DUES = [None, "2030-01-01T00:00:00Z", "2029-06-01T12:00:00Z", None, "2031-03-03T03:03:03Z"]


def _fields(i: int, project_id: str) -> dict[str, Any]:
    """Varied, often tied values so every order has ties and null due dates."""
    fields: dict[str, Any] = {"title": f"task {i}", "priority": i % 5}
    if DUES[i % len(DUES)] is not None:
        fields["due_at"] = DUES[i % len(DUES)]
    if i % 2:
        fields["project_id"] = project_id
    if i % 3 == 0:
        fields["position"] = i % 4
    return fields


@pytest.mark.parametrize("order_by", ORDERS)
async def test_paging_while_another_writer_inserts_never_repeats_or_skips(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories, order_by: str
) -> None:
    project = await factories.shared_project(alice, bob, "editor")
    counter = itertools.count()
    existing = {
        (await factories.task(alice, **_fields(next(counter), project["id"])))["id"]
        for _ in range(12)
    }

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"order_by": order_by, "limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(TASKS, params=params, headers=alice.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # The other writer adds tasks that sort anywhere, including ties and nulls.
        for writer in (alice, bob):
            await factories.task(writer, **_fields(next(counter), project["id"]))

    assert len(seen) == len(set(seen)), "an item was repeated"
    assert existing <= set(seen), "an item that existed at the start was skipped"
