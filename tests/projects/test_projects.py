"""/api/v1/projects: create, list, read, change, delete (SPEC §5)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support.factories import Factories, MakeProject, MakeSharedProject, MakeTask, User
from tests.support.http import expect, expect_not_found

PROJECTS = "/api/v1/projects"
Share = Callable[..., Awaitable[None]]


async def all_pages(client: httpx.AsyncClient, user: User, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await client.get(PROJECTS, params=params, headers=user.headers)).json()
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


# -- create ----------------------------------------------------------------------------


async def test_create_project_returns_it_with_owner_role(
    client: httpx.AsyncClient, alice: User
) -> None:
    response = await client.post(
        PROJECTS, json={"name": "Garden", "description": "Weeds"}, headers=alice.headers
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "name", "description", "role", "created_at", "updated_at"}
    assert (body["name"], body["description"], body["role"]) == ("Garden", "Weeds", "owner")
    assert datetime.fromisoformat(body["created_at"]).utcoffset() is not None
    assert response.headers["location"] == f"/api/v1/projects/{body['id']}"


async def test_created_project_is_found_at_its_location(
    client: httpx.AsyncClient, alice: User
) -> None:
    created = await client.post(PROJECTS, json={"name": "Garden"}, headers=alice.headers)

    assert (
        expect(await client.get(created.headers["location"], headers=alice.headers), 200)
        == created.json()
    )


async def test_create_project_description_defaults_to_empty(
    client: httpx.AsyncClient, alice: User
) -> None:
    response = await client.post(PROJECTS, json={"name": "Garden"}, headers=alice.headers)

    assert response.json()["description"] == ""


async def test_create_project_accepts_name_of_100_chars(
    client: httpx.AsyncClient, alice: User
) -> None:
    expect(await client.post(PROJECTS, json={"name": "n" * 100}, headers=alice.headers), 201)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "n" * 101},
        {"name": None},
        {"name": 5},
        {"name": "ok", "description": None},
        {"name": "ok", "description": 5},
        {"name": "a\x00b"},
        {"name": "ok", "description": "a\x00b"},
        {"name": "ok", "role": "viewer"},
        {"name": "ok", "id": str(uuid.uuid4())},
        {"name": "ok", "created_at": "2020-01-01T00:00:00Z"},
    ],
    ids=[
        "empty",
        "name-empty",
        "name-blank",
        "name-101",
        "name-null",
        "name-int",
        "description-null",
        "description-int",
        "name-nul-char",
        "description-nul-char",
        "unknown-role",
        "unknown-id",
        "unknown-created-at",
    ],
)
async def test_create_project_rejects_invalid_body(
    client: httpx.AsyncClient, alice: User, body: dict[str, Any]
) -> None:
    expect(await client.post(PROJECTS, json=body, headers=alice.headers), 422)


# -- list ------------------------------------------------------------------------------


async def test_list_projects_shows_only_mine(
    client: httpx.AsyncClient, alice: User, bob: User, make_project: MakeProject
) -> None:
    mine = await make_project(alice, "Mine")
    await make_project(bob, "Bob's")

    assert expect(await client.get(PROJECTS, headers=alice.headers), 200) == {
        "items": [mine],
        "next_cursor": None,
    }


async def test_list_projects_shows_shared_ones_with_my_role(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(alice, bob, "viewer")

    response = await client.get(PROJECTS, headers=bob.headers)

    [item] = response.json()["items"]
    assert (item["id"], item["role"]) == (project["id"], "viewer")


async def test_list_projects_is_empty_for_a_new_user(
    client: httpx.AsyncClient, alice: User
) -> None:
    response = await client.get(PROJECTS, headers=alice.headers)

    assert response.json() == {"items": [], "next_cursor": None}


async def test_list_projects_pages_through_every_project_once(
    client: httpx.AsyncClient, alice: User, make_project: MakeProject
) -> None:
    created = [await make_project(alice, f"p{i}") for i in range(5)]

    items = await all_pages(client, alice, limit=2)

    assert sorted(p["id"] for p in items) == sorted(p["id"] for p in created)
    assert len(items) == 5


@pytest.mark.parametrize(("projects", "more"), [(3, True), (2, False)], ids=["more", "exact-fit"])
async def test_list_projects_first_page_has_a_cursor_only_when_more_remain(
    client: httpx.AsyncClient, alice: User, make_project: MakeProject, projects: int, more: bool
) -> None:
    for i in range(projects):
        await make_project(alice, f"p{i}")

    page = expect(await client.get(PROJECTS, params={"limit": 2}, headers=alice.headers), 200)

    assert len(page["items"]) == 2
    assert isinstance(page["next_cursor"], str if more else type(None))


async def test_paging_while_projects_are_created_neither_repeats_nor_skips(
    client: httpx.AsyncClient, alice: User, make_project: MakeProject
) -> None:
    existing = {(await make_project(alice, f"p{i}"))["id"] for i in range(4)}
    first = (await client.get(PROJECTS, params={"limit": 2}, headers=alice.headers)).json()
    await make_project(alice, "late")

    second = await client.get(
        PROJECTS, params={"limit": 10, "cursor": first["next_cursor"]}, headers=alice.headers
    )

    seen = [p["id"] for p in first["items"] + second.json()["items"]]
    assert len(seen) == len(set(seen))
    assert existing <= set(seen)


@pytest.mark.parametrize(
    ("limit", "status"),
    [("0", 422), ("101", 422), ("-1", 422), ("abc", 422), ("", 422), ("1", 200), ("100", 200)],
)
async def test_list_projects_limit_is_1_to_100(
    client: httpx.AsyncClient, alice: User, limit: str, status: int
) -> None:
    expect(await client.get(PROJECTS, params={"limit": limit}, headers=alice.headers), status)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "e30",  # {}
        "W10",  # []
        "eyJmIjoiMDAwMDAwMDAwMDAwIiwiayI6W119",  # {"f":"000000000000","k":[]}
        "x" * 1025,
        "ü",
    ],
    ids=["not-base64", "empty-object", "list", "foreign-fingerprint", "too-long", "non-ascii"],
)
async def test_list_projects_rejects_malformed_cursor(
    client: httpx.AsyncClient, alice: User, cursor: str
) -> None:
    expect(await client.get(PROJECTS, params={"cursor": cursor}, headers=alice.headers), 422)


@pytest.mark.parametrize(
    "key",
    [
        ["yesterday", "not-a-uuid"],
        ["2020-01-01T00:00:00+00:00", "not-a-uuid"],
        ["2020-01-01T00:00:00", str(uuid.UUID(int=1))],
        ["9999-12-31T23:00:00-05:00", str(uuid.UUID(int=1))],
        ["0001-01-01T00:00:00+05:00", str(uuid.UUID(int=1))],
        [12345, str(uuid.UUID(int=1))],
        [None, None],
        [["nested"], {"x": 1}],
    ],
    ids=[
        "words",
        "bad-id",
        "naive-time",
        "overflows-utc",
        "underflows-utc",
        "int-time",
        "nulls",
        "containers",
    ],
)
async def test_list_projects_rejects_a_cursor_with_a_forged_key(
    client: httpx.AsyncClient, alice: User, make_project: MakeProject, key: list[Any]
) -> None:
    for i in range(2):
        await make_project(alice, f"p{i}")
    cursor = (await client.get(PROJECTS, params={"limit": 1}, headers=alice.headers)).json()[
        "next_cursor"
    ]
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    data["k"] = key
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    expect(await client.get(PROJECTS, params={"cursor": forged}, headers=alice.headers), 422)


async def test_list_projects_rejects_a_task_list_cursor(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    for _ in range(2):
        await make_task(alice)
    cursor = (await client.get("/api/v1/tasks", params={"limit": 1}, headers=alice.headers)).json()[
        "next_cursor"
    ]

    expect(await client.get(PROJECTS, params={"cursor": cursor}, headers=alice.headers), 422)


# -- get -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "editor", "owner"])
async def test_any_member_can_get_project_with_their_role(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject, role: str
) -> None:
    project = await shared_project(alice, bob, role)

    assert (
        expect(await client.get(f"{PROJECTS}/{project['id']}", headers=bob.headers), 200)["role"]
        == role
    )


async def test_non_member_gets_404_for_a_project(
    client: httpx.AsyncClient, alice: User, bob: User, make_project: MakeProject
) -> None:
    project = await make_project(alice)

    expect_not_found(
        await client.get(f"{PROJECTS}/{project['id']}", headers=bob.headers), "Project"
    )


@pytest.mark.parametrize("project_id", ["not-a-uuid", "123", str(uuid.uuid4())])
async def test_get_unknown_or_malformed_project_id_is_404(
    client: httpx.AsyncClient, alice: User, project_id: str
) -> None:
    expect_not_found(await client.get(f"{PROJECTS}/{project_id}", headers=alice.headers), "Project")


# -- patch -----------------------------------------------------------------------------


async def test_owner_can_patch_project(
    client: httpx.AsyncClient, alice: User, make_project: MakeProject
) -> None:
    project = await make_project(alice, "Old", description="keep")

    response = await client.patch(
        f"{PROJECTS}/{project['id']}", json={"name": "New"}, headers=alice.headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["description"], body["role"]) == ("New", "keep", "owner")
    assert body["updated_at"] > project["updated_at"]
    assert body["created_at"] == project["created_at"]


async def test_patch_is_visible_on_get(
    client: httpx.AsyncClient, alice: User, make_project: MakeProject
) -> None:
    project = await make_project(alice)
    await client.patch(
        f"{PROJECTS}/{project['id']}", json={"description": "d"}, headers=alice.headers
    )

    response = await client.get(f"{PROJECTS}/{project['id']}", headers=alice.headers)

    assert response.json()["description"] == "d"


async def test_patch_that_changes_nothing_keeps_updated_at(
    client: httpx.AsyncClient, alice: User, make_project: MakeProject
) -> None:
    project = await make_project(alice, "Same")

    response = await client.patch(
        f"{PROJECTS}/{project['id']}", json={"name": "Same"}, headers=alice.headers
    )

    assert response.json()["updated_at"] == project["updated_at"]


@pytest.mark.parametrize("role", ["viewer", "editor"])
async def test_non_owner_member_cannot_patch_project(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories, role: str
) -> None:
    project = await factories.project(alice, "Original")
    await factories.share(alice, project, bob, role)

    expect(
        await client.patch(
            f"{PROJECTS}/{project['id']}", json={"name": "Hijacked"}, headers=bob.headers
        ),
        403,
    )
    unchanged = await client.get(f"{PROJECTS}/{project['id']}", headers=alice.headers)
    assert unchanged.json()["name"] == "Original"


async def test_non_member_cannot_patch_project(
    client: httpx.AsyncClient, alice: User, bob: User, make_project: MakeProject
) -> None:
    project = await make_project(alice)

    expect(
        await client.patch(f"{PROJECTS}/{project['id']}", json={"name": "x"}, headers=bob.headers),
        404,
    )


async def test_patch_malformed_project_id_is_404(client: httpx.AsyncClient, alice: User) -> None:
    expect(await client.patch(f"{PROJECTS}/nope", json={"name": "x"}, headers=alice.headers), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"name": None},
        {"description": None},
        {"name": ""},
        {"name": " "},
        {"name": "n" * 101},
        {"name": 1},
        {"description": "\x00"},
        {"role": "owner"},
        {"id": str(uuid.uuid4())},
    ],
    ids=[
        "name-null",
        "description-null",
        "name-empty",
        "name-blank",
        "name-101",
        "name-int",
        "description-nul-char",
        "unknown-role",
        "unknown-id",
    ],
)
async def test_patch_project_rejects_invalid_body(
    client: httpx.AsyncClient, alice: User, make_project: MakeProject, body: dict[str, Any]
) -> None:
    project = await make_project(alice)

    expect(await client.patch(f"{PROJECTS}/{project['id']}", json=body, headers=alice.headers), 422)


# -- delete ----------------------------------------------------------------------------


async def test_owner_can_delete_project(
    client: httpx.AsyncClient, alice: User, make_project: MakeProject
) -> None:
    project = await make_project(alice)

    expect(await client.delete(f"{PROJECTS}/{project['id']}", headers=alice.headers), 204)
    expect(await client.get(f"{PROJECTS}/{project['id']}", headers=alice.headers), 404)


async def test_deleting_a_project_removes_its_tasks(
    client: httpx.AsyncClient, alice: User, factories: Factories
) -> None:
    project, task = await factories.project_task(alice)
    subtask = await factories.task(alice, project_id=project["id"], parent_id=task["id"])
    await client.delete(f"{PROJECTS}/{project['id']}", headers=alice.headers)

    responses = [
        await client.get(f"/api/v1/tasks/{t['id']}", headers=alice.headers) for t in (task, subtask)
    ]

    assert [r.status_code for r in responses] == [404, 404], [r.text for r in responses]


async def test_deleting_a_project_keeps_inbox_tasks(
    client: httpx.AsyncClient, alice: User, factories: Factories
) -> None:
    project = await factories.project(alice)
    inbox = await factories.task(alice)
    await client.delete(f"{PROJECTS}/{project['id']}", headers=alice.headers)

    expect(await client.get(f"/api/v1/tasks/{inbox['id']}", headers=alice.headers), 200)


@pytest.mark.parametrize("role", ["viewer", "editor"])
async def test_non_owner_member_cannot_delete_project(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject, role: str
) -> None:
    project = await shared_project(alice, bob, role)

    expect(await client.delete(f"{PROJECTS}/{project['id']}", headers=bob.headers), 403)
    expect(await client.get(f"{PROJECTS}/{project['id']}", headers=alice.headers), 200)


async def test_non_member_cannot_delete_project(
    client: httpx.AsyncClient, alice: User, bob: User, make_project: MakeProject
) -> None:
    project = await make_project(alice)

    expect(await client.delete(f"{PROJECTS}/{project['id']}", headers=bob.headers), 404)


async def test_delete_malformed_project_id_is_404(client: httpx.AsyncClient, alice: User) -> None:
    expect(await client.delete(f"{PROJECTS}/%20", headers=alice.headers), 404)
