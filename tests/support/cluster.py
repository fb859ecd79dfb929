"""Two `taskhub serve` processes sharing one database and one Redis, seen by tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.env import BACKEND
from tests.support.factories import User, register
from tests.support.servers import ApiProcess, RedisProcess

postgres_only = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="several server processes share one database: PostgreSQL pass only",
)


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
