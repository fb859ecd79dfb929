"""The OpenAPI document declares what the server does (issue 5 §1)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support.factories import MakeUser

METHODS = ("get", "put", "post", "delete", "patch")
ANONYMOUS = {"register", "login", "refresh_token", "logout", "healthz", "readyz", "metrics"}


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_has_an_explicit_operation_id(app: FastAPI) -> None:
    # FastAPI's fallback ids embed the path and method (`create_task_api_v1_tasks_post`).
    generated = [
        f"{method} {path}: {operation.get('operationId')}"
        for method, path, operation in operations(app)
        if "operationId" not in operation or "api_v1" in operation["operationId"]
    ]

    assert generated == []


def test_every_authenticated_operation_declares_401_429_and_503(app: FastAPI) -> None:
    undeclared = [
        f"{method} {path}"
        for method, path, operation in operations(app)
        if operation["operationId"] not in ANONYMOUS
        and not {"401", "429", "503"} <= operation["responses"].keys()
    ]

    assert undeclared == []


def test_every_operation_with_a_body_declares_413_and_422(app: FastAPI) -> None:
    undeclared = [
        f"{method} {path}"
        for method, path, operation in operations(app)
        if "requestBody" in operation and not {"413", "422"} <= operation["responses"].keys()
    ]

    assert undeclared == []


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/api/v1/tasks", "GET, POST"),
        ("PUT", "/api/v1/tasks/00000000-0000-0000-0000-000000000001", "DELETE, GET, PATCH"),
        ("POST", "/api/v1/projects/x/members/y", "DELETE, PUT"),
    ],
)
async def test_method_not_allowed_lists_every_method_of_the_path(
    client: httpx.AsyncClient, make_user: MakeUser, method: str, path: str, allow: str
) -> None:
    # With credentials: without them every /api/v1 request is 401 first (SPEC §2).
    alice = await make_user()

    response = await client.request(method, path, headers=alice.headers)

    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
