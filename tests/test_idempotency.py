"""Idempotency-Key on POST (SPEC §10): one execution per (caller, key), its answer replayed.

The race across two server processes sharing PostgreSQL and Redis is in
tests/scaleout/test_idempotency_race.py; here one app, on either backend.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Response
from sqlalchemy import func, select, update

from taskhub.app import create_app
from taskhub.db import utcnow
from taskhub.idempotency import store
from taskhub.idempotency.middleware import IdempotencyMiddleware, fingerprint
from taskhub.idempotency.models import IdempotencyKey
from taskhub.jobs.maintenance import run_maintenance
from taskhub.limits.memory import InMemoryRateLimiter
from taskhub.settings import Settings
from tests.support.app import build_settings, make_client, running
from tests.support.factories import MakeUser, User, register
from tests.support.pats import bearer, mint_token

TASKS = "/api/v1/tasks"


def _key() -> str:
    return f"key-{uuid.uuid4()}"


async def _post(
    client: httpx.AsyncClient, user: User, key: str, body: dict[str, Any], path: str = TASKS
) -> httpx.Response:
    return await client.post(path, json=body, headers={**user.headers, "Idempotency-Key": key})


async def _task_titles(client: httpx.AsyncClient, user: User) -> list[str]:
    response = await client.get(TASKS, headers=user.headers)
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()["items"]]


async def _key_rows(app: FastAPI) -> int:
    async with app.state.db.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(IdempotencyKey)) or 0)


async def test_a_repeated_request_is_answered_again_and_runs_once(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    key = _key()

    first = await _post(client, alice, key, {"title": "pay rent"})
    again = await _post(client, alice, key, {"title": "pay rent"})

    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    for header in ("location", "etag", "content-type"):
        assert again.headers[header] == first.headers[header]
    assert await _task_titles(client, alice) == ["pay rent"]
    assert await _key_rows(app) == 1


async def test_the_same_key_for_another_request_is_422_and_runs_nothing(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    key = _key()
    assert (await _post(client, alice, key, {"title": "one"})).status_code == 201

    other_body = await _post(client, alice, key, {"title": "two"})
    other_path = await _post(client, alice, key, {"name": "one"}, path="/api/v1/projects")

    for response in (other_body, other_path):
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await _task_titles(client, alice) == ["one"]
    projects = await client.get("/api/v1/projects", headers=alice.headers)
    assert projects.json()["items"] == []


@pytest.mark.parametrize("key", ["", "k" * 256], ids=["empty", "256-chars"])
async def test_a_key_outside_1_to_255_characters_is_422(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, key: str
) -> None:
    alice = await make_user()

    response = await _post(client, alice, key, {"title": "t"})

    assert response.status_code == 422, response.text
    assert await _task_titles(client, alice) == []
    assert await _key_rows(app) == 0
    longest = await _post(client, alice, "k" * 255, {"title": "t"})
    assert longest.status_code == 201, longest.text


async def test_keys_belong_to_one_credential(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice, bob = await make_user(), await make_user()
    token = await mint_token(client, alice.headers, ["tasks:write", "tasks:read"])
    as_token = User(alice.id, alice.email, "", "", "", bearer(token["token"]))
    key = _key()

    answers = [await _post(client, who, key, {"title": "same"}) for who in (alice, bob, as_token)]

    assert [a.status_code for a in answers] == [201, 201, 201]
    assert ["idempotent-replayed" in a.headers for a in answers] == [False, False, False]
    assert await _task_titles(client, alice) == ["same", "same"]
    assert await _task_titles(client, bob) == ["same"]


async def test_a_refused_request_is_replayed_as_refused(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    key = _key()

    first = await _post(client, alice, key, {"title": ""})
    again = await _post(client, alice, key, {"title": ""})

    assert first.status_code == 422, first.text
    assert (again.status_code, again.content) == (422, first.content)
    assert again.headers["idempotent-replayed"] == "true"


async def test_anonymous_routes_and_other_methods_ignore_the_header(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    key = {"Idempotency-Key": _key()}
    email = f"{uuid.uuid4().hex}@example.com"
    signup = {"email": email, "password": "long enough password"}

    first = await client.post("/api/v1/auth/register", json=signup, headers=key)
    second = await client.post("/api/v1/auth/register", json=signup, headers=key)
    login = {"username": email, "password": "long enough password"}
    signed_in = {**key, **alice.headers}  # a session's bearer does not make a login keyed
    logins = [await client.post("/api/v1/auth/token", data=login, headers=signed_in) for _ in "ab"]
    listed = await client.get(TASKS, headers={**alice.headers, "Idempotency-Key": ""})

    assert (first.status_code, second.status_code) == (201, 409), second.text
    assert [r.status_code for r in logins] == [200, 200]
    assert logins[0].json()["refresh_token"] != logins[1].json()["refresh_token"]
    assert "idempotent-replayed" not in logins[1].headers
    assert listed.status_code == 200, listed.text
    assert await _key_rows(app) == 0


async def test_a_rate_limited_answer_is_not_kept_and_the_retry_runs(
    database_url: str, tmp_path: Path
) -> None:
    settings = build_settings(database_url, tmp_path, rate_limit_per_minute=2)
    async with running(create_app(settings)) as app, make_client(app) as client:
        alice = await register(client)
        key = _key()
        await client.get(TASKS, headers=alice.headers)
        await client.get(TASKS, headers=alice.headers)

        limited = await _post(client, alice, key, {"title": "later"})
        app.state.limiter = InMemoryRateLimiter()  # the next minute
        retried = await _post(client, alice, key, {"title": "later"})

        assert limited.status_code == 429, limited.text
        assert retried.status_code == 201, retried.text
        assert "idempotent-replayed" not in retried.headers


# --- concurrency ----------------------------------------------------------------------


@dataclass
class Gate:
    """An app with one more POST route that waits for a test's go-ahead before answering."""

    app: FastAPI
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    go: asyncio.Event = field(default_factory=asyncio.Event)
    runs: list[str] = field(default_factory=list)


