"""Live events across two instances sharing one database and a throwaway Redis."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.events.conftest import STREAM_ENV
from tests.events.sse import event_order as _key
from tests.events.sse import open_stream
from tests.support.activity import activity_of
from tests.support.cluster import postgres_only, started
from tests.support.databases import fresh_postgres_database
from tests.support.factories import register
from tests.support.http import expect
from tests.support.servers import RedisProcess, own_redis

pytestmark = postgres_only


@pytest.fixture(scope="module")
def redis_process() -> Iterator[RedisProcess]:
    yield from own_redis()


@pytest.fixture(scope="module")
async def pair(
    redis_process: RedisProcess, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    workdir = tmp_path_factory.mktemp("events_cluster")
    async with fresh_postgres_database("taskhub_events") as url:
        env = {
            "TASKHUB_DATABASE_URL": url,
            "TASKHUB_REDIS_URL": redis_process.url,
            "TASKHUB_SECRET_KEY": secrets.token_urlsafe(36),
            "TASKHUB_DATA_DIR": str(workdir / "data"),
            **STREAM_ENV,
        }
        async with (
            started(env, workdir) as (first, second),
            httpx.AsyncClient(base_url=first.url, timeout=30) as a,
            httpx.AsyncClient(base_url=second.url, timeout=30) as b,
        ):
            yield a, b


async def test_an_event_on_one_instance_reaches_streams_on_the_other_and_resumes_there(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    a, b = pair
    alice = await register(a)
    task = expect(await a.post("/api/v1/tasks", json={"title": "t"}, headers=alice.headers), 201)
    path = f"/api/v1/tasks/{task['id']}"
    await activity_of(a, alice, task["id"], expected=1)  # its creation, published first

    async with open_stream(b, alice) as on_b:
        expect(await a.patch(path, json={"title": "on A"}, headers=alice.headers), 200)
        first = await on_b.next()
    expect(await a.patch(path, json={"description": "missed"}, headers=alice.headers), 200)
    assert len(await activity_of(a, alice, task["id"], expected=3)) == 3
    async with open_stream(a, alice, last_event_id=first.id) as resumed_on_a:
        missed = await resumed_on_a.next()

    assert first.data["data"]["changes"]["fields"] == ["title"]
    assert missed.data["data"]["changes"]["fields"] == ["description"]
    assert _key(first.id) < _key(missed.id)
