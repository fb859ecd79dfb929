"""PATCH /api/v1/tasks/{id}: partial updates, versions, If-Match, permissions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support.factories import Factories, MakeTask, User
from tests.support.http import expect, expect_not_found, task_url


async def _patch(
    client: httpx.AsyncClient,
    user: User,
    task: dict[str, Any],
    body: Any,
    if_match: str | None = None,
) -> httpx.Response:
    headers = dict(user.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.patch(task_url(task), json=body, headers=headers)


async def test_only_sent_fields_change(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(
        alice,
        title="old",
        description="keep",
        priority=2,
        labels=["a"],
        due_at="2030-01-01T00:00:00Z",
    )

    response = await _patch(client, alice, task, {"title": "new"})

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["title"] == "new"
    unchanged = ("description", "priority", "labels", "due_at", "done", "position", "created_at")
    assert {k: updated[k] for k in unchanged} == {k: task[k] for k in unchanged}


async def test_patch_answers_new_etag(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    response = await _patch(client, alice, task, {"title": "new"})

    assert response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'


async def test_each_change_increments_version(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    versions = [
        (await _patch(client, alice, task, {"priority": p})).json()["version"] for p in (1, 2, 3)
    ]

    assert versions == [2, 3, 4]


async def test_change_updates_updated_at(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    updated = (await _patch(client, alice, task, {"title": "new"})).json()

    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(
        task["updated_at"]
    )


@pytest.mark.parametrize(
    "body",
    [{}, {"title": "same"}, {"labels": ["a", "b"]}, {"priority": 1, "done": False}],
    ids=["empty", "same title", "same labels", "same priority and done"],
)
async def test_patch_that_changes_nothing_keeps_version(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, body: dict[str, Any]
) -> None:
    task = await make_task(alice, title="same", labels=["a", "b"], priority=1)

    response = await _patch(client, alice, task, body)

    assert response.status_code == 200, response.text
    assert response.json() == task
    assert response.headers["etag"] == '"1"'


async def test_same_due_at_in_another_offset_is_no_change(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice, due_at="2030-01-01T10:00:00Z")

    response = await _patch(client, alice, task, {"due_at": "2030-01-01T12:00:00+02:00"})

    assert response.json()["version"] == 1


async def test_marking_done_sets_completed_at(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    updated = (await _patch(client, alice, task, {"done": True})).json()

    assert updated["done"] is True
    assert updated["completed_at"] is not None


async def test_marking_undone_clears_completed_at(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice, done=True)

    updated = (await _patch(client, alice, task, {"done": False})).json()

    assert updated["done"] is False
    assert updated["completed_at"] is None


async def test_done_again_keeps_original_completed_at(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice, done=True)

    updated = (await _patch(client, alice, task, {"done": True, "title": "x"})).json()

    assert updated["completed_at"] == task["completed_at"]


async def test_null_due_at_clears_it(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice, due_at="2030-01-01T00:00:00Z")

    updated = (await _patch(client, alice, task, {"due_at": None})).json()

    assert updated["due_at"] is None
    assert updated["version"] == 2


async def test_due_at_is_returned_in_utc(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    updated = (await _patch(client, alice, task, {"due_at": "2030-06-01T08:00:00-04:00"})).json()

    due = datetime.fromisoformat(updated["due_at"])
    assert due.utcoffset() is not None
    assert due.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert due.hour == 12


async def test_patch_persists(client: httpx.AsyncClient, alice: User, make_task: MakeTask) -> None:
    task = await make_task(alice)
    updated = (await _patch(client, alice, task, {"labels": ["x", "x", "y"]})).json()

    fetched = await client.get(task_url(task), headers=alice.headers)

    assert fetched.json() == updated
    assert updated["labels"] == ["x", "y"]


INVALID_PATCHES: list[tuple[str, dict[str, Any]]] = [
    ("null title", {"title": None}),
    ("null description", {"title": "t", "description": None}),
    ("null done", {"done": None}),
    ("null priority", {"priority": None}),
    ("null labels", {"labels": None}),
    ("null position", {"position": None}),
    ("blank title", {"title": " "}),
    ("done as integer", {"done": 0}),
    ("done as string", {"done": "true"}),
    ("priority as string", {"priority": "1"}),
    ("priority as a fraction", {"priority": 1.5}),
    ("priority out of range", {"priority": 5}),
    ("due_at without offset", {"due_at": "2030-01-01T00:00:00"}),
    ("due_at numeric", {"due_at": 0}),
    ("unknown field version", {"version": 9}),
    ("unknown field owner_id", {"owner_id": str(uuid.uuid4())}),
    ("unknown field id", {"id": str(uuid.uuid4())}),
    ("unknown field created_at", {"created_at": "2020-01-01T00:00:00Z"}),
    ("too many labels", {"labels": [str(i) for i in range(21)]}),
]


@pytest.mark.parametrize(("case", "body"), INVALID_PATCHES, ids=[c for c, _ in INVALID_PATCHES])
async def test_invalid_patch_is_422_and_changes_nothing(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, case: str, body: dict[str, Any]
) -> None:
    task = await make_task(alice)

    response = await _patch(client, alice, task, body)

    assert response.status_code == 422, (case, response.text)
    assert (await client.get(task_url(task), headers=alice.headers)).json() == task


@pytest.mark.parametrize(
    ("earlier_patches", "if_match"),
    [(0, '"1"'), (1, "*"), (0, '"7", "1"')],
    ids=["current-version", "star-any-version", "list-with-current"],
)
async def test_if_match_naming_the_current_version_succeeds(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, earlier_patches: int, if_match: str
) -> None:
    task = await make_task(alice)
    for n in range(earlier_patches):
        expect(await _patch(client, alice, task, {"title": f"v{n + 2}"}), 200)

    patched = expect(await _patch(client, alice, task, {"title": "new"}, if_match=if_match), 200)
    assert patched["version"] == earlier_patches + 2


async def test_if_match_with_stale_version_is_412(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    await _patch(client, alice, task, {"title": "v2"})

    expect(await _patch(client, alice, task, {"title": "lost update"}, if_match='"1"'), 412)
    assert (await client.get(task_url(task), headers=alice.headers)).json()["title"] == "v2"


async def test_if_match_stale_is_412_even_for_a_no_op(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice, title="same")
    await _patch(client, alice, task, {"priority": 3})

    expect(await _patch(client, alice, task, {"title": "same"}, if_match='"1"'), 412)


@pytest.mark.parametrize(
    "if_match",
    ['W/"1"', "1", '"abc"', "garbage", '""', '"1', '"-1"', '"01"', '"1.0"', '" 1"', '"\xb2"'],
    ids=repr,
)
async def test_weak_or_malformed_if_match_is_412(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, if_match: str
) -> None:
    task = await make_task(alice)

    headers = {
        **{k.encode(): v.encode() for k, v in alice.headers.items()},
        b"If-Match": if_match.encode("latin-1"),
    }

    expect(await client.patch(task_url(task), json={"title": "new"}, headers=headers), 412)
    assert (await client.get(task_url(task), headers=alice.headers)).json()["version"] == 1


async def test_viewer_cannot_patch_task(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    _project, task = await factories.shared_task(bob, alice, "viewer", author=bob)

    expect(await _patch(client, alice, task, {"title": "mine now"}), 403)


async def test_editor_can_patch_task(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    _project, task = await factories.shared_task(bob, alice, "editor", author=bob)

    assert expect(await _patch(client, alice, task, {"title": "edited"}), 200)["title"] == "edited"


async def test_non_member_patch_is_404(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    _project, task = await factories.project_task(bob)

    expect_not_found(await _patch(client, alice, task, {"title": "x"}))


async def test_patching_another_users_inbox_task_is_404(
    client: httpx.AsyncClient, alice: User, bob: User, make_task: MakeTask
) -> None:
    task = await make_task(bob)

    expect(await _patch(client, alice, task, {"title": "x"}), 404)


async def test_patch_invalid_uuid_is_404(client: httpx.AsyncClient, alice: User) -> None:
    expect_not_found(
        await client.patch("/api/v1/tasks/nope", json={"title": "x"}, headers=alice.headers)
    )


async def test_patch_without_token_is_401(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)

    expect(await client.patch(task_url(task), json={"title": "x"}), 401)


async def test_move_inbox_task_into_project(
    client: httpx.AsyncClient, alice: User, factories: Factories
) -> None:
    project = await factories.project(alice)
    task = await factories.task(alice)

    assert (
        expect(await _patch(client, alice, task, {"project_id": project["id"]}), 200)["project_id"]
        == project["id"]
    )


async def test_moving_task_goes_last_in_target_project(
    client: httpx.AsyncClient, alice: User, factories: Factories
) -> None:
    project = await factories.project(alice)
    existing = [await factories.task(alice, project_id=project["id"]) for _ in range(2)]
    task = await factories.task(alice)

    moved = (await _patch(client, alice, task, {"project_id": project["id"]})).json()

    assert moved["position"] > max(t["position"] for t in existing)


async def test_move_into_project_where_viewer_is_403(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    project = await factories.shared_project(bob, alice, "viewer")
    task = await factories.task(alice)

    expect(await _patch(client, alice, task, {"project_id": project["id"]}), 403)


async def test_move_into_invisible_project_is_404(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    project = await factories.project(bob)
    task = await factories.task(alice)

    expect_not_found(await _patch(client, alice, task, {"project_id": project["id"]}), "Project")


async def test_editor_moving_project_task_to_inbox_takes_it_into_own_inbox(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    _project, task = await factories.shared_task(bob, alice, "editor", author=bob)

    moved = await _patch(client, alice, task, {"project_id": None})

    assert moved.status_code == 200, moved.text
    assert moved.json()["project_id"] is None
    expect(await client.get(task_url(task), headers=alice.headers), 200)
    expect(await client.get(task_url(task), headers=bob.headers), 404)
