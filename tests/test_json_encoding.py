"""JSON bodies are UTF-8, nothing else (RFC 8259 §8.1; SPEC §2; issue 9 §2).

Python's json.loads would guess UTF-16 or UTF-32 from the NUL bytes and skip a UTF-8
byte order mark; the server refuses all of them with 422 on every route that takes JSON.
A BOM is refused rather than ignored (§8.1 lets a parser do either): a sender MUST NOT
add one, and a client that does should hear it from us.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.owasp.support import operations, unknown_id
from tests.support.factories import MakeTask, MakeUser, User

ENCODINGS = [
    "utf-16",  # with a BOM
    "utf-16-le",
    "utf-16-be",
    "utf-32",  # with a BOM
    "utf-32-le",
    "utf-32-be",
    "utf-8-sig",  # UTF-8 with a BOM
]
NOT_UTF8 = {"loc": ["body"], "type": "json_invalid"}


def _encoded(document: Any, encoding: str) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode(encoding)


def _json_operations(app: FastAPI) -> list[tuple[str, str, bool]]:
    """(METHOD, path with ids filled in, authenticated) of every operation taking JSON."""
    return sorted(
        (method, re.sub(r"\{[^}]+\}", unknown_id(), path), bool(operation.get("security")))
        for method, path, operation in operations(app).values()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    )


def _assert_not_utf8(response: httpx.Response) -> None:
    request = f"{response.request.method} {response.request.url.path}"
    assert response.status_code == 422, f"{request}: {response.status_code} {response.text}"
    error = response.json()["detail"][0]
    assert {"loc": error["loc"], "type": error["type"]} == NOT_UTF8, request


def test_the_walk_sees_the_json_routes(app: FastAPI) -> None:
    # Control: a walk that found no JSON routes would pass the next test vacuously.
    found = {(method, path.split("/")[3]) for method, path, _ in _json_operations(app)}

    assert {("POST", "tasks"), ("PATCH", "tasks"), ("POST", "auth"), ("PUT", "projects")} <= found


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_every_json_route_refuses_a_body_that_is_not_utf8(
    client: httpx.AsyncClient, app: FastAPI, make_user: MakeUser, encoding: str
) -> None:
    alice = await make_user()
    for method, path, authenticated in _json_operations(app):
        headers = {"Content-Type": "application/json"}
        if authenticated:
            headers.update(alice.headers)

        response = await client.request(
            method, path, content=_encoded({"title": "x"}, encoding), headers=headers
        )

        _assert_not_utf8(response)


async def _tasks(client: httpx.AsyncClient, user: User) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/tasks", headers=user.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_utf8_is_accepted_and_the_same_task_in_utf16_is_not(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    headers = {**alice.headers, "Content-Type": "application/json"}
    task = {"title": "Été — 夏 🌞", "labels": ["ünïcode"]}

    accepted = await client.post("/api/v1/tasks", content=_encoded(task, "utf-8"), headers=headers)
    refused = await client.post("/api/v1/tasks", content=_encoded(task, "utf-16"), headers=headers)

    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["title"] == task["title"]
    _assert_not_utf8(refused)
    assert [t["id"] for t in await _tasks(client, alice)] == [accepted.json()["id"]]


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_a_patch_in_another_encoding_changes_nothing(
    client: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask, encoding: str
) -> None:
    alice = await make_user()
    task = await make_task(alice, title="before")

    response = await client.patch(
        f"/api/v1/tasks/{task['id']}",
        content=_encoded({"title": "after"}, encoding),
        headers={**alice.headers, "Content-Type": "application/json"},
    )

    _assert_not_utf8(response)
    assert [t["title"] for t in await _tasks(client, alice)] == ["before"]


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_register_refuses_a_body_that_is_not_utf8(
    client: httpx.AsyncClient, encoding: str
) -> None:
    body = {"email": f"{encoding}@example.com", "password": "long enough password"}

    response = await client.post(
        "/api/v1/auth/register",
        content=_encoded(body, encoding),
        headers={"Content-Type": "application/json"},
    )

    _assert_not_utf8(response)


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-16", "application/merge-patch+json", "APPLICATION/JSON"],
)
async def test_a_charset_or_json_suffix_does_not_change_the_rule(
    client: httpx.AsyncClient, make_user: MakeUser, content_type: str
) -> None:
    alice = await make_user()

    response = await client.post(
        "/api/v1/tasks",
        content=_encoded({"title": "x"}, "utf-16"),
        headers={**alice.headers, "Content-Type": content_type},
    )

    _assert_not_utf8(response)


@pytest.mark.parametrize(
    "body",
    [b'{"title": "\xed\xa0\x80"}', b'{"title": "\xc0\xaf"}', b'{"title": "\xf4\x90\x80\x80"}'],
    ids=["encoded-surrogate", "overlong", "above-u10ffff"],
)
async def test_byte_sequences_that_are_not_utf8_are_422(
    client: httpx.AsyncClient, make_user: MakeUser, body: bytes
) -> None:
    alice = await make_user()

    response = await client.post(
        "/api/v1/tasks", content=body, headers={**alice.headers, "Content-Type": "application/json"}
    )

    _assert_not_utf8(response)
    assert await _tasks(client, alice) == []


async def test_a_chunked_body_is_held_to_the_same_rule(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    encoded = _encoded({"title": "chunked"}, "utf-16-le")

    async def chunks() -> Any:
        yield encoded[:7]
        yield encoded[7:]

    response = await client.post(
        "/api/v1/tasks",
        content=chunks(),
        headers={**alice.headers, "Content-Type": "application/json"},
    )

    _assert_not_utf8(response)
