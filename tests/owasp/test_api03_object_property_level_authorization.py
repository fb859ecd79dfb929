"""OWASP API3:2023 Broken Object Property Level Authorization.

Clients may write only the properties the contract lets them write (mass assignment of
server-owned fields is 422 and changes nothing, SPEC §2), may not raise their own role,
and responses expose exactly the documented properties: no password hash, no flag that
is not theirs to know.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.owasp.support import unknown_id, walk
from tests.support.contract import COMMENT_FIELDS, TASK_FIELDS
from tests.support.factories import Factories, MakeProject, MakeSharedProject, MakeTask, User
from tests.support.http import expect

Share = Callable[..., Awaitable[None]]
SERVER_OWNED = {
    "id": unknown_id(),
    "owner_id": unknown_id(),
    "version": 99,
    "created_at": "2000-01-01T00:00:00Z",
    "updated_at": "2000-01-01T00:00:00Z",
    "completed_at": "2000-01-01T00:00:00Z",
}
SECRET_KEYS = {"password", "password_hash", "hashed_password", "is_superuser", "token_hash"}


def _one_field(fields: dict[str, Any]) -> list[Any]:
    return [pytest.param(name, value, id=name) for name, value in fields.items()]


@pytest.mark.parametrize(("field", "value"), _one_field(SERVER_OWNED))
async def test_creating_a_task_with_a_server_owned_field_is_422_and_creates_nothing(
    client: httpx.AsyncClient, alice: User, field: str, value: Any
) -> None:
    expect(
        await client.post(
            "/api/v1/tasks", json={"title": "t", field: value}, headers=alice.headers
        ),
        422,
    )
    listed = await client.get("/api/v1/tasks", headers=alice.headers)
    assert listed.json()["items"] == []


@pytest.mark.parametrize(("field", "value"), _one_field(SERVER_OWNED))
async def test_patching_a_server_owned_field_of_a_task_is_422_and_changes_nothing(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, field: str, value: Any
) -> None:
    task = await make_task(alice)

    expect(
        await client.patch(
            f"/api/v1/tasks/{task['id']}",
            json={"title": "new", field: value},
            headers=alice.headers,
        ),
        422,
    )
    after = await client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers)
    assert after.json() == task


@pytest.mark.parametrize(
    ("field", "value"), _one_field({**SERVER_OWNED, "role": "owner", "members": []})
)
async def test_server_owned_project_fields_are_422_on_create_and_patch(
    client: httpx.AsyncClient, alice: User, make_project: MakeProject, field: str, value: Any
) -> None:
    project = await make_project(alice)

    created = await client.post(
        "/api/v1/projects", json={"name": "p", field: value}, headers=alice.headers
    )
    patched = await client.patch(
        f"/api/v1/projects/{project['id']}", json={"name": "q", field: value}, headers=alice.headers
    )

    assert (created.status_code, patched.status_code) == (422, 422), (created.text, patched.text)
    listed = await client.get("/api/v1/projects", headers=alice.headers)
    assert listed.json()["items"] == [project]


@pytest.mark.parametrize(
    ("field", "value"),
    _one_field(
        {
            "id": unknown_id(),
            "is_superuser": True,
            "password_hash": "$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA",
            "created_at": "2000-01-01T00:00:00Z",
            "role": "admin",
        }
    ),
)
async def test_registering_with_a_privileged_field_is_422_and_registers_nobody(
    client: httpx.AsyncClient, field: str, value: Any
) -> None:
    body = {"email": "eve@example.com", "password": "long enough password", field: value}

    expect(await client.post("/api/v1/auth/register", json=body), 422)
    expect(
        await client.post(
            "/api/v1/auth/token", data={"username": body["email"], "password": body["password"]}
        ),
        401,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    _one_field({"user_id": unknown_id(), "email": "eve@example.com", "project_id": unknown_id()}),
)
async def test_putting_a_member_with_extra_fields_is_422(
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    make_project: MakeProject,
    field: str,
    value: Any,
) -> None:
    project = await make_project(alice)

    expect(
        await client.put(
            f"/api/v1/projects/{project['id']}/members/{bob.id}",
            json={"role": "viewer", field: value},
            headers=alice.headers,
        ),
        422,
    )
    members = await client.get(f"/api/v1/projects/{project['id']}/members", headers=alice.headers)
    assert [m["user_id"] for m in members.json()] == [alice.id]


@pytest.mark.parametrize(
    ("role", "wanted"), [("viewer", "editor"), ("viewer", "owner"), ("editor", "owner")]
)
async def test_a_member_cannot_raise_their_own_role(
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    shared_project: MakeSharedProject,
    role: str,
    wanted: str,
) -> None:
    project = await shared_project(alice, bob, role)

    expect(
        await client.put(
            f"/api/v1/projects/{project['id']}/members/{bob.id}",
            json={"role": wanted},
            headers=bob.headers,
        ),
        403,
    )
    seen = await client.get(f"/api/v1/projects/{project['id']}", headers=bob.headers)
    assert seen.json()["role"] == role


@pytest.mark.parametrize(
    ("field", "value"),
    _one_field(
        {
            "id": unknown_id(),
            "author_id": unknown_id(),
            "task_id": unknown_id(),
            "created_at": "2000-01-01T00:00:00Z",
            "updated_at": "2000-01-01T00:00:00Z",
        }
    ),
)
async def test_server_owned_comment_fields_are_422_on_post_and_patch(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, field: str, value: Any
) -> None:
    task = await make_task(alice)
    url = f"/api/v1/tasks/{task['id']}/comments"
    comment = expect(await client.post(url, json={"body": "mine"}, headers=alice.headers), 201)

    created = await client.post(url, json={"body": "b", field: value}, headers=alice.headers)
    patched = await client.patch(
        f"/api/v1/comments/{comment['id']}", json={"body": "c", field: value}, headers=alice.headers
    )

    assert (created.status_code, patched.status_code) == (422, 422), (created.text, patched.text)
    listed = expect(await client.get(url, headers=alice.headers), 200)
    assert listed["items"] == [comment]
    assert set(comment) == set(COMMENT_FIELDS)


# --- what responses expose ------------------------------------------------------------------


async def _every_answer_a_member_sees(
    client: httpx.AsyncClient, owner: User, member: User, project: dict[str, Any], task_id: str
) -> list[httpx.Response]:
    h = member.headers
    pid = project["id"]
    return [
        await client.get("/api/v1/users/me", headers=h),
        await client.get("/api/v1/tasks", headers=h),
        await client.get(f"/api/v1/tasks/{task_id}", headers=h),
        await client.get(f"/api/v1/tasks/{task_id}/activity", headers=h),
        await client.get(f"/api/v1/tasks/{task_id}/comments", headers=h),
        await client.get("/api/v1/projects", headers=h),
        await client.get(f"/api/v1/projects/{pid}", headers=h),
        await client.get(f"/api/v1/projects/{pid}/members", headers=h),
        await client.post(
            "/api/v1/auth/token", data={"username": member.email, "password": member.password}
        ),
        await client.post(
            "/api/v1/auth/register",
            json={"email": f"x{owner.id[:8]}@example.com", "password": "long enough password"},
        ),
    ]


async def test_no_response_carries_a_password_hash_or_privilege_flag(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    project, task = await factories.shared_task(alice, bob, "viewer", author=alice)

    answers = await _every_answer_a_member_sees(client, alice, bob, project, task["id"])

    assert [a.status_code for a in answers] == [200] * 8 + [200, 201], [a.text for a in answers]
    leaked = {key for a in answers for key, _ in walk(a.json())} & SECRET_KEYS
    assert leaked == set()
    assert all(alice.password not in a.text for a in answers)
    assert all("$argon2" not in a.text for a in answers)


async def test_a_project_task_seen_by_a_member_has_exactly_the_documented_fields(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    _project, task = await factories.shared_task(alice, bob, "viewer", author=alice)

    single = await client.get(f"/api/v1/tasks/{task['id']}", headers=bob.headers)
    listed = await client.get("/api/v1/tasks", headers=bob.headers)

    assert set(single.json()) == set(TASK_FIELDS)
    assert [set(item) for item in listed.json()["items"]] == [set(TASK_FIELDS)]


async def test_members_list_shows_other_users_only_id_email_and_role(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(alice, bob, "viewer")

    members = await client.get(f"/api/v1/projects/{project['id']}/members", headers=bob.headers)

    assert members.status_code == 200, members.text
    assert [set(m) for m in members.json()] == [{"user_id", "email", "role"}] * 2


async def test_a_viewer_sees_their_own_role_not_the_owners(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(alice, bob, "viewer")

    single = await client.get(f"/api/v1/projects/{project['id']}", headers=bob.headers)
    listed = await client.get("/api/v1/projects", headers=bob.headers)

    assert single.json()["role"] == "viewer"
    assert [p["role"] for p in listed.json()["items"]] == ["viewer"]
