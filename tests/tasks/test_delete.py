"""DELETE /api/v1/tasks/{id}."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.factories import Factories, MakeTask, User
from tests.support.http import expect, expect_not_found, task_url


async def test_delete_answers_204_then_404(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    deleted = await client.delete(task_url(task), headers=alice.headers)

    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    expect_not_found(await client.get(task_url(task), headers=alice.headers))


async def test_deleting_twice_is_404(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    await client.delete(task_url(task), headers=alice.headers)

    expect(await client.delete(task_url(task), headers=alice.headers), 404)


@pytest.mark.parametrize(
    ("if_match", "status"),
    [('"1"', 204), ("*", 204), ('"2"', 412), ('W/"1"', 412), ("junk", 412)],
)
async def test_delete_honours_if_match(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, if_match: str, status: int
) -> None:
    task = await make_task(alice)

    expect(
        await client.delete(task_url(task), headers={**alice.headers, "If-Match": if_match}), status
    )
    # a refused delete keeps the task
    expect(await client.get(task_url(task), headers=alice.headers), 404 if status == 204 else 200)


async def test_delete_with_stale_if_match_after_update_is_412(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    await client.patch(task_url(task), json={"title": "v2"}, headers=alice.headers)

    expect(await client.delete(task_url(task), headers={**alice.headers, "If-Match": '"1"'}), 412)


async def test_deleting_parent_deletes_its_subtasks(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    parent = await make_task(alice)
    child = await make_task(alice, parent_id=parent["id"])
    grandchild = await make_task(alice, parent_id=child["id"])
    unrelated = await make_task(alice)

    expect(await client.delete(task_url(parent), headers=alice.headers), 204)
    for task in (child, grandchild):
        expect(await client.get(task_url(task), headers=alice.headers), 404)
    expect(await client.get(task_url(unrelated), headers=alice.headers), 200)


async def test_deleting_subtask_keeps_parent(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    parent = await make_task(alice)
    child = await make_task(alice, parent_id=parent["id"])

    await client.delete(task_url(child), headers=alice.headers)

    expect(await client.get(task_url(parent), headers=alice.headers), 200)


async def test_deleting_a_task_with_activity_succeeds(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    await client.patch(task_url(task), json={"done": True}, headers=alice.headers)

    expect(await client.delete(task_url(task), headers=alice.headers), 204)


@pytest.mark.parametrize(
    ("relation", "status"),
    [
        ("viewer", 403),
        ("editor", 204),
        ("not a member", 404),  # a task one may not see answers like a missing one
        ("another user's inbox", 404),
    ],
)
async def test_who_may_delete_another_users_task(
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    factories: Factories,
    relation: str,
    status: int,
) -> None:
    if relation == "another user's inbox":
        task = await factories.task(bob)
    elif relation == "not a member":
        _project, task = await factories.project_task(bob)
    else:
        _project, task = await factories.shared_task(bob, alice, relation, author=bob)

    expect(await client.delete(task_url(task), headers=alice.headers), status)
    expect(await client.get(task_url(task), headers=bob.headers), 404 if status == 204 else 200)


@pytest.mark.parametrize("task_id", ["nope", str(uuid.uuid4())])
async def test_delete_unknown_or_invalid_id_is_404(
    client: httpx.AsyncClient, alice: User, task_id: str
) -> None:
    expect_not_found(await client.delete(task_url(task_id), headers=alice.headers))


async def test_delete_without_token_is_401(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    expect(await client.delete(task_url(task)), 401)