@pytest.fixture
async def gated(settings: Settings) -> AsyncIterator[Gate]:
    gate = Gate(create_app(settings))

    @gate.app.post("/api/v1/test-gate", operation_id="test_gate", status_code=201)
    async def gate_route(body: dict[str, Any]) -> Response:
        gate.runs.append(body["n"])
        gate.entered.set()
        await gate.go.wait()
        return Response(orjson.dumps({"ran": body["n"]}), 201, media_type="application/json")

    async with running(gate.app):
        yield gate


async def test_a_duplicate_while_the_first_runs_is_409_and_never_runs(
    gated: Gate, make_user: MakeUser
) -> None:
    alice = await make_user()
    key = _key()
    async with make_client(gated.app) as gclient:
        first = asyncio.create_task(_post(gclient, alice, key, {"n": "1"}, "/api/v1/test-gate"))
        # The first request is inside the route, its key claimed.
        await asyncio.wait_for(gated.entered.wait(), timeout=30)

        duplicate = await _post(gclient, alice, key, {"n": "1"}, "/api/v1/test-gate")
        gated.go.set()
        answered = await first
        replayed = await _post(gclient, alice, key, {"n": "1"}, "/api/v1/test-gate")

    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.headers["retry-after"] == "1"
    assert answered.status_code == 201, answered.text
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == {"ran": "1"}
    assert gated.runs == ["1"]


async def test_concurrent_duplicates_create_exactly_one_task(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    key = _key()

    answers = await asyncio.gather(
        *(_post(client, alice, key, {"title": "once"}) for _ in range(8))
    )

    ran = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
    replays = [a for a in answers if a.headers.get("idempotent-replayed") == "true"]
    busy = [a for a in answers if a.status_code == 409]
    assert len(ran) == 1, [(a.status_code, a.text) for a in answers]
    assert len(ran) + len(replays) + len(busy) == len(answers)
    assert all(r.content == ran[0].content for r in replays)
    assert await _task_titles(client, alice) == ["once"]


async def test_a_key_left_in_progress_by_a_dead_request_is_taken_over_after_its_lease(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    key = _key()
    body = orjson.dumps({"title": "after the crash"})
    scope = {"method": "POST", "path": TASKS, "query_string": b""}
    long_ago = utcnow() - store.LEASE - timedelta(seconds=1)
    claimed = await store.claim(
        app.state.db, f"u:{alice.id}", key, fingerprint(scope, body), long_ago
    )
    assert isinstance(claimed, store.Claimed)
    headers = {**alice.headers, "Idempotency-Key": key, "Content-Type": "application/json"}

    retried = await client.post(TASKS, content=body, headers=headers)
    again = await client.post(TASKS, content=body, headers=headers)

    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert await _task_titles(client, alice) == ["after the crash"]


async def test_keys_expire_after_24_hours_and_maintenance_purges_them(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    old, fresh = _key(), _key()
    assert (await _post(client, alice, old, {"title": "old"})).status_code == 201
    assert (await _post(client, alice, fresh, {"title": "fresh"})).status_code == 201
    async with app.state.db.writer() as session:
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == old)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()

    await run_maintenance(app.state.db)

    async with app.state.db.reader() as session:
        keys = (await session.scalars(select(IdempotencyKey.key))).all()
    assert keys == [fresh]
    rerun = await _post(client, alice, old, {"title": "old"})
    assert rerun.status_code == 201
    assert "idempotent-replayed" not in rerun.headers
    assert sorted(await _task_titles(client, alice)) == ["fresh", "old", "old"]


async def test_a_body_over_the_in_memory_spool_reaches_the_route_whole(app: FastAPI) -> None:
    """Routes exempt from the 1 MiB limit (an import) get their body back from disk."""
    seen: list[bytes] = []

    async def route(scope: Any, receive: Any, send: Any) -> None:
        parts = []
        while True:
            message = await receive()
            parts.append(message["body"])
            if not message["more_body"]:
                break
        seen.append(b"".join(parts))
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def caller(_: Any) -> str:
        return f"u:{uuid.uuid4()}"

    middleware = IdempotencyMiddleware(route, prefix="/api/v1", anonymous=(), identify=caller)
    chunks = [bytes([n]) * (256 * 1024) for n in range(12)]  # 3 MiB
    incoming = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/import",
        "query_string": b"",
        "headers": [(b"idempotency-key", b"big")],
        "app": app,
    }
    await middleware(scope, receive, send)

    assert seen == [b"".join(chunks)]
    assert sent[0]["status"] == 202
