"""Hot reads cached in Redis stay correct across instances: once a write returned on
one instance, the other never serves what it replaced (issue 3, "Redis")."""

from __future__ import annotations

from typing import Any

from tests.support.cluster import Instance, Pair, cached_task_keys, postgres_only
from tests.support.factories import User
from tests.support.http import expect

pytestmark = postgres_only

TASKS = "/api/v1/tasks"
PROJECTS = "/api/v1/projects"


async def create_task(instance: Instance, user: User, **fields: Any) -> dict[str, Any]:
    response = await instance.request("POST", TASKS, user, json={"title": "first", **fields})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def cached_on(pair: Pair, instance: Instance, user: User, task_id: str) -> None:
    """GET the task on `instance`, and check the read left it in the shared cache."""
    expect(await instance.request("GET", f"{TASKS}/{task_id}", user), 200)
    assert cached_task_keys(pair.redis, task_id) == 1


async def first_page_ids(instance: Instance, user: User) -> list[str]:
    response = await instance.request("GET", TASKS, user)
    assert response.status_code == 200, response.text
    return [task["id"] for task in response.json()["items"]]


async def test_patch_on_one_instance_is_read_at_once_on_the_other(pair: Pair) -> None:
    user = await pair.new_user()
    task = await create_task(pair.a, user)
    await cached_on(pair, pair.b, user, task["id"])

    patched = await pair.a.request("PATCH", f"{TASKS}/{task['id']}", user, json={"title": "new"})
    read = await pair.b.request("GET", f"{TASKS}/{task['id']}", user)

    assert patched.status_code == 200, patched.text
    assert read.status_code == 200, read.text
    assert read.headers["ETag"] == patched.headers["ETag"] != f'"{task["version"]}"'
    assert read.json() == patched.json()
    assert read.json()["title"] == "new"


async def test_alternating_patches_are_always_read_back_on_the_other_instance(
    pair: Pair,
) -> None:
    user = await pair.new_user()
    task = await create_task(pair.a, user)
    url = f"{TASKS}/{task['id']}"
    await cached_on(pair, pair.a, user, task["id"])
    stale: list[tuple[int, str, str]] = []

    for round_ in range(50):
        writer, reader = (pair.a, pair.b) if round_ % 2 == 0 else (pair.b, pair.a)
        patched = await writer.request("PATCH", url, user, json={"title": f"round {round_}"})
        assert patched.status_code == 200, patched.text
        read = await reader.request("GET", url, user)
        assert read.status_code == 200, read.text
        if read.headers["ETag"] != patched.headers["ETag"] or read.json() != patched.json():
            stale.append((round_, patched.headers["ETag"], read.headers["ETag"]))

    assert stale == []


async def test_delete_on_one_instance_is_404_at_once_on_the_other(pair: Pair) -> None:
    user = await pair.new_user()
    task = await create_task(pair.a, user)
    await cached_on(pair, pair.b, user, task["id"])

    deleted = await pair.a.request("DELETE", f"{TASKS}/{task['id']}", user)
    read = await pair.b.request("GET", f"{TASKS}/{task['id']}", user)

    assert deleted.status_code == 204, deleted.text
    assert read.status_code == 404, read.text


async def test_task_created_on_one_instance_is_on_the_first_page_of_the_other(
    pair: Pair,
) -> None:
    user = await pair.new_user()
    old = await create_task(pair.a, user)
    assert await first_page_ids(pair.b, user) == [old["id"]]  # cached on B now

    new = await create_task(pair.a, user, title="second")
    page = await first_page_ids(pair.b, user)

    assert page == [new["id"], old["id"]]


async def test_patch_on_one_instance_shows_on_the_first_page_of_the_other(pair: Pair) -> None:
    user = await pair.new_user()
    task = await create_task(pair.a, user)
    await first_page_ids(pair.b, user)  # cached on B now

    patched = await pair.a.request("PATCH", f"{TASKS}/{task['id']}", user, json={"done": True})
    page = await pair.b.request("GET", TASKS, user)

    assert patched.status_code == 200, patched.text
    assert page.json()["items"] == [patched.json()]


async def test_task_deleted_on_one_instance_leaves_the_first_page_of_the_other(
    pair: Pair,
) -> None:
    user = await pair.new_user()
    task = await create_task(pair.a, user)
    assert await first_page_ids(pair.b, user) == [task["id"]]  # cached on B now

    deleted = await pair.a.request("DELETE", f"{TASKS}/{task['id']}", user)
    page = await first_page_ids(pair.b, user)

    assert deleted.status_code == 204, deleted.text
    assert page == []


async def shared_project_task(pair: Pair) -> tuple[User, User, dict[str, Any], dict[str, Any]]:
    """(owner, viewer, project, task): a project task the viewer has read on B."""
    owner, viewer = await pair.new_user(), await pair.new_user()
    created = await pair.a.request("POST", PROJECTS, owner, json={"name": "shared"})
    assert created.status_code == 201, created.text
    project = created.json()
    expect(
        await pair.a.request(
            "PUT", f"{PROJECTS}/{project['id']}/members/{viewer.id}", owner, json={"role": "viewer"}
        ),
        200,
    )
    task = await create_task(pair.a, owner, project_id=project["id"])
    await cached_on(pair, pair.b, viewer, task["id"])
    return owner, viewer, project, task


async def test_member_removed_on_one_instance_cannot_read_cached_task_on_the_other(
    pair: Pair,
) -> None:
    owner, viewer, project, task = await shared_project_task(pair)

    removed = await pair.a.request(
        "DELETE", f"{PROJECTS}/{project['id']}/members/{viewer.id}", owner
    )
    read = await pair.b.request("GET", f"{TASKS}/{task['id']}", viewer)

    assert removed.status_code == 204, removed.text
    assert read.status_code == 404, read.text
    assert cached_task_keys(pair.redis, task["id"]) == 1  # denied although still cached


async def test_member_removed_on_one_instance_loses_the_task_from_the_first_page_of_the_other(
    pair: Pair,
) -> None:
    owner, viewer, project, task = await shared_project_task(pair)
    assert await first_page_ids(pair.b, viewer) == [task["id"]]  # cached on B now

    removed = await pair.a.request(
        "DELETE", f"{PROJECTS}/{project['id']}/members/{viewer.id}", owner
    )
    page = await first_page_ids(pair.b, viewer)

    assert removed.status_code == 204, removed.text
    assert page == []


async def test_project_deleted_on_one_instance_hides_its_cached_task_on_the_other(
    pair: Pair,
) -> None:
    owner, viewer, project, task = await shared_project_task(pair)

    deleted = await pair.a.request("DELETE", f"{PROJECTS}/{project['id']}", owner)
    read_by_viewer = await pair.b.request("GET", f"{TASKS}/{task['id']}", viewer)
    read_by_owner = await pair.b.request("GET", f"{TASKS}/{task['id']}", owner)

    assert deleted.status_code == 204, deleted.text
    assert read_by_viewer.status_code == 404, read_by_viewer.text
    assert read_by_owner.status_code == 404, read_by_owner.text
