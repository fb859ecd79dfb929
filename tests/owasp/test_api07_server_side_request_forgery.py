"""OWASP API7:2023 Server Side Request Forgery.

Webhooks (SPEC §9) are the one feature that calls a URL a client gives: their `url` is
vetted at creation and update (loopback, private, link-local, CGNAT, metadata, IPv6
ULA/mapped forms and numeric spellings refused with 422) and again at every delivery,
so a target that became private later (DNS rebinding, or the deployment flag turned
off) is never contacted. Everywhere else the server never connects to an address a
client puts in a field or header, and URL-shaped extra fields are refused. The first
guard FAILS as soon as another URL-typed request field or a callback appears; whoever
adds one must add SSRF cases for it here and list the field in SSRF_TESTED.
(Redirects and rebinding at the socket level: tests/webhooks/test_delivery.py.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from taskhub.app import create_app
from tests.owasp.support import operations
from tests.support.app import build_settings, make_client, running
from tests.support.databases import empty_database, migrate
from tests.support.factories import MakeTask, User, register
from tests.support.http import expect
from tests.webhooks.helpers import deliveries_when

# "<operation_id> <location>.<field>" of every URL-typed input that has SSRF cases here.
SSRF_TESTED = {"create_webhook body.url", "update_webhook body.url"}
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
    # The field's own name, not the operation's ("create_webhook body" is no URL), and
    # an object id (`webhook_id`) is not one either.
    last = name.split(" ", 1)[-1].rsplit(".", 1)[-1].lower()
    if last.endswith("_id") or last in ("body", "query", "path", "header"):
        return False
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


# --- webhooks: the URL field that exists -------------------------------------------------

UNSAFE_TARGETS = [
    "http://127.0.0.1:{port}/hook",
    "http://localhost:{port}/hook",
    "http://2130706433:{port}/",  # 127.0.0.1 in decimal
    "http://0x7f.1:{port}/",
    "http://[::1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # CGNAT
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00::1]/",  # IPv6 ULA
    "http://metadata.google.internal/",
    "http://user:pass@93.184.215.14/",  # userinfo
    "gopher://93.184.215.14/",
]


async def test_webhook_urls_to_private_targets_are_422_and_never_contacted(
    client: httpx.AsyncClient, alice: User, canary: tuple[str, list[bytes]]
) -> None:
    url, hits = canary
    port = url.rsplit(":", 1)[-1]
    public = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://93.184.215.14/hook", "events": ["comment.created"]},
        headers=alice.headers,
    )
    webhook = expect(public, 201)

    for target in (t.format(port=port) for t in UNSAFE_TARGETS):
        body = {"url": target, "events": ["task.created"]}
        created = await client.post("/api/v1/webhooks", json=body, headers=alice.headers)
        patched = await client.patch(
            f"/api/v1/webhooks/{webhook['id']}", json={"url": target}, headers=alice.headers
        )
        assert (created.status_code, patched.status_code) == (422, 422), (target, created.text)
        assert created.json()["detail"][0]["loc"] == ["body", "url"]

    listed = expect(await client.get("/api/v1/webhooks", headers=alice.headers), 200)
    assert [w["url"] for w in listed] == ["https://93.184.215.14/hook"]
    assert hits == []


async def test_a_webhook_target_that_is_no_longer_allowed_is_refused_at_delivery(
    tmp_path_factory: pytest.TempPathFactory, canary: tuple[str, list[bytes]]
) -> None:
    """Allowed when registered (a private deployment), refused once the flag is off."""
    url, hits = canary
    directory = tmp_path_factory.mktemp("ssrf")
    async with empty_database(directory, "taskhub_ssrf") as database_url:
        allowed = build_settings(database_url, directory, webhooks_allow_private=True)
        await migrate(allowed)
        async with running(create_app(allowed)) as app, make_client(app) as http:
            alice = await register(http)
            webhook = expect(
                await http.post(
                    "/api/v1/webhooks",
                    json={"url": f"{url}/hook", "events": ["task.updated"]},
                    headers=alice.headers,
                ),
                201,
            )
            task = expect(
                await http.post("/api/v1/tasks", json={"title": "t"}, headers=alice.headers), 201
            )
        refused = allowed.model_copy(update={"webhooks_allow_private": False})
        async with running(create_app(refused)) as app, make_client(app) as http:
            expect(
                await http.patch(
                    f"/api/v1/tasks/{task['id']}", json={"title": "u"}, headers=alice.headers
                ),
                200,
            )
            rows = await deliveries_when(
                http, alice, webhook["id"], lambda rows: bool(rows) and rows[0]["attempts"] >= 1
            )

    assert rows[0]["status"] == "pending", rows  # retried later, in case it is allowed again
    assert rows[0]["last_error"].startswith("refused:"), rows
    assert hits == []
