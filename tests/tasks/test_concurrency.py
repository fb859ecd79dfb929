"""Concurrent writers: optimistic locking holds, and no create is lost."""

from __future__ import annotations

import asyncio

import httpx

from tests.support.factories import Factories, MakeTask, User, list_all
from tests.support.http import TASKS, task_url


async def test_concurrent_patches_with_same_if_match_let_exactly_one_win(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    for _ in range(5):
        task = await make_task(alice)
        headers = {**alice.headers, "If-Match": '"1"'}

        first, second = await asyncio.gather(
            client.patch(task_url(task), json={"title": "first"}, headers=headers),
            client.patch(task_url(task), json={"title": "second"}, headers=headers),
        )

        assert sorted([first.status_code, second.status_code]) == [200, 412], (
            first.text,
            second.text,
        )
        winner = first if first.status_code == 200 else second
        stored = (await client.get(task_url(task), headers=alice.headers)).json()
        assert stored["version"] == 2
        assert stored["title"] == winner.json()["title"]


async def test_concurrent_patches_without_if_match_both_apply(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    responses = await asyncio.gather(
        client.patch(task_url(task), json={"priority": 3}, headers=alice.headers),
        client.patch(task_url(task), json={"labels": ["x"]}, headers=alice.headers),
    )

    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    stored = (await client.get(task_url(task), headers=alice.headers)).json()
    assert (stored["priority"], stored["labels"], stored["version"]) == (3, ["x"], 3)


async def test_concurrent_delete_and_patch_with_same_if_match(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    headers = {**alice.headers, "If-Match": '"1"'}

    patched, deleted = await asyncio.gather(
        client.patch(task_url(task), json={"title": "x"}, headers=headers),
        client.delete(task_url(task), headers=headers),
    )

    outcomes = {patched.status_code, deleted.status_code}
    assert outcomes in ({200, 412}, {204, 404}, {204, 412})
    assert 200 in outcomes or 204 in outcomes


async def test_fifty_concurrent_creates_all_persist(client: httpx.AsyncClient, alice: User) -> None:
    titles = [f"concurrent {i}" for i in range(50)]

    responses = await asyncio.gather(
        *(client.post(TASKS, json={"title": t}, headers=alice.headers) for t in titles)
    )

    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses]
    listed = await list_all(client, alice, limit=100)
    assert sorted(t["title"] for t in listed) == sorted(titles)
    assert {t["id"] for t in listed} == {r.json()["id"] for r in responses}


async def test_concurrent_creates_get_distinct_positions(
    client: httpx.AsyncClient, alice: User
) -> None:
    responses = await asyncio.gather(
        *(client.post(TASKS, json={"title": f"t{i}"}, headers=alice.headers) for i in range(20))
    )

    assert len({r.json()["position"] for r in responses}) == 20


async def test_concurrent_moves_into_a_project_get_distinct_positions(
    client: httpx.AsyncClient, alice: User, factories: Factories
) -> None:
    project = await factories.project(alice)
    tasks = [await factories.task(alice) for _ in range(10)]

    responses = await asyncio.gather(
        *(
            client.patch(task_url(t), json={"project_id": project["id"]}, headers=alice.headers)
            for t in tasks
        )
    )

    assert len({r.json()["position"] for r in responses}) == 10
