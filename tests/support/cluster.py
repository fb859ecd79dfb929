"""Two `taskhub serve` processes sharing one database and one Redis, seen by tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.env import BACKEND
from tests.support.factories import User, register
from tests.support.servers import ApiProcess, RedisProcess, run_migrate

postgres_only = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="several server processes share one database: PostgreSQL pass only",
)


@asynccontextmanager
async def started(
    env: Mapping[str, str], workdir: Path, names: tuple[str, ...] = ("A", "B")
) -> AsyncIterator[list[ApiProcess]]:
    """Migrate once, then serve one API process per name on `env`, all ready; stop after."""
    await asyncio.to_thread(run_migrate, dict(env), workdir)
    processes = [ApiProcess(name, dict(env), workdir / f"{name}.log") for name in names]
    try:
        for process in processes:
            process.start()
        for process in processes:
            await asyncio.to_thread(process.wait_ready)
        yield processes
    finally:
        for process in processes:
            process.stop()


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


def cached_task_keys(redis_process: RedisProcess, task_id: str) -> int:
    """How many cache entries Redis holds for this task (0 or 1): proves a read was cached."""
    client = redis_process.client()
    try:
        return int(client.exists(f"taskhub:c:task:{task_id}"))
    finally:
        client.close()


__all__ = ["Instance", "Pair", "cached_task_keys", "postgres_only"]
