"""POST /api/v1/tasks: defaults, validation, placement and permissions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support.factories import Factories, MakeSharedProject, MakeTask, User
from tests.support.http import TASKS, expect, expect_not_found, task_url


async def _create(client: httpx.AsyncClient, user: User, body: Any) -> httpx.Response:
    return await client.post(TASKS, json=body, headers=user.headers)


async def test_minimal_body_creates_task_with_defaults(
    client: httpx.AsyncClient, alice: User
) -> None:
    response = await _create(client, alice, {"title": "Buy milk"})

    assert response.status_code == 201, response.text
    task = response.json()
    assert task["title"] == "Buy milk"
    assert task["description"] == ""
    assert task["done"] is False
    assert task["priority"] == 0
    assert task["due_at"] is None
    assert task["labels"] == []
    assert task["project_id"] is None
    assert task["parent_id"] is None
    assert task["completed_at"] is None
    assert task["version"] == 1
    uuid.UUID(task["id"])
    assert task["created_at"] == task["updated_at"]


async def test_create_answers_location_and_etag(client: httpx.AsyncClient, alice: User) -> None:
    response = await _create(client, alice, {"title": "Buy milk"})

    assert response.status_code == 201, response.text
    assert response.headers["location"] == task_url(response.json())
    assert response.headers["etag"] == '"1"'


async def test_location_points_at_the_created_task(client: httpx.AsyncClient, alice: User) -> None:
    created = await _create(client, alice, {"title": "Buy milk"})

    assert (
        expect(await client.get(created.headers["location"], headers=alice.headers), 200)
        == created.json()
    )


async def test_create_stores_every_field_sent(client: httpx.AsyncClient, alice: User) -> None:
    body = {
        "title": "  spaced title  ",
        "description": "details",
        "priority": 4,
        "due_at": "2030-05-01T09:30:00Z",
        "labels": ["home", "errand"],
    }

    task = (await _create(client, alice, body)).json()

    assert task["title"] == "  spaced title  "
    assert task["description"] == "details"
    assert task["priority"] == 4
    assert task["labels"] == ["home", "errand"]
    assert datetime.fromisoformat(task["due_at"]) == datetime.fromisoformat(str(body["due_at"]))


async def test_created_timestamps_are_utc_with_offset(
    client: httpx.AsyncClient, alice: User
) -> None:
    task = (await _create(client, alice, {"title": "t", "done": True})).json()

    for field in ("created_at", "updated_at", "completed_at"):
        parsed = datetime.fromisoformat(task[field])
        assert parsed.utcoffset() is not None
        assert parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


async def test_due_at_with_offset_is_returned_in_utc(
    client: httpx.AsyncClient, alice: User
) -> None:
    task = await _create(client, alice, {"title": "t", "due_at": "2030-01-01T12:00:00+02:00"})

    due = datetime.fromisoformat(task.json()["due_at"])
    assert due.utcoffset() is not None
    assert due.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert (due.year, due.month, due.day, due.hour) == (2030, 1, 1, 10)


async def test_created_done_task_has_completed_at(client: httpx.AsyncClient, alice: User) -> None:
    task = (await _create(client, alice, {"title": "t", "done": True})).json()

    assert task["done"] is True
    assert task["completed_at"] is not None


async def test_labels_drop_duplicates_keeping_order(client: httpx.AsyncClient, alice: User) -> None:
    task = await _create(client, alice, {"title": "t", "labels": ["b", "a", "b", "c", "a"]})

    assert task.json()["labels"] == ["b", "a", "c"]


async def test_twenty_labels_are_accepted(client: httpx.AsyncClient, alice: User) -> None:
    labels = [f"l{i}" for i in range(20)]

    assert (
        expect(await _create(client, alice, {"title": "t", "labels": labels}), 201)["labels"]
        == labels
    )


async def test_boundary_lengths_are_accepted(client: httpx.AsyncClient, alice: User) -> None:
    body = {"title": "x" * 200, "description": "d" * 20_000, "labels": ["l" * 50, "m"]}

    assert expect(await _create(client, alice, body), 201)["title"] == "x" * 200


async def test_new_tasks_go_last(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    first = await make_task(alice)
    second = await make_task(alice)
    third = await make_task(alice)

    assert first["position"] < second["position"] < third["position"]


async def test_positions_are_counted_per_inbox(
    client: httpx.AsyncClient, alice: User, bob: User, make_task: MakeTask
) -> None:
    mine = [await make_task(alice) for _ in range(3)]

    bobs = await make_task(bob)

    assert bobs["position"] <= mine[0]["position"]


INVALID_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("missing title", {}),
    ("empty title", {"title": ""}),
    ("blank title", {"title": "   "}),
    ("title too long", {"title": "x" * 201}),
    ("title not a string", {"title": 5}),
    ("description too long", {"title": "t", "description": "d" * 20_001}),
    ("done as integer", {"title": "t", "done": 0}),
    ("done as string", {"title": "t", "done": "true"}),
    ("priority as string", {"title": "t", "priority": "1"}),
    ("priority as a fraction", {"title": "t", "priority": 1.5}),
    ("priority as bool", {"title": "t", "priority": True}),
    ("priority below range", {"title": "t", "priority": -1}),
    ("priority above range", {"title": "t", "priority": 5}),
    ("too many labels", {"title": "t", "labels": [f"l{i}" for i in range(21)]}),
    ("empty label", {"title": "t", "labels": [""]}),
    ("label too long", {"title": "t", "labels": ["x" * 51]}),
    ("label not a string", {"title": "t", "labels": [1]}),
    ("labels not a list", {"title": "t", "labels": "home"}),
    ("due_at without offset", {"title": "t", "due_at": "2030-01-01T12:00:00"}),
    ("due_at as a date", {"title": "t", "due_at": "2030-01-01"}),
    ("due_at numeric", {"title": "t", "due_at": 1893456000}),
    ("due_at numeric string", {"title": "t", "due_at": "1893456000"}),
    ("due_at garbage", {"title": "t", "due_at": "tomorrow"}),
    ("unknown field id", {"title": "t", "id": str(uuid.uuid4())}),
    ("unknown field owner_id", {"title": "t", "owner_id": str(uuid.uuid4())}),
    ("unknown field version", {"title": "t", "version": 7}),
    ("unknown field created_at", {"title": "t", "created_at": "2020-01-01T00:00:00Z"}),
    ("unknown field completed_at", {"title": "t", "completed_at": "2020-01-01T00:00:00Z"}),
    ("null title", {"title": None}),
    ("null description", {"title": "t", "description": None}),
    ("null done", {"title": "t", "done": None}),
    ("null priority", {"title": "t", "priority": None}),
    ("null labels", {"title": "t", "labels": None}),
    ("null position", {"title": "t", "position": None}),
    ("project_id not a uuid", {"title": "t", "project_id": "inbox"}),
    ("NUL in title", {"title": "a\u0000b"}),
    ("NUL in description", {"title": "t", "description": "a\u0000b"}),
    ("NUL in label", {"title": "t", "labels": ["a\u0000"]}),
    ("due_at past year 9999 in UTC", {"title": "t", "due_at": "9999-12-31T23:00:00-05:00"}),
    ("due_at before year 1 in UTC", {"title": "t", "due_at": "0001-01-01T00:00:00+05:00"}),
]


@pytest.mark.parametrize(("case", "body"), INVALID_BODIES, ids=[c for c, _ in INVALID_BODIES])
async def test_invalid_body_is_422(
    client: httpx.AsyncClient, alice: User, case: str, body: dict[str, Any]
) -> None:
    response = await _create(client, alice, body)

    assert response.status_code == 422, f"{case}: {response.status_code} {response.text}"
    assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[]", b'"title"', b"null", b"\xff\xfe{}", b'{"title": "t",}'],
    ids=["truncated", "array", "string", "null", "not utf-8", "trailing comma"],
)
async def test_body_that_is_not_a_json_object_is_422(
    client: httpx.AsyncClient, alice: User, raw: bytes
) -> None:
    headers = {**alice.headers, "Content-Type": "application/json"}

    expect(await client.post(TASKS, content=raw, headers=headers), 422)


async def test_validation_error_does_not_echo_large_input(
    client: httpx.AsyncClient, alice: User
) -> None:
    response = await _create(client, alice, {"title": "t", "description": "Z" * 30_000})

    assert response.status_code == 422, response.text
    assert "Z" * 100 not in response.text


async def test_create_without_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(TASKS, json={"title": "t"})

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_create_in_unknown_project_is_404(client: httpx.AsyncClient, alice: User) -> None:
    expect_not_found(
        await _create(client, alice, {"title": "t", "project_id": str(uuid.uuid4())}), "Project"
    )


async def test_create_in_someone_elses_project_is_404(
    client: httpx.AsyncClient, alice: User, bob: User, make_project: Any
) -> None:
    project = await make_project(bob)

    expect_not_found(
        await _create(client, alice, {"title": "t", "project_id": project["id"]}), "Project"
    )


async def test_viewer_cannot_create_task_in_project(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(bob, alice, "viewer")

    expect(await _create(client, alice, {"title": "t", "project_id": project["id"]}), 403)


async def test_editor_creates_task_in_project(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(bob, alice, "editor")

    assert (
        expect(await _create(client, alice, {"title": "t", "project_id": project["id"]}), 201)[
            "project_id"
        ]
        == project["id"]
    )


async def test_task_created_by_editor_is_visible_to_project_owner(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(bob, alice, "editor")
    task = (await _create(client, alice, {"title": "t", "project_id": project["id"]})).json()

    expect(await client.get(task_url(task), headers=bob.headers), 200)


async def test_positions_in_project_count_every_members_tasks(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    project, bobs = await factories.shared_task(bob, alice, "editor", author=bob)

    alices = await factories.task(alice, project_id=project["id"])

    assert alices["position"] > bobs["position"]


async def test_explicit_position_is_kept(client: httpx.AsyncClient, alice: User) -> None:
    assert (
        expect(await _create(client, alice, {"title": "t", "position": 42}), 201)["position"] == 42
    )


async def test_lone_surrogate_in_title_is_422(client: httpx.AsyncClient, alice: User) -> None:
    headers = {**alice.headers, "Content-Type": "application/json"}

    expect(await client.post(TASKS, content=b'{"title": "a\\ud800b"}', headers=headers), 422)
