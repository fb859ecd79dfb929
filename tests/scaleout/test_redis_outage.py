"""Redis stopped under traffic: the API serves from the database, limits fail open, and
everything works again by itself once Redis is back (issue 3, "Redis").

Each test kills this module's own redis-server and starts it again (empty, as a
restarted cache is) on the same port before it ends.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.cluster import Instance, Pair, cached_task_keys, postgres_only
from tests.support.factories import User
from tests.support.http import expect

pytestmark = postgres_only

LIMIT = 20
INSTANCE_ENV = {"TASKHUB_RATE_LIMIT_PER_MINUTE": str(LIMIT)}
TASKS = "/api/v1/tasks"
RECOVERY_SECONDS = 10.0


@pytest.fixture
async def outage(pair: Pair) -> AsyncIterator[Pair]:
    """The pair; Redis is running again after the test whatever happened."""
    yield pair
    if pair.redis.process is None:
        pair.redis.start()


async def create_task(instance: Instance, user: User) -> dict[str, Any]:
    response = await instance.request("POST", TASKS, user, json={"title": "t"})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def traffic(
    instance: Instance, work: list[tuple[User, str]], stop: asyncio.Event, seen: list[int]
) -> None:
    """Reads and writes on `instance` until `stop`, appending every status code to `seen`."""
    for round_ in itertools.count():
        if stop.is_set():
            return
        user, task_id = work[round_ % len(work)]
        kind = round_ % 3
        if kind == 0:
            response = await instance.request("GET", f"{TASKS}/{task_id}", user)
        elif kind == 1:
            body = {"title": f"{instance.name} {round_}"}
            response = await instance.request("PATCH", f"{TASKS}/{task_id}", user, json=body)
        else:
            response = await instance.request("GET", TASKS, user)
        seen.append(response.status_code)
        await asyncio.sleep(0.01)


async def test_no_5xx_while_redis_is_killed_under_traffic(outage: Pair) -> None:
    pair = outage
    # Enough users that the requests counted before the kill stay under each one's limit.
    users = [await pair.new_user() for _ in range(6)]
    work = [(user, (await create_task(pair.a, user))["id"]) for user in users]
    stop = asyncio.Event()
    seen: dict[str, list[int]] = {"A": [], "B": []}
    loops = [asyncio.create_task(traffic(i, work, stop, seen[i.name])) for i in pair]

    while min(len(codes) for codes in seen.values()) < 5:  # traffic flows, Redis in use
        await asyncio.sleep(0.01)
    before = {name: len(codes) for name, codes in seen.items()}
    pair.redis.kill()
    await asyncio.sleep(2.5)  # longer than the breaker's cooldown: probes fail too
    stop.set()
    await asyncio.gather(*loops)

    assert {code for codes in seen.values() for code in codes} == {200}
    assert all(len(seen[name]) - before[name] >= 20 for name in seen), seen  # served while down


async def wait_until_cached(pair: Pair, reader: Instance, user: User, task_id: str) -> None:
    deadline = asyncio.get_running_loop().time() + RECOVERY_SECONDS
    while True:
        response = await reader.request("GET", f"{TASKS}/{task_id}", user)
        assert response.status_code == 200, response.text
        if cached_task_keys(pair.redis, task_id):
            return
        assert asyncio.get_running_loop().time() < deadline, "caching did not come back"
        await asyncio.sleep(0.05)


async def test_cache_is_shared_again_soon_after_redis_restarts(outage: Pair) -> None:
    pair = outage
    user = await pair.new_user()
    task = await create_task(pair.a, user)
    url = f"{TASKS}/{task['id']}"
    pair.redis.kill()
    # Both notice the outage, A half a breaker cooldown after B: when Redis is back, B
    # uses it again while A may still be skipping it.
    assert (await pair.b.request("PATCH", url, user, json={"title": "down"})).is_success
    await asyncio.sleep(0.5)
    assert (await pair.a.request("PATCH", url, user, json={"title": "down 2"})).is_success

    pair.redis.start()
    await wait_until_cached(pair, pair.b, user, task["id"])
    patched = await pair.a.request("PATCH", url, user, json={"title": "back"})
    read = await pair.b.request("GET", url, user)

    assert patched.status_code == 200, patched.text
    assert read.headers["ETag"] == patched.headers["ETag"]
    assert read.json()["title"] == "back"


async def test_rate_limit_counts_again_soon_after_redis_restarts(outage: Pair) -> None:
    pair = outage
    user = await pair.new_user()
    pair.redis.kill()
    for instance in pair:  # both instances notice the outage
        expect(await instance.request("GET", "/api/v1/users/me", user), 200)

    pair.redis.start()
    deadline = asyncio.get_running_loop().time() + RECOVERY_SECONDS
    codes: list[int] = []
    while 429 not in codes:  # counting again (the first hits may still be skipped)
        assert asyncio.get_running_loop().time() < deadline, f"never limited again: {codes}"
        codes.append((await me(pair.a if len(codes) % 2 == 0 else pair.b, user)).status_code)
        await asyncio.sleep(0.02)
    fresh = await pair.new_user()
    counted = [
        (await me(pair.a if i % 2 == 0 else pair.b, fresh)).status_code for i in range(LIMIT)
    ]
    over = await me(pair.b, fresh)

    assert counted == [200] * LIMIT
    assert over.status_code == 429, over.text
    assert "Retry-After" in over.headers


async def me(instance: Instance, user: User) -> Any:
    return await instance.request("GET", "/api/v1/users/me", user)
