"""OWASP API5:2023 Broken Function Level Authorization.

Owner-only functions (project changes, member management) refuse every other role with
403 and change nothing; there is no hidden administrative or user-directory function
reachable by a regular user; paths and methods that do not exist answer 404/405, never
500; method-override headers are not honoured.

tests/projects cover a non-owner adding, removing or promoting *another* member; here the
owner's own membership is the target, the case that would take the project over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.owasp.support import unknown_id
from tests.support.factories import Factories, MakeProject, MakeSharedProject, MakeUser, User
from tests.support.http import expect
from tests.support.pats import bearer, mint_token

Share = Callable[..., Awaitable[None]]
ROLES = ["viewer", "editor"]


async def _state(client: httpx.AsyncClient, owner: User, project: dict[str, Any]) -> Any:
    pid = project["id"]
    got = await client.get(f"/api/v1/projects/{pid}", headers=owner.headers)
    members = await client.get(f"/api/v1/projects/{pid}/members", headers=owner.headers)
    return got.status_code, got.json(), sorted((m["user_id"], m["role"]) for m in members.json())


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PUT", "/members/{owner}", {"role": "viewer"}),
        ("DELETE", "/members/{owner}", None),
        ("PUT", "/members/{outsider}", {"role": "owner"}),
        ("PATCH", "", {"name": "taken over"}),
        ("DELETE", "", None),
    ],
    ids=["demote-owner", "remove-owner", "invite-outsider-as-owner", "rename", "delete"],
)
async def test_non_owner_cannot_use_owner_functions(
    client: httpx.AsyncClient,
    factories: Factories,
    role: str,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    alice, bob, outsider = await factories.user(), await factories.user(), await factories.user()
    project = await factories.project(alice)
    await factories.share(alice, project, bob, role)
    before = await _state(client, alice, project)
    path = f"/api/v1/projects/{project['id']}" + suffix.format(owner=alice.id, outsider=outsider.id)

    expect(await client.request(method, path, json=body, headers=bob.headers), 403)
    assert await _state(client, alice, project) == before


async def test_comment_functions_follow_the_role(
    client: httpx.AsyncClient, make_user: MakeUser, shared_project: MakeSharedProject
) -> None:
    """A viewer reads but cannot post; only authors edit; non-owners delete only their own."""
    alice, viewer, editor = await make_user(), await make_user(), await make_user()
    project = await shared_project(alice, viewer, "viewer")
    expect(
        await client.put(
            f"/api/v1/projects/{project['id']}/members/{editor.id}",
            json={"role": "editor"},
            headers=alice.headers,
        ),
        200,
    )
    task = expect(
        await client.post(
            "/api/v1/tasks", json={"title": "t", "project_id": project["id"]}, headers=alice.headers
        ),
        201,
    )
    url = f"/api/v1/tasks/{task['id']}/comments"
    owners = expect(await client.post(url, json={"body": "by owner"}, headers=alice.headers), 201)

    posted = await client.post(url, json={"body": "by viewer"}, headers=viewer.headers)
    edited = await client.patch(
        f"/api/v1/comments/{owners['id']}", json={"body": "taken over"}, headers=editor.headers
    )
    deleted = await client.delete(f"/api/v1/comments/{owners['id']}", headers=editor.headers)
    read = expect(await client.get(url, headers=viewer.headers), 200)

    assert (posted.status_code, edited.status_code, deleted.status_code) == (403, 403, 403)
    assert read["items"] == [owners]


@pytest.mark.parametrize(
    "override", ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"]
)
async def test_method_override_headers_are_ignored(
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    shared_project: MakeSharedProject,
    override: str,
) -> None:
    project = await shared_project(alice, bob, "viewer")
    path = f"/api/v1/projects/{project['id']}"

    read = await client.get(path, headers={**bob.headers, override: "DELETE"})
    posted = await client.post(
        f"{path}/members/{bob.id}",
        json={"role": "owner"},
        headers={**bob.headers, override: "PUT"},
    )

    assert read.status_code == 200, read.text
    assert posted.status_code == 405, posted.text
    assert (await _state(client, alice, project))[2] == sorted(
        [(alice.id, "owner"), (bob.id, "viewer")]
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/users",
        "/api/v1/users/{alice}",
        "/api/v1/admin",
        "/api/v1/admin/users",
        "/api/v1/projects/{project}/tasks",
        "/api/v2/tasks",
        "/api/tasks",
        "/api/v1/debug",
        "/api/v1/internal/jobs",
    ],
)
async def test_there_is_no_user_directory_admin_or_internal_function(
    client: httpx.AsyncClient, alice: User, mallory: User, make_project: MakeProject, path: str
) -> None:
    project = await make_project(alice)

    response = await client.get(
        path.format(alice=alice.id, project=project["id"]), headers=mallory.headers
    )

    assert response.status_code == 404, response.text
    assert alice.email not in response.text


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "PURGE", "FOO"])
@pytest.mark.parametrize(
    "path", ["/api/v1/tasks", "/api/v1/tasks/{id}", "/api/v1/projects/{id}/members", "/nowhere"]
)
async def test_unknown_methods_and_paths_are_404_or_405_never_500(
    client: httpx.AsyncClient, alice: User, method: str, path: str
) -> None:
    response = await client.request(method, path.format(id=unknown_id()), headers=alice.headers)

    # An existing route refuses the method (405); a path that is no route is 404.
    expected = 404 if path == "/nowhere" else 405
    assert response.status_code == expected, response.text
    assert "detail" in response.json()


# --- personal access tokens (SPEC §10) ---------------------------------------------------

EVERY_SCOPE = ["tasks:read", "tasks:write", "projects:read", "projects:write", "webhooks"]


async def test_a_token_with_every_scope_cannot_mint_a_token_not_even_by_replaying_a_key(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    alice = await make_user()
    token = await mint_token(client, alice.headers, EVERY_SCOPE)
    body = {"name": "escalate", "scopes": EVERY_SCOPE}
    key = {"Idempotency-Key": "mint-once"}
    by_session = await client.post("/api/v1/tokens", json=body, headers={**alice.headers, **key})

    by_token = await client.post(
        "/api/v1/tokens", json=body, headers={**bearer(token["token"]), **key}
    )

    assert by_session.status_code == 201, by_session.text
    assert by_token.status_code == 403, by_token.text
    assert "idempotent-replayed" not in by_token.headers
    assert by_session.json()["token"] not in by_token.text
    async with app.state.db.engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM personal_tokens")) == 2


# --- /admin (SPEC §2: at the root, superusers only; the panel has its own issue) --------------


async def _superuser(client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI) -> User:
    user = await make_user()
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET is_superuser = :yes WHERE email = :email"),
            {"yes": True, "email": user.email},
        )
    return user


@pytest.mark.parametrize("who", ["anonymous", "regular user", "superuser"])
@pytest.mark.parametrize("path", ["/admin", "/admin/", "/admin/user/list"])
async def test_admin_answers_api_credentials_with_its_sign_in_page(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI, who: str, path: str
) -> None:
    # The admin has its own session (tests/admin): a bearer token, even a superuser's,
    # opens nothing there; everyone lands on the sign-in page and sees no data.
    victim = await make_user()
    headers = {}
    if who == "regular user":
        headers = (await make_user()).headers
    elif who == "superuser":
        headers = (await _superuser(client, make_user, app)).headers

    response = await client.get(path, headers=headers, follow_redirects=True)

    assert response.status_code == 200, response.text
    assert response.url.path == "/admin/login"
    assert victim.email not in response.text
