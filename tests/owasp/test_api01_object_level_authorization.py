"""OWASP API1:2023 Broken Object Level Authorization.

Every operation that takes an object id must answer someone else's object exactly like an
object that does not exist (SPEC §2: 404, no existence leak), and must leave it untouched.
The operation table is checked against the OpenAPI document, so a new id-taking route
cannot be added without joining these cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.owasp.support import operations, unknown_id
from tests.support.factories import Factories, MakeProject, MakeTask, MakeUser, User
from tests.support.pats import bearer, mint_token

# operation_id -> (method, path template, body Mallory sends). Mallory always tries the
# most damaging thing: renaming, deleting, making herself owner, removing the owner.
ID_OPERATIONS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "get_task": ("GET", "/api/v1/tasks/{task_id}", None),
    "update_task": ("PATCH", "/api/v1/tasks/{task_id}", {"title": "mallory was here"}),
    "delete_task": ("DELETE", "/api/v1/tasks/{task_id}", None),
    "list_task_activity": ("GET", "/api/v1/tasks/{task_id}/activity", None),
    "list_task_comments": ("GET", "/api/v1/tasks/{task_id}/comments", None),
    "create_comment": ("POST", "/api/v1/tasks/{task_id}/comments", {"body": "mallory was here"}),
    "get_comment": ("GET", "/api/v1/comments/{comment_id}", None),
    "update_comment": ("PATCH", "/api/v1/comments/{comment_id}", {"body": "mallory was here"}),
    "delete_comment": ("DELETE", "/api/v1/comments/{comment_id}", None),
    "similar_tasks": ("GET", "/api/v1/tasks/{task_id}/similar", None),
    "get_project": ("GET", "/api/v1/projects/{project_id}", None),
    "update_project": ("PATCH", "/api/v1/projects/{project_id}", {"name": "mallory's"}),
    "delete_project": ("DELETE", "/api/v1/projects/{project_id}", None),
    "list_project_members": ("GET", "/api/v1/projects/{project_id}/members", None),
    "put_project_member": (
        "PUT",
        "/api/v1/projects/{project_id}/members/{user_id}",
        {"role": "owner"},
    ),
    "remove_project_member": ("DELETE", "/api/v1/projects/{project_id}/members/{user_id}", None),
    "delete_token": ("DELETE", "/api/v1/tokens/{token_id}", None),
}
# Id-taking operations on other kinds of object, and the test that covers each.
COVERED_ELSEWHERE = {
    "get_import": "tests/transfer/test_http.py::test_another_users_import_is_not_found",
}
# Webhooks are their owner's alone: Mallory tries to read, repoint, delete and fire Alice's.
WEBHOOK_OPERATIONS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "get_webhook": ("GET", "/api/v1/webhooks/{webhook_id}", None),
    "update_webhook": ("PATCH", "/api/v1/webhooks/{webhook_id}", {"events": ["task.created"]}),
    "delete_webhook": ("DELETE", "/api/v1/webhooks/{webhook_id}", None),
    "list_webhook_deliveries": ("GET", "/api/v1/webhooks/{webhook_id}/deliveries", None),
    "test_webhook": ("POST", "/api/v1/webhooks/{webhook_id}/test", None),
}
# A public address literal (no DNS); subscribed to an event these tests never cause.
PUBLIC_HOOK = {"url": "https://93.184.215.14/hook", "events": ["comment.created"]}
TASK_OPERATIONS = [name for name, (_, path, _) in ID_OPERATIONS.items() if "{task_id}" in path]
COMMENT_OPERATIONS = [n for n, (_, path, _) in ID_OPERATIONS.items() if "{comment_id}" in path]
PROJECT_OPERATIONS = [n for n, (_, path, _) in ID_OPERATIONS.items() if "{project_id}" in path]
MALFORMED_IDS = [
    "1",
    "not-a-uuid",
    "00000000-0000-0000-0000-00000000000g",
    "' OR 1=1 --",
    "x" * 300,
]


@dataclass
class Victim:
    user: User
    inbox_task: dict[str, Any]
    project: dict[str, Any]
    project_task: dict[str, Any]
    comments: list[dict[str, Any]]  # on the inbox task, on the project task


@pytest.fixture
async def alice(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_task: MakeTask,
    make_project: MakeProject,
) -> Victim:
    user = await make_user()
    project = await make_project(user, name="Alice's secret plans")
    inbox_task = await make_task(user, title="alice inbox")
    project_task = await make_task(user, title="alice project", project_id=project["id"])
    comments = []
    for task in (inbox_task, project_task):
        posted = await client.post(
            f"/api/v1/tasks/{task['id']}/comments", json={"body": "secret"}, headers=user.headers
        )
        assert posted.status_code == 201, posted.text
        comments.append(posted.json())
    return Victim(user, inbox_task, project, project_task, comments)


def _path(
    name: str, task_id: str = "", project_id: str = "", user_id: str = "", comment_id: str = ""
) -> tuple[str, str, dict[str, Any] | None]:
    method, template, body = ID_OPERATIONS[name]
    # A token id takes the task id's place: a task's id is an unknown token to everyone.
    path = template.format(
        task_id=task_id,
        project_id=project_id,
        user_id=user_id,
        token_id=task_id,
        comment_id=comment_id,
    )
    return method, path, body


def _target_user(name: str, alice: Victim, mallory: User) -> str:
    # PUT: Mallory tries to add herself; DELETE: she tries to remove the owner.
    return mallory.id if name == "put_project_member" else alice.user.id


async def _as(client: httpx.AsyncClient, user: User, request: tuple[str, str, Any]) -> Any:
    method, path, body = request
    return await client.request(method, path, json=body, headers=user.headers)


def test_every_id_taking_operation_is_in_the_table(app: FastAPI) -> None:
    with_ids = {name for name, (_, path, _) in operations(app).items() if "{" in path}

    assert with_ids == set(ID_OPERATIONS) | set(COVERED_ELSEWHERE) | set(WEBHOOK_OPERATIONS)


async def test_another_users_webhook_is_answered_like_an_unknown_one_and_untouched(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice, mallory = await make_user(), await make_user()
    response = await client.post("/api/v1/webhooks", json=PUBLIC_HOOK, headers=alice.headers)
    assert response.status_code == 201, response.text
    webhook = {k: v for k, v in response.json().items() if k != "secret"}

    for method, template, body in WEBHOOK_OPERATIONS.values():
        foreign, unknown = [
            await client.request(
                method, template.format(webhook_id=i), json=body, headers=mallory.headers
            )
            for i in (webhook["id"], unknown_id())
        ]
        malformed = await client.request(
            method, template.format(webhook_id="not-a-uuid"), json=body, headers=mallory.headers
        )
        assert foreign.status_code == 404, (template, foreign.text)
        assert (foreign.status_code, foreign.json()) == (unknown.status_code, unknown.json())
        assert (malformed.status_code, malformed.json()) == (404, unknown.json())

    shown = await client.get(f"/api/v1/webhooks/{webhook['id']}", headers=alice.headers)
    deliveries = await client.get(
        f"/api/v1/webhooks/{webhook['id']}/deliveries", headers=alice.headers
    )
    assert shown.json() == webhook
    assert deliveries.json() == []


@pytest.mark.parametrize("where", ["inbox", "project"])
@pytest.mark.parametrize("name", TASK_OPERATIONS)
async def test_another_users_task_is_answered_like_an_unknown_one(
    client: httpx.AsyncClient, make_user: MakeUser, alice: Victim, name: str, where: str
) -> None:
    mallory = await make_user()
    task = alice.inbox_task if where == "inbox" else alice.project_task

    foreign = await _as(client, mallory, _path(name, task_id=task["id"]))
    unknown = await _as(client, mallory, _path(name, task_id=unknown_id()))

    assert foreign.status_code == 404, foreign.text
    assert (foreign.status_code, foreign.json()) == (unknown.status_code, unknown.json())


@pytest.mark.parametrize("where", [0, 1], ids=["inbox", "project"])
@pytest.mark.parametrize("name", COMMENT_OPERATIONS)
async def test_another_users_comment_is_answered_like_an_unknown_one(
    client: httpx.AsyncClient, make_user: MakeUser, alice: Victim, name: str, where: int
) -> None:
    mallory = await make_user()

    foreign = await _as(client, mallory, _path(name, comment_id=alice.comments[where]["id"]))
    unknown = await _as(client, mallory, _path(name, comment_id=unknown_id()))

    assert foreign.status_code == 404
    assert (foreign.status_code, foreign.json()) == (unknown.status_code, unknown.json())


@pytest.mark.parametrize("name", PROJECT_OPERATIONS)
async def test_another_users_project_is_answered_like_an_unknown_one(
    client: httpx.AsyncClient, make_user: MakeUser, alice: Victim, name: str
) -> None:
    mallory = await make_user()
    user_id = _target_user(name, alice, mallory)

    foreign = await _as(
        client, mallory, _path(name, project_id=alice.project["id"], user_id=user_id)
    )
    unknown = await _as(client, mallory, _path(name, project_id=unknown_id(), user_id=user_id))

    assert foreign.status_code == 404, foreign.text
    assert (foreign.status_code, foreign.json()) == (unknown.status_code, unknown.json())


async def test_every_attempt_on_another_users_objects_leaves_them_unchanged(
    client: httpx.AsyncClient, make_user: MakeUser, alice: Victim
) -> None:
    mallory = await make_user()
    for name in ID_OPERATIONS:
        for task, comment in zip(
            (alice.inbox_task, alice.project_task), alice.comments, strict=True
        ):
            user_id = _target_user(name, alice, mallory)
            request = _path(name, task["id"], alice.project["id"], user_id, comment["id"])
            await _as(client, mallory, request)

    tasks = [
        (await client.get(f"/api/v1/tasks/{t['id']}", headers=alice.user.headers)).json()
        for t in (alice.inbox_task, alice.project_task)
    ]
    project = await client.get(
        f"/api/v1/projects/{alice.project['id']}", headers=alice.user.headers
    )
    members = await client.get(
        f"/api/v1/projects/{alice.project['id']}/members", headers=alice.user.headers
    )
    assert tasks == [alice.inbox_task, alice.project_task]
    comments = [
        (await client.get(f"/api/v1/tasks/{t['id']}/comments", headers=alice.user.headers)).json()
        for t in (alice.inbox_task, alice.project_task)
    ]
    assert comments == [{"items": [c], "next_cursor": None} for c in alice.comments]
    assert project.json() == alice.project
    assert [(m["user_id"], m["role"]) for m in members.json()] == [(alice.user.id, "owner")]
    mallorys_projects = await client.get("/api/v1/projects", headers=mallory.headers)
    assert mallorys_projects.json()["items"] == []


@pytest.mark.parametrize("name", list(ID_OPERATIONS))
async def test_a_malformed_id_is_answered_like_an_unknown_one(
    client: httpx.AsyncClient, make_user: MakeUser, name: str
) -> None:
    mallory = await make_user()
    unknown = await _as(
        client, mallory, _path(name, unknown_id(), unknown_id(), mallory.id, unknown_id())
    )

    answers = [
        await _as(client, mallory, _path(name, bad, bad, mallory.id, bad)) for bad in MALFORMED_IDS
    ]

    assert unknown.status_code == 404, unknown.text
    assert {(a.status_code, a.json()["detail"]) for a in answers} == {
        (404, unknown.json()["detail"])
    }


# --- ids inside bodies and filters --------------------------------------------------------


async def test_list_filtered_on_another_users_project_is_answered_like_an_unknown_one(
    client: httpx.AsyncClient, make_user: MakeUser, alice: Victim
) -> None:
    mallory = await make_user()
    extra = {"done": "false", "order_by": "priority", "q": "secret", "limit": "1"}

    foreign = await client.get(
        "/api/v1/tasks",
        params={"project_id": alice.project["id"], **extra},
        headers=mallory.headers,
    )
    unknown = await client.get(
        "/api/v1/tasks", params={"project_id": unknown_id(), **extra}, headers=mallory.headers
    )

    assert foreign.status_code == 404, foreign.text
    assert foreign.json() == unknown.json()
    assert "alice" not in foreign.text


@pytest.mark.parametrize(
    ("method", "field", "kind"),
    [
        ("POST", "project_id", "project"),
        ("POST", "parent_id", "task"),
        ("PATCH", "project_id", "project"),
        ("PATCH", "parent_id", "task"),
    ],
)
async def test_a_reference_to_another_users_object_in_a_body_is_answered_like_an_unknown_one(
    client: httpx.AsyncClient,
    factories: Factories,
    alice: Victim,
    method: str,
    field: str,
    kind: str,
) -> None:
    mallory = await factories.user()
    own = await factories.task(mallory)
    path = "/api/v1/tasks" if method == "POST" else f"/api/v1/tasks/{own['id']}"
    target = alice.project["id"] if kind == "project" else alice.inbox_task["id"]

    async def send(value: str) -> httpx.Response:
        body = {"title": "mallory's", field: value}
        return await client.request(method, path, json=body, headers=mallory.headers)

    foreign, unknown = await send(target), await send(unknown_id())

    assert foreign.status_code == 404, foreign.text
    assert (foreign.status_code, foreign.json()) == (unknown.status_code, unknown.json())
    unchanged = await client.get(f"/api/v1/tasks/{own['id']}", headers=mallory.headers)
    assert unchanged.json()["version"] == 1


async def test_the_default_list_shows_none_of_another_users_tasks(
    client: httpx.AsyncClient, factories: Factories, alice: Victim
) -> None:
    mallory = await factories.user()
    own = await factories.task(mallory)

    pages = [
        await client.get("/api/v1/tasks", params=params, headers=mallory.headers)
        for params in ({}, {"q": "alice"}, {"order_by": "position"}, {"done": "false"})
    ]

    assert [[t["id"] for t in p.json()["items"]] for p in pages] == [
        [own["id"]],
        [],
        [own["id"]],
        [own["id"]],
    ]


async def test_another_users_token_is_answered_like_an_unknown_one_and_keeps_working(
    client: httpx.AsyncClient, make_user: MakeUser, alice: Victim
) -> None:
    mallory = await make_user()
    token = await mint_token(client, alice.user.headers, ["tasks:read"])

    foreign = await client.delete(f"/api/v1/tokens/{token['id']}", headers=mallory.headers)
    unknown = await client.delete(f"/api/v1/tokens/{unknown_id()}", headers=mallory.headers)

    assert foreign.status_code == 404, foreign.text
    assert (foreign.status_code, foreign.json()) == (unknown.status_code, unknown.json())
    still = await client.get("/api/v1/tasks", headers=bearer(token["token"]))
    assert still.status_code == 200, still.text
    listed = await client.get("/api/v1/tokens", headers=mallory.headers)
    assert listed.json()["items"] == []
