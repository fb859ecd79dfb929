"""OWASP API10:2023 Unsafe Consumption of APIs.

taskhub consumes a database, Redis (or its in-process stand-in) and a broker. What they
answer is input too: an outage must become a 503 that names nothing internal (SPEC §2),
and whatever sits in the cache must never turn into a 500 or into another user's data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from taskhub.app import create_app
from tests.ops.support import dead_database_url
from tests.owasp.support import free_port_url
from tests.support.app import build_settings, make_client, running
from tests.support.factories import MakeTask, MakeUser, User, register
from tests.support.http import expect

# --- the database ---------------------------------------------------------------------------


@pytest.fixture
async def outage(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A client of an app whose database is unreachable, and that database's URL."""
    url = dead_database_url(tmp_path)
    async with running(create_app(build_settings(url, tmp_path))) as app, make_client(app) as c:
        yield c, url


def _secrets_of(url: str) -> list[str]:
    """Pieces of a database URL that an answer must not reveal: path, host, file name."""
    rest = url.split("://", 1)[1]
    netloc = rest.split("/", 1)[0]
    file_name = rest.rsplit("/", 1)[-1]
    return [p for p in (rest, netloc, file_name if "." in file_name else "") if p]


async def test_a_database_outage_is_a_bare_503_on_every_kind_of_route(
    outage: tuple[httpx.AsyncClient, str], make_user: MakeUser
) -> None:
    client, _ = outage
    alice = await make_user()  # a token issued while the database was up

    answers = [
        await client.get("/api/v1/tasks", headers=alice.headers),
        await client.get(f"/api/v1/projects/{alice.id}", headers=alice.headers),
        await client.post("/api/v1/tasks", json={"title": "t"}, headers=alice.headers),
        await client.post(
            "/api/v1/auth/register", json={"email": "n@example.com", "password": "x" * 12}
        ),
        await client.post(
            "/api/v1/auth/token", data={"username": alice.email, "password": alice.password}
        ),
        await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token}),
    ]

    assert [a.status_code for a in answers] == [503] * len(answers), [a.text for a in answers]
    assert {a.text for a in answers} == {'{"detail":"Database unavailable"}'}
    assert all(int(a.headers["retry-after"]) >= 1 for a in answers)


async def test_readiness_names_the_database_without_revealing_where_it_is(
    outage: tuple[httpx.AsyncClient, str],
) -> None:
    client, url = outage

    response = await client.get("/readyz")

    assert response.status_code == 503, response.text
    assert response.json()["failing"] == ["database"]
    assert [piece for piece in _secrets_of(url) if piece in response.text] == []
    assert "password" not in response.text.lower()


# --- the cache ------------------------------------------------------------------------------

GARBAGE = {
    "empty": b"",
    "no-header": b"garbage",
    "not-utf8-header": b"\xff\xfe\x00\x01\n{}",
    "two-fields": b"a|b\n{}",
    "version-not-a-number": b"owner|project|not-a-number\n{}",
    "no-owner": b"||1\n",
    "body-not-json": b"{owner}||1\nnot json at all",
    "body-not-utf8": b"{owner}||1\n" + b"\xff" * 10,
}


@pytest.fixture
async def lenient(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client`, but an unhandled exception comes back as the 500 a user would see."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def _poison(app: FastAPI, task_id: str, raw: bytes) -> None:
    # Through the Cache interface, at a version no real write reaches soon.
    cache = app.state.cache
    await cache.evict(f"task:{task_id}")
    assert await cache.put_versioned(f"task:{task_id}", 10**9, raw, 60)


@pytest.mark.parametrize("raw", list(GARBAGE.values()), ids=list(GARBAGE))
async def test_a_malformed_cached_task_is_never_a_500_nor_shown_to_another_user(
    alice: User,
    mallory: User,
    lenient: httpx.AsyncClient,
    app: FastAPI,
    make_task: MakeTask,
    raw: bytes,
) -> None:
    task = await make_task(alice, title="alice's private task")
    await _poison(app, task["id"], raw.replace(b"{owner}", alice.id.encode()))

    as_alice = await lenient.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers)
    as_mallory = await lenient.get(f"/api/v1/tasks/{task['id']}", headers=mallory.headers)

    # Her own task: the broken entry must be ignored and the database row served.
    assert as_alice.status_code == 200, as_alice.text
    assert as_mallory.status_code == 404, as_mallory.text
    assert "alice's private task" not in as_mallory.text


@pytest.mark.parametrize("name", ["empty", "no-header", "not-utf8-header", "version-not-a-number"])
async def test_a_cache_entry_without_a_valid_header_is_ignored_for_the_database_row(
    alice: User, lenient: httpx.AsyncClient, app: FastAPI, make_task: MakeTask, name: str
) -> None:
    task = await make_task(alice)
    await _poison(app, task["id"], GARBAGE[name])

    assert (
        expect(await lenient.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers), 200) == task
    )


async def test_malformed_cached_roles_are_never_a_500(
    client: httpx.AsyncClient,
    alice: User,
    bob: User,
    lenient: httpx.AsyncClient,
    app: FastAPI,
    make_task: MakeTask,
) -> None:
    project = (
        await client.post("/api/v1/projects", json={"name": "p"}, headers=alice.headers)
    ).json()
    task = await make_task(alice, project_id=project["id"])
    await client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers)  # cache the task
    cache = app.state.cache
    generation, _ = await cache.get_with_generation(f"roles:{bob.id}", f"rolesgen:{bob.id}")
    await cache.put_for_generation(
        f"roles:{bob.id}", f"rolesgen:{bob.id}", generation, b"\xffnot json", 60
    )

    expect(await lenient.get(f"/api/v1/tasks/{task['id']}", headers=bob.headers), 404)


# --- Redis ----------------------------------------------------------------------------------


@pytest.fixture
async def redis_down(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app configured with a Redis that refuses every connection."""
    settings = build_settings(database_url, tmp_path, redis_url=free_port_url("redis"))
    async with running(create_app(settings)) as app, make_client(app) as client:
        yield client


async def test_a_dead_redis_degrades_to_the_database_without_errors(
    redis_down: httpx.AsyncClient,
) -> None:
    alice: User = await register(redis_down)
    created = await redis_down.post("/api/v1/tasks", json={"title": "t"}, headers=alice.headers)

    answers = [
        await redis_down.get(f"/api/v1/tasks/{created.json()['id']}", headers=alice.headers),
        await redis_down.get("/api/v1/tasks", headers=alice.headers),
        await redis_down.patch(
            f"/api/v1/tasks/{created.json()['id']}", json={"done": True}, headers=alice.headers
        ),
    ]
    ready = await redis_down.get("/readyz")

    assert created.status_code == 201, created.text
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    assert ready.status_code == 503, ready.text
    assert ready.json()["failing"] == ["redis"]
    assert "127.0.0.1" not in ready.text
