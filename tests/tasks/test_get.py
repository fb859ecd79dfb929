"""GET /api/v1/tasks/{id}: visibility, ETag, and a single SQL statement."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from taskhub.kv.memory_cache import InMemoryCache
from taskhub.tasks.cache import TaskCache
from tests.support.factories import Factories, MakeTask, User
from tests.support.http import TASKS, expect, expect_not_found, task_url
from tests.support.sql import count_statements


async def test_owner_gets_task_with_strong_etag(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice, title="Read")

    response = await client.get(task_url(task), headers=alice.headers)

    assert response.status_code == 200, response.text
    assert response.json() == task
    assert response.headers["etag"] == '"1"'


async def test_etag_follows_the_version(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    await client.patch(task_url(task), json={"title": "v2"}, headers=alice.headers)
    await client.patch(task_url(task), json={"title": "v3"}, headers=alice.headers)

    response = await client.get(task_url(task), headers=alice.headers)

    assert response.json()["version"] == 3
    assert response.headers["etag"] == '"3"'


async def test_other_users_task_is_404(
    client: httpx.AsyncClient, alice: User, bob: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    expect_not_found(await client.get(task_url(task), headers=bob.headers))


async def test_unknown_task_is_404(client: httpx.AsyncClient, alice: User) -> None:
    expect_not_found(await client.get(task_url(str(uuid.uuid4())), headers=alice.headers))


async def test_invalid_uuid_is_answered_like_an_unknown_task(
    client: httpx.AsyncClient, alice: User, bob: User, make_task: MakeTask
) -> None:
    task = await make_task(bob)
    foreign = await client.get(task_url(task), headers=alice.headers)

    for bad in ("not-a-uuid", "123", "%00", "x" * 300):
        response = await client.get(f"{TASKS}/{bad}", headers=alice.headers)

        assert response.status_code == 404, (bad, response.text)
        assert response.content == foreign.content, bad


async def test_get_without_token_is_401(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    response = await client.get(task_url(task))

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_get_with_invalid_token_is_401_even_for_unknown_task(
    client: httpx.AsyncClient,
) -> None:
    expect(
        await client.get(task_url(str(uuid.uuid4())), headers={"Authorization": "Bearer nonsense"}),
        401,
    )


async def test_project_viewer_sees_project_task(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    _project, task = await factories.shared_task(bob, alice, "viewer", author=bob)

    assert expect(await client.get(task_url(task), headers=alice.headers), 200)["id"] == task["id"]


@pytest.mark.parametrize(
    ("role", "author", "remover", "cached"),
    [
        ("editor", "member", "member", False),  # leaving drops even the tasks they created
        ("viewer", "owner", "owner", True),  # removal reaches the cached task and roles
    ],
)
async def test_former_member_no_longer_sees_the_project_tasks(
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    factories: Factories,
    role: str,
    author: str,
    remover: str,
    cached: bool,
) -> None:
    people = {"owner": bob, "member": alice}
    project, task = await factories.shared_task(bob, alice, role, author=people[author])
    for _ in range(2 if cached else 0):  # the task and alice's roles are now both cached
        expect(await client.get(task_url(task), headers=alice.headers), 200)
    await factories.unshare(people[remover], project, alice)

    expect(await client.get(task_url(task), headers=alice.headers), 404)


async def test_task_in_project_of_non_member_is_404(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    _project, task = await factories.project_task(bob)

    expect(await client.get(task_url(task), headers=alice.headers), 404)


def empty_cache(app: FastAPI) -> None:
    """Start from a cold cache: creating a task already cached it (write-through)."""
    app.state.task_cache = TaskCache(InMemoryCache())


@pytest.mark.parametrize("place", ["inbox", "shared project"])
async def test_an_uncached_get_issues_exactly_one_statement(
    app: FastAPI,
    factories: Factories,
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    place: str,
) -> None:
    if place == "inbox":
        task = await factories.task(alice)
    else:  # the role check rides in the same statement
        _project, task = await factories.shared_task(bob, alice, "viewer", author=bob)
    empty_cache(app)

    with count_statements(app) as statements:
        response = await client.get(task_url(task), headers=alice.headers)

    assert response.status_code == 200, response.text
    assert len(statements) == 1, statements


async def test_cached_inbox_task_is_served_without_sql(
    app: FastAPI, client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    first = await client.get(task_url(task), headers=alice.headers)

    with count_statements(app) as statements:
        response = await client.get(task_url(task), headers=alice.headers)

    assert statements == []
    assert response.content == first.content
    assert response.headers["etag"] == first.headers["etag"]


async def test_cached_task_is_not_served_to_another_user(
    app: FastAPI, client: httpx.AsyncClient, alice: User, bob: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    expect(await client.get(task_url(task), headers=alice.headers), 200)

    expect_not_found(await client.get(task_url(task), headers=bob.headers))


async def test_patch_is_visible_to_the_next_get(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    expect(await client.get(task_url(task), headers=alice.headers), 200)
    await client.patch(task_url(task), json={"title": "renamed"}, headers=alice.headers)

    response = await client.get(task_url(task), headers=alice.headers)

    assert response.json()["title"] == "renamed"
    assert response.headers["etag"] == '"2"'


async def test_list_statement_count_does_not_depend_on_page_size(
    app: FastAPI, client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    project = await factories.shared_project(bob, alice, "editor")
    for _ in range(3):
        await factories.task(alice)
        await factories.task(alice, project_id=project["id"])

    with count_statements(app) as one_item:
        small = await client.get(TASKS, params={"limit": 1}, headers=alice.headers)
    with count_statements(app) as all_items:
        large = await client.get(TASKS, params={"limit": 100}, headers=alice.headers)

    assert len(small.json()["items"]) == 1
    assert len(large.json()["items"]) == 6
    assert len(all_items) == len(one_item) == 1


async def test_project_list_statement_count_does_not_depend_on_page_size(
    app: FastAPI, client: httpx.AsyncClient, alice: User, factories: Factories
) -> None:
    project = await factories.project(alice)
    for _ in range(5):
        await factories.task(alice, project_id=project["id"])
    params = {"project_id": project["id"]}

    with count_statements(app) as one_item:
        small = await client.get(TASKS, params={**params, "limit": 1}, headers=alice.headers)
    with count_statements(app) as all_items:
        large = await client.get(TASKS, params={**params, "limit": 100}, headers=alice.headers)

    assert len(small.json()["items"]) == 1
    assert len(large.json()["items"]) == 5
    assert len(all_items) == len(one_item) <= 2


async def test_new_member_sees_a_cached_project_task(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    project, task = await factories.project_task(bob)
    expect(await client.get(task_url(task), headers=bob.headers), 200)
    expect(await client.get(task_url(task), headers=alice.headers), 404)

    await factories.share(bob, project, alice, "viewer")
    expect(await client.get(task_url(task), headers=alice.headers), 200)


async def test_first_page_reflects_a_new_task_at_once(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    await make_task(alice, title="first")
    assert len((await client.get("/api/v1/tasks", headers=alice.headers)).json()["items"]) == 1

    await make_task(alice, title="second")
    page = (await client.get("/api/v1/tasks", headers=alice.headers)).json()

    assert [t["title"] for t in page["items"]] == ["second", "first"]


async def test_first_page_of_a_member_reflects_a_project_task_update(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    _project, task = await factories.shared_task(bob, alice, "viewer", author=bob, title="old")
    assert (await client.get("/api/v1/tasks", headers=alice.headers)).json()["items"]

    await client.patch(task_url(task), json={"title": "new"}, headers=bob.headers)
    page = (await client.get("/api/v1/tasks", headers=alice.headers)).json()

    assert [t["title"] for t in page["items"]] == ["new"]
