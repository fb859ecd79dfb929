"""OWASP API7:2023 Server Side Request Forgery.

No endpoint fetches a URL today: webhooks (SPEC §7) will be the first. Until then these
cases guard that it stays so: the published schema has no URL-typed input, the server
never connects to an address a client puts in any field or header, and URL-shaped extra
fields are refused. The first guard FAILS as soon as a URL-typed request field or a
callback appears; whoever adds one must add SSRF cases for it here (private, loopback
and link-local targets, redirects, DNS rebinding) and list the field in SSRF_TESTED.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.owasp.support import operations
from tests.support.factories import MakeTask, User
from tests.support.http import expect

# "<operation_id> <location>.<field>" of every URL-typed input that has SSRF cases here.
SSRF_TESTED: set[str] = set()
URL_FORMATS = {"uri", "uri-reference", "iri", "iri-reference", "url", "uri-template", "hostname"}
URL_WORDS = ("url", "uri", "href", "link", "callback", "webhook", "endpoint", "redirect", "host")


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _fields(
    document: dict[str, Any], schema: dict[str, Any], prefix: str, seen: frozenset[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(dotted name, schema) of every property reachable from `schema`."""
    ref = schema.get("$ref")
    if ref is not None:
        if ref in seen:
            return
        seen = seen | {ref}
    schema = _resolve(document, schema)
    yield prefix, schema
    for name, inner in schema.get("properties", {}).items():
        yield from _fields(document, inner, f"{prefix}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _fields(document, schema[key], f"{prefix}[]", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for inner in schema.get(key, []):
            yield from _fields(document, inner, prefix, seen)


def _request_inputs(app: FastAPI) -> Iterator[tuple[str, dict[str, Any]]]:
    document = app.openapi()
    for operation_id, (_, _, operation) in operations(app).items():
        for parameter in operation.get("parameters", []):
            where = f"{operation_id} {parameter['in']}.{parameter['name']}"
            yield from _fields(document, parameter.get("schema", {}), where, frozenset())
        for media in operation.get("requestBody", {}).get("content", {}).values():
            yield from _fields(
                document, media.get("schema", {}), f"{operation_id} body", frozenset()
            )


def _looks_like_a_url(name: str, schema: dict[str, Any]) -> bool:
    last = name.rsplit(".", 1)[-1].lower()
    return schema.get("format") in URL_FORMATS or any(word in last for word in URL_WORDS)


def test_no_request_field_takes_a_url_without_ssrf_cases(app: FastAPI) -> None:
    url_inputs = {name for name, schema in _request_inputs(app) if _looks_like_a_url(name, schema)}

    assert url_inputs - SSRF_TESTED == set(), (
        "a request field takes a URL: add SSRF cases for it to this module, then list it "
        "in SSRF_TESTED"
    )


def test_the_inventory_walk_sees_every_request_field(app: FastAPI) -> None:
    # Control for the guard above: it must see nested body fields and query parameters.
    names = {name for name, _ in _request_inputs(app)}

    assert {"create_task body.labels[]", "list_tasks query.q", "login body.username"} <= names


def test_no_operation_declares_callbacks_or_webhooks(app: FastAPI) -> None:
    document = app.openapi()
    with_callbacks = [name for name, (_, _, op) in operations(app).items() if op.get("callbacks")]

    assert document.get("webhooks", {}) == {}
    assert with_callbacks == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/tasks", {"title": "t", "webhook_url": "http://169.254.169.254/"}),
        ("POST", "/api/v1/tasks", {"title": "t", "callback": "http://127.0.0.1:6379/"}),
        ("PATCH", "/api/v1/tasks/{task}", {"attachment_url": "file:///etc/passwd"}),
        ("POST", "/api/v1/projects", {"name": "p", "icon_url": "http://[::1]:5432/"}),
        (
            "POST",
            "/api/v1/auth/register",
            {"email": "e@example.com", "password": "x" * 12, "avatar_url": "http://10.0.0.1/"},
        ),
    ],
    ids=["task-webhook_url", "task-callback", "task-attachment_url", "project-icon", "avatar"],
)
async def test_url_fields_the_contract_does_not_define_are_422(
    client: httpx.AsyncClient,
    alice: User,
    make_task: MakeTask,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    task = await make_task(alice)

    expect(
        await client.request(
            method, path.format(task=task["id"]), json=body, headers=alice.headers
        ),
        422,
    )


# --- the canary: a listener no request may make the server contact --------------------------


@pytest.fixture
async def canary() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A TCP listener on loopback: (its http:// URL, the first bytes of each connection)."""
    hits: list[bytes] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            hits.append(await asyncio.wait_for(reader.read(200), timeout=1))
        except TimeoutError:
            hits.append(b"")
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", hits
    finally:
        server.close()
        await server.wait_closed()


async def test_urls_in_every_field_and_header_are_never_fetched(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask, canary: tuple[str, list[bytes]]
) -> None:
    url, hits = canary
    task = await make_task(
        alice, title=f"{url}/title", description=f"see {url}/description", labels=[f"{url}/l"]
    )
    headers = {
        **alice.headers,
        "Referer": f"{url}/referer",
        "Origin": url,
        "X-Forwarded-Host": url.removeprefix("http://"),
        "Forwarded": f"host={url.removeprefix('http://')}",
        "X-Callback-URL": f"{url}/cb",
    }

    answers = [
        await client.patch(
            f"/api/v1/tasks/{task['id']}",
            json={"description": f"{url}/patched", "done": True},
            headers=headers,
        ),
        await client.get("/api/v1/tasks", params={"q": url, "label": f"{url}/l"}, headers=headers),
        await client.post("/api/v1/projects", json={"name": f"{url}/project"}, headers=headers),
        await client.get(f"/api/v1/tasks/{task['id']}/activity", headers=headers),
    ]
    await asyncio.sleep(0.5)  # room for any background job (activity) to run

    assert [a.status_code for a in answers] == [200, 200, 201, 200], [a.text for a in answers]
    assert hits == []
