"""OWASP API4:2023 Unrestricted Resource Consumption.

Every size a client controls is bounded and refused early with a 4xx: page sizes, body
size (SPEC §2: 1 MiB), JSON depth, list lengths, query strings, headers. A burst of such
requests must neither take long nor leave the server's memory grown.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import AsyncIterator, Awaitable

import httpx
import pytest
from fastapi import FastAPI

from tests.owasp.support import raw_get, rss_bytes
from tests.support.factories import MakeTask, User
from tests.support.http import expect

TEN_MIB = 10 * 1024 * 1024
FAST_SECONDS = 2.0
JSON = {"Content-Type": "application/json"}


async def _timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await request
    return response, time.perf_counter() - started


def _assert_refused(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])


@pytest.mark.parametrize("path", ["/api/v1/tasks", "/api/v1/projects"])
@pytest.mark.parametrize("limit", ["100000", "101", "0", "-1", str(10**30), "1e9"])
async def test_an_out_of_range_page_size_is_422(
    client: httpx.AsyncClient, alice: User, path: str, limit: str
) -> None:
    expect(await client.get(path, params={"limit": limit}, headers=alice.headers), 422)


@pytest.mark.parametrize("authenticated", [True, False], ids=["authenticated", "anonymous"])
async def test_a_10_mib_body_is_413_at_once(
    client: httpx.AsyncClient, alice: User, authenticated: bool
) -> None:
    body = b'{"title": "' + b"x" * TEN_MIB + b'"}'
    path = "/api/v1/tasks" if authenticated else "/api/v1/auth/register"
    headers = {**alice.headers, **JSON} if authenticated else JSON

    response, elapsed = await _timed(client.post(path, content=body, headers=headers))

    assert response.status_code == 413, response.text
    assert isinstance(response.json()["detail"], str)
    assert elapsed < FAST_SECONDS


async def test_a_10_mib_chunked_body_is_413_without_reading_it_all(
    client: httpx.AsyncClient, alice: User
) -> None:
    sent = 0
    chunk = b"x" * 65536

    async def stream() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"title": "'
        while sent < TEN_MIB:
            sent += len(chunk)
            yield chunk

    response, elapsed = await _timed(
        client.post("/api/v1/tasks", content=stream(), headers={**alice.headers, **JSON})
    )

    assert response.status_code == 413, response.text
    assert elapsed < FAST_SECONDS


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"title": "t", "labels": [' + b"{" * 100_000 + b"]}",
        b"[" * 500_000,
    ],
    ids=["arrays", "objects", "unbalanced-in-field", "unterminated-half-mib"],
)
async def test_deeply_nested_json_is_refused_quickly(
    client: httpx.AsyncClient, alice: User, body: bytes
) -> None:
    response, elapsed = await _timed(
        client.post("/api/v1/tasks", content=body, headers={**alice.headers, **JSON})
    )

    _assert_refused(response)
    assert elapsed < FAST_SECONDS


@pytest.mark.parametrize("label_length", [1, 50])
async def test_ten_thousand_labels_are_422_quickly(
    client: httpx.AsyncClient, alice: User, label_length: int
) -> None:
    labels = [f"{i:0{label_length}d}"[-label_length:] for i in range(10_000)]

    response, elapsed = await _timed(
        client.post("/api/v1/tasks", json={"title": "t", "labels": labels}, headers=alice.headers)
    )

    assert response.status_code == 422, response.text
    assert len(response.content) < 10_000  # the 422 does not list every label back
    assert elapsed < FAST_SECONDS


@pytest.mark.parametrize(
    "query",
    [
        b"q=" + b"a" * 100_000,
        b"q=" + b"a+" * 50_000,
        b"label=x&" * 10_000,
        b"cursor=" + b"c" * 100_000,
        b"project_id=" + b"p" * 100_000,
        b"due_after=" + b"9" * 100_000,
        b"order_by=" + b"o" * 100_000,
        b"limit=" + b"9" * 100_000,
    ],
    ids=[
        "q-100kb",
        "q-50000-words",
        "label-x10000",
        "cursor",
        "project_id",
        "due_after",
        "order_by",
        "limit",
    ],
)
async def test_a_huge_query_string_is_refused_quickly(
    alice: User, app: FastAPI, query: bytes
) -> None:
    started = time.perf_counter()
    status, body = await raw_get(app, "/api/v1/tasks", query, alice.headers)
    elapsed = time.perf_counter() - started

    assert 400 <= status < 500, (status, body[:200])
    assert len(body) < 10_000  # nothing of the input is echoed back
    assert elapsed < FAST_SECONDS


async def test_the_longest_allowed_search_stays_fast(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    for i in range(20):
        await make_task(alice, title=f"task {i}", description="lorem ipsum " * 100)

    response, elapsed = await _timed(
        client.get("/api/v1/tasks", params={"q": "a " * 100}, headers=alice.headers)
    )

    assert response.status_code == 200, response.text
    assert elapsed < FAST_SECONDS


async def test_a_huge_if_match_header_is_refused(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    if_match = ", ".join(f'"{i}"' for i in range(20_000))

    response = await client.patch(
        f"/api/v1/tasks/{task['id']}",
        json={"title": "changed"},
        headers={**alice.headers, "If-Match": if_match},
    )

    _assert_refused(response)
    after = await client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers)
    assert after.json()["version"] == 1


# --- memory ---------------------------------------------------------------------------------


async def _hostile_burst(
    app: FastAPI, client: httpx.AsyncClient, alice: User, rounds: int
) -> set[int]:
    """Statuses of `rounds` of every hostile request above (each body built once)."""
    auth = {**alice.headers, **JSON}
    huge = b'{"title": "' + b"x" * TEN_MIB + b'"}'
    nested = b"[" * 100_000 + b"]" * 100_000
    labels = json.dumps({"title": "t", "labels": ["l"] * 10_000}).encode()
    statuses = set()
    for _ in range(rounds):
        for body in (huge, nested, labels):
            statuses.add(
                (await client.post("/api/v1/tasks", content=body, headers=auth)).status_code
            )
        for query in (b"q=" + b"a" * 100_000, b"limit=100000", b"label=x&" * 10_000):
            status, _ = await raw_get(app, "/api/v1/tasks", query, alice.headers)
            statuses.add(status)
    return statuses


async def test_a_burst_of_hostile_requests_leaves_memory_where_it_was(
    alice: User, app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _hostile_burst(app, client, alice, rounds=2)  # warm up allocator pools and caches
    gc.collect()
    before = rss_bytes()

    statuses = await _hostile_burst(app, client, alice, rounds=20)
    gc.collect()
    grown = rss_bytes() - before

    assert all(400 <= s < 500 for s in statuses), statuses
    assert grown < 50 * 1024 * 1024, f"RSS grew by {grown / 2**20:.1f} MiB"
