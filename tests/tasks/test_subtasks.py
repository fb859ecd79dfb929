"""parent_id: same project or inbox, writable, no cycles; subtrees move together."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.support.factories import (
    Factories,
    MakeTask,
    User,
    list_all,
)
from tests.support.http import TASKS, expect, expect_not_found, task_url


async def _child(
    client: httpx.AsyncClient,
    user: User,
    parent: dict[str, Any],
    project: dict[str, Any] | None = None,
) -> httpx.Response:
    """POST a subtask "child" of `parent` (in `project`, if given) as `user`."""
    body: dict[str, Any] = {"title": "child", "parent_id": parent["id"]}
    if project is not None:
        body["project_id"] = project["id"]
    return await client.post(TASKS, json=body, headers=user.headers)


async def test_create_subtask_in_inbox(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    parent = await make_task(alice)

    assert expect(await _child(client, alice, parent), 201)["parent_id"] == parent["id"]


@pytest.mark.parametrize(
    ("parent_in", "child_in", "status"),
    [
        ("own project", "same project", 201),
        ("own project", "inbox", 422),  # a subtask lives where its parent does
        ("own project", "other project", 422),
        ("viewer", "same project", 403),  # a viewer adds nothing to the project
        ("viewer", "inbox", 422),
        ("editor", "same project", 201),  # editors add under another member's task
    ],
)
async def test_where_a_subtask_may_be_created(
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    factories: Factories,
    parent_in: str,
    child_in: str,
    status: int,
) -> None:
    if parent_in == "own project":
        project, parent = await factories.project_task(alice)
    else:
        project, parent = await factories.shared_task(bob, alice, parent_in, author=bob)
    if child_in == "other project":
        project = await factories.project(alice, "other")

    expect(await _child(client, alice, parent, None if child_in == "inbox" else project), status)


async def test_parent_of_another_user_is_404_like_an_unknown_one(
    client: httpx.AsyncClient, alice: User, bob: User, make_task: MakeTask
) -> None:
    parent = await make_task(bob)

    expect_not_found(await _child(client, alice, parent))


async def test_unknown_parent_is_404(client: httpx.AsyncClient, alice: User) -> None:
    expect(
        await client.post(
            TASKS, json={"title": "child", "parent_id": str(uuid.uuid4())}, headers=alice.headers
        ),
        404,
    )


async def test_task_cannot_be_its_own_parent(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    expect(
        await client.patch(task_url(task), json={"parent_id": task["id"]}, headers=alice.headers),
        422,
    )


@pytest.mark.parametrize("depth", [2, 3])
async def test_making_a_task_the_child_of_its_descendant_is_422(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, depth: int
) -> None:
    chain = [await make_task(alice)]
    for _ in range(depth - 1):
        chain.append(await make_task(alice, parent_id=chain[-1]["id"]))
    root, deepest = chain[0], chain[-1]

    expect(
        await client.patch(
            task_url(root), json={"parent_id": deepest["id"]}, headers=alice.headers
        ),
        422,
    )
    assert (await client.get(task_url(root), headers=alice.headers)).json()["parent_id"] is None


async def test_reparenting_within_a_tree_without_cycle_succeeds(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    a = await make_task(alice)
    b = await make_task(alice, parent_id=a["id"])
    c = await make_task(alice, parent_id=b["id"])

    assert (
        expect(
            await client.patch(task_url(c), json={"parent_id": a["id"]}, headers=alice.headers), 200
        )["parent_id"]
        == a["id"]
    )


async def test_clearing_parent_detaches_subtask(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    parent = await make_task(alice)
    child = await make_task(alice, parent_id=parent["id"])

    response = await client.patch(task_url(child), json={"parent_id": None}, headers=alice.headers)

    assert response.status_code == 200, response.text
    assert response.json()["parent_id"] is None


async def test_moving_parent_to_project_moves_its_subtree(
    client: httpx.AsyncClient, alice: User, factories: Factories
) -> None:
    project = await factories.project(alice)
    parent = await factories.task(alice)
    child = await factories.task(alice, parent_id=parent["id"])
    grandchild = await factories.task(alice, parent_id=child["id"])

    expect(
        await client.patch(
            task_url(parent), json={"project_id": project["id"]}, headers=alice.headers
        ),
        200,
    )
    for task in (child, grandchild):
        fetched = (await client.get(task_url(task), headers=alice.headers)).json()
        assert fetched["project_id"] == project["id"]
        assert fetched["version"] == task["version"] + 1
    in_project = await list_all(client, alice, project_id=project["id"])
    assert {t["id"] for t in in_project} == {parent["id"], child["id"], grandchild["id"]}


async def test_moving_parent_between_projects_keeps_subtree_visible_to_new_members(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    private = await factories.project(alice)
    shared = await factories.shared_project(alice, bob, "viewer")
    parent = await factories.task(alice, project_id=private["id"])
    child = await factories.task(alice, project_id=private["id"], parent_id=parent["id"])

    await client.patch(task_url(parent), json={"project_id": shared["id"]}, headers=alice.headers)

    expect(await client.get(task_url(child), headers=bob.headers), 200)


async def test_moving_subtask_alone_to_another_project_is_422(
    client: httpx.AsyncClient, alice: User, factories: Factories
) -> None:
    project = await factories.project(alice)
    parent = await factories.task(alice)
    child = await factories.task(alice, parent_id=parent["id"])

    expect(
        await client.patch(
            task_url(child), json={"project_id": project["id"]}, headers=alice.headers
        ),
        422,
    )


async def test_subtask_may_move_when_its_parent_is_cleared_at_once(
    client: httpx.AsyncClient, alice: User, factories: Factories
) -> None:
    project = await factories.project(alice)
    parent = await factories.task(alice)
    child = await factories.task(alice, parent_id=parent["id"])

    response = await client.patch(
        task_url(child),
        json={"project_id": project["id"], "parent_id": None},
        headers=alice.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["project_id"] == project["id"]
    assert response.json()["parent_id"] is None


async def test_parent_moved_to_inbox_takes_subtree_along(
    client: httpx.AsyncClient, alice: User, factories: Factories
) -> None:
    project, parent = await factories.project_task(alice)
    child = await factories.task(alice, project_id=project["id"], parent_id=parent["id"])

    await client.patch(task_url(parent), json={"project_id": None}, headers=alice.headers)

    fetched = (await client.get(task_url(child), headers=alice.headers)).json()
    assert fetched["project_id"] is None
    assert fetched["parent_id"] == parent["id"]
