"""The OpenAPI document describes what the server enforces (issue 9 §3).

For edge values of every constrained string field, the server accepts a body exactly
when the published schema says it is valid, judged by jsonschema-rs: the validator
schemathesis uses, with its own (Rust) regex engine, not Python's.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI

from taskhub.schemas import SPACE
from tests.support.factories import MakeProject, MakeTask, MakeUser, User

EDGES = [
    "x",
    "",
    " ",
    "   \t\n",
    "\x1c",  # str.isspace() but not ECMA-262 \s
    "\ufeff",  # ECMA-262 \s but not str.isspace()
    "\u200b",  # zero-width space: in neither
    "\x85",
    "\u3000",
    "\u3000x\u3000",
    "a\x00b",
    "\x00",
    " \x00 ",
    "été 🌞",
    "x" * 50,
    "x" * 51,
    "x" * 100,
    "x" * 101,
    "x" * 200,
    "x" * 201,
]


def _schema(app: FastAPI, name: str) -> dict[str, Any]:
    """A component schema, standalone: its references point into its own `$defs`."""
    components = json.dumps(app.openapi()["components"]["schemas"])
    schemas = json.loads(components.replace("#/components/schemas/", "#/$defs/"))
    return {**schemas[name], "$defs": schemas}


def _valid(schema: dict[str, Any], body: dict[str, Any]) -> bool:
    return bool(jsonschema_rs.validator_for(schema).is_valid(body))


def test_space_is_exactly_what_str_strip_removes() -> None:
    spaces = re.compile(f"[{SPACE}]")
    disagree = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if chr(code).isspace() != bool(spaces.fullmatch(chr(code)))
    ]

    assert disagree == []


async def _agreement(
    client: httpx.AsyncClient,
    app: FastAPI,
    user: User,
    schema_name: str,
    method: str,
    path: str,
    bodies: list[dict[str, Any]],
) -> list[str]:
    schema = _schema(app, schema_name)
    disagreements = []
    for body in bodies:
        expected = _valid(schema, body)
        response = await client.request(method, path, json=body, headers=user.headers)
        assert response.status_code in (200, 201, 422), response.text
        if (response.status_code != 422) != expected:
            disagreements.append(f"{body!r}: schema {expected}, server {response.status_code}")
    return disagreements


@pytest.mark.parametrize(
    ("field", "wrap"),
    [
        ("title", lambda s: {"title": s}),
        ("description", lambda s: {"title": "t", "description": s}),
        ("labels", lambda s: {"title": "t", "labels": [s]}),
    ],
)
async def test_task_create_fields_agree_with_the_schema(
    client: httpx.AsyncClient, app: FastAPI, make_user: MakeUser, field: str, wrap: Any
) -> None:
    alice = await make_user()
    bodies = [wrap(edge) for edge in EDGES]

    disagreements = await _agreement(
        client, app, alice, "TaskCreate", "POST", "/api/v1/tasks", bodies
    )

    assert disagreements == []


async def test_task_update_title_agrees_with_the_schema(
    client: httpx.AsyncClient, app: FastAPI, make_user: MakeUser, make_task: MakeTask
) -> None:
    alice = await make_user()
    task = await make_task(alice, title="t")

    disagreements = await _agreement(
        client,
        app,
        alice,
        "TaskUpdate",
        "PATCH",
        f"/api/v1/tasks/{task['id']}",
        [{"title": edge} for edge in EDGES],
    )

    assert disagreements == []


@pytest.mark.parametrize("field", ["name", "description"])
async def test_project_fields_agree_with_the_schema(
    client: httpx.AsyncClient,
    app: FastAPI,
    make_user: MakeUser,
    make_project: MakeProject,
    field: str,
) -> None:
    alice = await make_user()
    project = await make_project(alice)
    bodies = [{field: edge} for edge in EDGES]

    created = await _agreement(
        client,
        app,
        alice,
        "ProjectCreate",
        "POST",
        "/api/v1/projects",
        [{"name": "p", **body} for body in bodies],
    )
    updated = await _agreement(
        client, app, alice, "ProjectUpdate", "PATCH", f"/api/v1/projects/{project['id']}", bodies
    )

    assert created == []
    assert updated == []


async def test_comment_body_agrees_with_the_schema(
    client: httpx.AsyncClient, app: FastAPI, make_user: MakeUser
) -> None:
    alice = await make_user()
    task = await client.post("/api/v1/tasks", json={"title": "t"}, headers=alice.headers)
    assert task.status_code == 201, task.text
    comments = f"/api/v1/tasks/{task.json()['id']}/comments"
    posted = await client.post(comments, json={"body": "c"}, headers=alice.headers)
    assert posted.status_code == 201, posted.text
    bodies = [{"body": edge} for edge in [*EDGES, "x" * 10_000, "x" * 10_001]]

    created = await _agreement(client, app, alice, "CommentIn", "POST", comments, bodies)
    comment = f"/api/v1/comments/{posted.json()['id']}"
    updated = await _agreement(client, app, alice, "CommentIn", "PATCH", comment, bodies)

    assert created == []
    assert updated == []


async def test_register_display_name_agrees_with_the_schema(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    anonymous = User(id="", email="", password="", access_token="", refresh_token="")
    bodies = [
        {"email": f"name{i}@example.com", "password": "long enough password", "display_name": e}
        for i, e in enumerate(EDGES)
    ]

    disagreements = await _agreement(
        client, app, anonymous, "UserCreate", "POST", "/api/v1/auth/register", bodies
    )

    assert disagreements == []


@pytest.mark.parametrize(
    "due_at",
    [
        "2030-01-01T00:00:00Z",
        "2030-01-01t00:00:00z",
        "2030-01-01T00:00:00.123456789+05:30",
        "2030-01-01T00:00:00.1234567891Z",
        "2030-01-01T00:00:00",
        "2030-01-01",
        "1893456000",
        "2030-01-01T00:00:00+0530",
    ],
)
async def test_due_at_agrees_with_the_schema(
    client: httpx.AsyncClient, app: FastAPI, make_user: MakeUser, due_at: str
) -> None:
    alice = await make_user()

    disagreements = await _agreement(
        client,
        app,
        alice,
        "TaskCreate",
        "POST",
        "/api/v1/tasks",
        [{"title": "t", "due_at": due_at}],
    )

    assert disagreements == []


@pytest.mark.parametrize(
    ("username", "password"), [("", "x"), ("x", ""), ("", ""), ("x", "x"), ("\u3000", " ")]
)
async def test_the_login_form_agrees_with_the_schema(
    client: httpx.AsyncClient, app: FastAPI, username: str, password: str
) -> None:
    form = {"username": username, "password": password}
    expected = _valid(_schema(app, "LoginForm"), form)

    response = await client.post("/api/v1/auth/token", data=form)

    # Schema-valid but unknown credentials are 401; only a schema-invalid form is 422.
    assert response.status_code == (401 if expected else 422), response.text
