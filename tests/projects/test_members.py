"""/api/v1/projects/{id}/members: sharing, roles and the last-owner rule (SPEC §5)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.support.factories import Factories, MakeProject, MakeSharedProject, User
from tests.support.http import expect

Share = Callable[..., Awaitable[None]]


def members_url(project: dict[str, Any], user_id: str | None = None) -> str:
    base = f"/api/v1/projects/{project['id']}/members"
    return base if user_id is None else f"{base}/{user_id}"


async def put_role(
    client: httpx.AsyncClient, project: dict[str, Any], member: User, role: str, by: User
) -> httpx.Response:
    """`by` sets `member`'s role in `project`."""
    return await client.put(
        members_url(project, member.id), json={"role": role}, headers=by.headers
    )


async def roles(client: httpx.AsyncClient, owner: User, project: dict[str, Any]) -> dict[str, str]:
    response = await client.get(members_url(project), headers=owner.headers)
    return {m["user_id"]: m["role"] for m in response.json()}


# -- list ------------------------------------------------------------------------------


async def test_owner_lists_members_with_email_and_role(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(alice, bob, "editor")

    response = await client.get(members_url(project), headers=alice.headers)

    assert response.status_code == 200, response.text
    assert sorted(response.json(), key=lambda m: m["role"]) == [
        {"user_id": bob.id, "email": bob.email, "role": "editor"},
        {"user_id": alice.id, "email": alice.email, "role": "owner"},
    ]


async def test_viewer_can_list_members(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(alice, bob, "viewer")

    response = await client.get(members_url(project), headers=bob.headers)

    assert response.status_code == 200, response.text
    assert {m["user_id"] for m in response.json()} == {alice.id, bob.id}


async def test_non_member_cannot_list_members(
    client: httpx.AsyncClient, alice: User, bob: User, make_project: MakeProject
) -> None:
    project = await make_project(alice)

    expect(await client.get(members_url(project), headers=bob.headers), 404)


async def test_members_of_malformed_project_id_is_404(
    client: httpx.AsyncClient, alice: User
) -> None:
    expect(await client.get("/api/v1/projects/zzz/members", headers=alice.headers), 404)


# -- put -------------------------------------------------------------------------------


async def test_owner_adds_a_member(
    client: httpx.AsyncClient, alice: User, bob: User, make_project: MakeProject
) -> None:
    project = await make_project(alice)

    assert expect(await put_role(client, project, bob, "viewer", by=alice), 200) == {
        "user_id": bob.id,
        "email": bob.email,
        "role": "viewer",
    }


async def test_added_member_sees_the_project(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(alice, bob, "editor")

    expect(await client.get(f"/api/v1/projects/{project['id']}", headers=bob.headers), 200)


@pytest.mark.parametrize(("before", "after"), [("viewer", "editor"), ("editor", "viewer")])
async def test_owner_changes_a_members_role(
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    shared_project: MakeSharedProject,
    before: str,
    after: str,
) -> None:
    project = await shared_project(alice, bob, before)

    response = await put_role(client, project, bob, after, by=alice)

    assert response.json()["role"] == after
    assert (await roles(client, alice, project))[bob.id] == after


@pytest.mark.parametrize(
    ("bob_role", "target", "new_role", "by", "final"),
    [
        pytest.param(
            "editor",
            "bob",
            "editor",
            "alice",
            {"alice": "owner", "bob": "editor"},
            id="put-with-same-role-is-idempotent",
        ),
        pytest.param(
            "owner",
            "alice",
            "viewer",
            "bob",
            {"alice": "viewer", "bob": "owner"},
            id="owner-can-be-demoted-when-another-owner-remains",
        ),
    ],
)
async def test_role_change_is_accepted(
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    shared_project: MakeSharedProject,
    bob_role: str,
    target: str,
    new_role: str,
    by: str,
    final: dict[str, str],
) -> None:
    people = {"alice": alice, "bob": bob}
    project = await shared_project(alice, bob, bob_role)

    expect(await put_role(client, project, people[target], new_role, by=people[by]), 200)
    assert await roles(client, people[by], project) == {
        people[name].id: role for name, role in final.items()
    }


async def test_promoted_owner_can_manage_members(
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    carol: User,
    shared_project: MakeSharedProject,
) -> None:
    project = await shared_project(alice, bob, "owner")

    expect(
        await put_role(client, project, carol, "viewer", by=bob),
        200,
    )


@pytest.mark.parametrize("role", ["viewer", "editor"])
async def test_non_owner_member_cannot_put_members(
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    carol: User,
    shared_project: MakeSharedProject,
    role: str,
) -> None:
    project = await shared_project(alice, bob, role)

    expect(
        await put_role(client, project, carol, "viewer", by=bob),
        403,
    )
    assert carol.id not in await roles(client, alice, project)


@pytest.mark.parametrize("role", ["viewer", "editor"])
async def test_non_owner_member_cannot_promote_themselves(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject, role: str
) -> None:
    project = await shared_project(alice, bob, role)

    expect(
        await put_role(client, project, bob, "owner", by=bob),
        403,
    )
    assert (await roles(client, alice, project))[bob.id] == role


async def test_non_member_cannot_put_members(
    client: httpx.AsyncClient, alice: User, mallory: User, make_project: MakeProject
) -> None:
    project = await make_project(alice)

    expect(
        await put_role(client, project, mallory, "owner", by=mallory),
        404,
    )
    assert mallory.id not in await roles(client, alice, project)


@pytest.mark.parametrize("user_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_put_unknown_user_is_404(
    client: httpx.AsyncClient, alice: User, make_project: MakeProject, user_id: str
) -> None:
    project = await make_project(alice)

    expect(
        await client.put(
            members_url(project, user_id), json={"role": "viewer"}, headers=alice.headers
        ),
        404,
    )


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"role": "admin"},
        {"role": "Owner"},
        {"role": None},
        {"role": 1},
        {"role": "viewer", "x": 1},
    ],
    ids=["missing", "unknown", "wrong-case", "null", "int", "unknown-field"],
)
async def test_put_member_rejects_invalid_role(
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    make_project: MakeProject,
    body: dict[str, Any],
) -> None:
    project = await make_project(alice)

    expect(await client.put(members_url(project, bob.id), json=body, headers=alice.headers), 422)


