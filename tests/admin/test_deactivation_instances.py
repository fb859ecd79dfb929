"""Deactivation across two API instances sharing one Redis (auth/deactivation.py).

Each instance keeps the deactivated ids in memory; the admin's answer waits until every
subscribed instance has applied the change, so the very next request anywhere is 401.
Runs on a throwaway redis-server of its own, never the shared one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
from fastapi import FastAPI

from taskhub.app import create_app
from taskhub.auth.deactivation import Deactivations
from taskhub.settings import Settings
from tests.admin.conftest import promote, sign_in
from tests.support.app import running
from tests.support.factories import register
from tests.support.servers import RedisProcess, redis_server_installed

pytestmark = pytest.mark.skipif(
    not redis_server_installed(), reason="redis-server is not installed"
)


async def _until_trusted(app: FastAPI, trusted: bool = True) -> None:
    deactivations: Deactivations = app.state.deactivations
    async with asyncio.timeout(10):
        while deactivations.trusted is not trusted:
            await asyncio.sleep(0.01)


@pytest.fixture
async def pair(settings: Settings) -> AsyncIterator[tuple[FastAPI, FastAPI, RedisProcess]]:
    redis = RedisProcess()
    redis.start()
    shared = settings.model_copy(update={"redis_url": redis.url})
    try:
        async with AsyncExitStack() as stack:
            first = await stack.enter_async_context(running(create_app(shared)))
            second = await stack.enter_async_context(running(create_app(shared)))
            await _until_trusted(first)
            await _until_trusted(second)
            yield first, second, redis
    finally:
        redis.kill()


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_deactivating_on_one_instance_refuses_the_token_on_the_other_at_once(
    pair: tuple[FastAPI, FastAPI, RedisProcess],
) -> None:
    first, second, _ = pair
    async with _client(first) as on_first, _client(second) as on_second:
        boss = await register(on_first)
        await promote(first, boss)
        user = await register(on_first)
        assert (await on_second.get("/api/v1/users/me", headers=user.headers)).status_code == 200
        assert (await sign_in(on_first, boss)).status_code == 302

        done = await on_first.get(
            f"/admin/user/action/deactivate?pks={user.id}",
            headers={"Sec-Fetch-Site": "same-origin"},
        )
        refused = await on_second.get("/api/v1/users/me", headers=user.headers)

        reactivated = await on_first.get(
            f"/admin/user/action/reactivate?pks={user.id}",
            headers={"Sec-Fetch-Site": "same-origin"},
        )
        login = await on_second.post(
            "/api/v1/auth/token", data={"username": user.email, "password": user.password}
        )

    assert done.status_code == 302, done.text
    assert refused.status_code == 401, refused.text
    assert reactivated.status_code == 302, reactivated.text
    assert login.status_code == 200, login.text


async def test_an_instance_cut_off_from_redis_asks_the_database(
    pair: tuple[FastAPI, FastAPI, RedisProcess],
) -> None:
    first, second, redis = pair
    async with _client(first) as on_first, _client(second) as on_second:
        boss = await register(on_first)
        await promote(first, boss)
        user = await register(on_first)
        assert (await sign_in(on_first, boss)).status_code == 302

        redis.kill()  # no message can reach the second instance now
        await _until_trusted(second, trusted=False)
        done = await on_first.get(
            f"/admin/user/action/deactivate?pks={user.id}",
            headers={"Sec-Fetch-Site": "same-origin"},
        )
        refused = await on_second.get("/api/v1/users/me", headers=user.headers)

    assert done.status_code == 302, done.text
    assert refused.status_code == 401, refused.text
