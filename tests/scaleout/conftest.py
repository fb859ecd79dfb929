"""Two real `taskhub serve` processes sharing one PostgreSQL database and one Redis.

Per test module: a fresh database (migrated with `taskhub migrate`), a redis-server of
its own (so a test may kill it without touching the shared one on 6379) and instances
A and B started once. A module sets `INSTANCE_ENV` to add settings to both instances.
Every test registers its own users: limits are per user, and nothing is cleaned between
tests.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import BACKEND, IN_CI, PG_ADMIN_DSN, User, register
from tests.support.databases import fresh_postgres_database
from tests.support.servers import ApiProcess, RedisProcess, redis_server_installed, run_migrate

postgres_only = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="several server processes share one database: PostgreSQL pass only",
)

SECRET = secrets.token_urlsafe(36)  # 48 characters, the same for both instances


@pytest.fixture(autouse=True)
def _clean_state() -> None:
    """Replaces the suite-wide cleanup: these tests use their own servers and database."""


@pytest.fixture(scope="module")
def redis_process() -> Iterator[RedisProcess]:
    if not redis_server_installed():
        message = "redis-server is not installed"
        if IN_CI:
            pytest.fail(f"{message}: failing, CI requires it")
        pytest.skip(f"!!!!! {message}: SKIPPING (outside CI only) !!!!!")
    server = RedisProcess()
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
async def module_database_url() -> AsyncIterator[str]:
    async with fresh_postgres_database(PG_ADMIN_DSN, "taskhub_scaleout") as url:
        yield url


@dataclass
class Instance:
    name: str
    process: ApiProcess
    http: httpx.AsyncClient

    async def request(self, method: str, path: str, user: User, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, headers=user.headers, **kwargs)


@dataclass
class Pair:
    a: Instance
    b: Instance
    redis: RedisProcess

    def __iter__(self) -> Iterator[Instance]:
        return iter((self.a, self.b))

    async def new_user(self) -> User:
        return await register(self.a.http)

    def logs(self) -> str:
        return "\n".join(f"--- {i.name}\n{i.process.output()[-3000:]}" for i in self)


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
        "TASKHUB_ARGON2_MEMORY_KIB": "1024",
        "TASKHUB_ARGON2_TIME_COST": "1",
        "TASKHUB_ACCESS_LOG": "false",
        **getattr(request.module, "INSTANCE_ENV", {}),
    }
    await asyncio.to_thread(run_migrate, env, workdir)
    processes = [ApiProcess(name, env, workdir / f"{name}.log") for name in ("A", "B")]
    try:
        for process in processes:
            process.start()
        for process in processes:
            await asyncio.to_thread(process.wait_ready)
        async with (
            httpx.AsyncClient(base_url=processes[0].url, timeout=10) as http_a,
            httpx.AsyncClient(base_url=processes[1].url, timeout=10) as http_b,
        ):
            yield Pair(
                Instance("A", processes[0], http_a),
                Instance("B", processes[1], http_b),
                redis_process,
            )
    finally:
        for process in processes:
            process.stop()


def cached_task_keys(redis_process: RedisProcess, task_id: str) -> int:
    """How many cache entries Redis holds for this task (0 or 1): proves a read was cached."""
    client = redis_process.client()
    try:
        return int(client.exists(f"taskhub:c:task:{task_id}"))
    finally:
        client.close()


__all__ = ["Instance", "Pair", "cached_task_keys", "postgres_only"]