# -- delete ----------------------------------------------------------------------------


async def test_owner_removes_a_member(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(alice, bob, "editor")

    expect(await client.delete(members_url(project, bob.id), headers=alice.headers), 204)
    expect(await client.get(f"/api/v1/projects/{project['id']}", headers=bob.headers), 404)


@pytest.mark.parametrize("role", ["viewer", "editor"])
async def test_member_can_leave(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject, role: str
) -> None:
    project = await shared_project(alice, bob, role)

    expect(await client.delete(members_url(project, bob.id), headers=bob.headers), 204)
    assert await roles(client, alice, project) == {alice.id: "owner"}


@pytest.mark.parametrize("role", ["viewer", "editor"])
async def test_non_owner_member_cannot_remove_others(
    client: httpx.AsyncClient, alice: User, bob: User, carol: User, factories: Factories, role: str
) -> None:
    project = await factories.shared_project(alice, bob, role)
    await factories.share(alice, project, carol, "viewer")

    expect(await client.delete(members_url(project, carol.id), headers=bob.headers), 403)
    assert carol.id in await roles(client, alice, project)


async def test_non_member_cannot_remove_members(
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    mallory: User,
    shared_project: MakeSharedProject,
) -> None:
    project = await shared_project(alice, bob, "viewer")

    expect(await client.delete(members_url(project, bob.id), headers=mallory.headers), 404)


@pytest.mark.parametrize("user_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_removing_someone_who_is_not_a_member_is_404(
    client: httpx.AsyncClient, alice: User, make_project: MakeProject, user_id: str
) -> None:
    project = await make_project(alice)

    expect(await client.delete(members_url(project, user_id), headers=alice.headers), 404)


# -- the last owner --------------------------------------------------------------------


async def test_demoting_the_only_owner_is_409(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(alice, bob, "editor")

    expect(
        await put_role(client, project, alice, "editor", by=alice),
        409,
    )
    assert (await roles(client, alice, project))[alice.id] == "owner"


async def test_the_only_owner_leaving_is_409(
    client: httpx.AsyncClient, alice: User, make_project: MakeProject
) -> None:
    project = await make_project(alice)

    expect(await client.delete(members_url(project, alice.id), headers=alice.headers), 409)
    assert await roles(client, alice, project) == {alice.id: "owner"}


async def test_owner_can_leave_when_another_owner_remains(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(alice, bob, "owner")

    expect(await client.delete(members_url(project, alice.id), headers=alice.headers), 204)
    assert await roles(client, bob, project) == {bob.id: "owner"}


async def test_owner_can_remove_another_owner(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(alice, bob, "owner")

    expect(await client.delete(members_url(project, bob.id), headers=alice.headers), 204)


async def test_second_to_last_owner_demotion_then_last_is_409(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(alice, bob, "owner")
    await put_role(client, project, bob, "editor", by=alice)

    expect(
        await put_role(client, project, alice, "editor", by=alice),
        409,
    )


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(alice, bob, "owner")

    responses = await asyncio.gather(
        put_role(client, project, bob, "viewer", by=alice),
        put_role(client, project, alice, "viewer", by=bob),
    )

    # Which request wins is a race: the loser is either the last owner (409) or, once
    # demoted, a member who may no longer change roles (403).
    assert sorted(r.status_code for r in responses) in ([200, 409], [200, 403]), [
        r.text for r in responses
    ]
    members = await client.get(members_url(project), headers=alice.headers)
    assert [m["role"] for m in members.json()].count("owner") == 1


async def test_two_owners_leaving_at_once_leave_one_owner(
    client: httpx.AsyncClient, alice: User, bob: User, shared_project: MakeSharedProject
) -> None:
    project = await shared_project(alice, bob, "owner")

    responses = await asyncio.gather(
        client.delete(members_url(project, alice.id), headers=alice.headers),
        client.delete(members_url(project, bob.id), headers=bob.headers),
    )

    assert sorted(r.status_code for r in responses) == [204, 409], [r.text for r in responses]


# -- what leaving means for tasks ------------------------------------------------------


async def test_member_who_leaves_no_longer_sees_tasks_they_created(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    project, task = await factories.shared_task(alice, bob, "editor", author=bob)
    await client.delete(members_url(project, bob.id), headers=bob.headers)

    expect(await client.get(f"/api/v1/tasks/{task['id']}", headers=bob.headers), 404)


async def test_member_who_leaves_no_longer_lists_the_projects_tasks(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    project = await factories.shared_project(alice, bob, "editor")
    await factories.task(bob, project_id=project["id"])
    await factories.task(alice, project_id=project["id"])
    inbox = await factories.task(bob)
    await client.delete(members_url(project, bob.id), headers=bob.headers)

    response = await client.get("/api/v1/tasks", headers=bob.headers)

    assert [t["id"] for t in response.json()["items"]] == [inbox["id"]]


async def test_member_who_leaves_cannot_change_tasks_they_created(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    project, task = await factories.shared_task(alice, bob, "editor", author=bob)
    await client.delete(members_url(project, bob.id), headers=alice.headers)

    expect(
        await client.patch(
            f"/api/v1/tasks/{task['id']}", json={"title": "still mine?"}, headers=bob.headers
        ),
        404,
    )


async def test_tasks_of_a_member_who_left_stay_in_the_project(
    client: httpx.AsyncClient, alice: User, bob: User, factories: Factories
) -> None:
    project, task = await factories.shared_task(alice, bob, "editor", author=bob)
    await client.delete(members_url(project, bob.id), headers=bob.headers)

    expect(await client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers), 200)
