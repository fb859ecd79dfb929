"""Two real `taskhub serve` processes sharing one PostgreSQL database and one Redis.

Per test module: a fresh database (migrated with `taskhub migrate`), a redis-server of
its own (so a test may kill it without touching the shared one on 6379) and instances
A and B started once. A module sets `INSTANCE_ENV` to add settings to both instances.
Every test registers its own users: limits are per user, and nothing is cleaned between
tests.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.app import CHEAP_ARGON2_ENV
from tests.support.cluster import Instance, Pair, started
from tests.support.databases import fresh_postgres_database
from tests.support.servers import RedisProcess, own_redis

SECRET = secrets.token_urlsafe(36)  # 48 characters, the same for both instances


@pytest.fixture(autouse=True)
def _clean_state() -> None:
    """Replaces the suite-wide cleanup: these tests use their own servers and database."""


@pytest.fixture(scope="module")
def redis_process() -> Iterator[RedisProcess]:
    yield from own_redis()


@pytest.fixture(scope="module")
async def module_database_url() -> AsyncIterator[str]:
    async with fresh_postgres_database("taskhub_scaleout") as url:
        yield url


@pytest.fixture(scope="module")
async def pair(
    request: pytest.FixtureRequest,
    redis_process: RedisProcess,
    module_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Pair]:
    workdir = tmp_path_factory.mktemp("scaleout")
    env = {
        "TASKHUB_DATABASE_URL": module_database_url,
        "TASKHUB_REDIS_URL": redis_process.url,
        "TASKHUB_SECRET_KEY": SECRET,
        "TASKHUB_DATA_DIR": str(workdir / "data"),
        **CHEAP_ARGON2_ENV,
        "TASKHUB_ACCESS_LOG": "false",
        **getattr(request.module, "INSTANCE_ENV", {}),
    }
    async with (
        started(env, workdir) as (first, second),
        httpx.AsyncClient(base_url=first.url, timeout=10) as http_a,
        httpx.AsyncClient(base_url=second.url, timeout=10) as http_b,
    ):
        yield Pair(Instance("A", first, http_a), Instance("B", second, http_b), redis_process)
