"""A real `taskhub serve` (SSE needs a streaming HTTP server, not the ASGI test client).

Per module: a fresh database and one instance with roles read per event, two streams
per user and a one-second heartbeat. Every test registers its own users.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.app import CHEAP_ARGON2_ENV
from tests.support.databases import empty_database
from tests.support.servers import ApiProcess, run_migrate

STREAM_ENV = {
    "TASKHUB_EVENTS_ROLES_TTL_SECONDS": "0",
    "TASKHUB_EVENTS_MAX_STREAMS_PER_USER": "2",
    "TASKHUB_EVENTS_HEARTBEAT_SECONDS": "1",
    "TASKHUB_RATE_LIMIT_PER_MINUTE": "0",
    "TASKHUB_ACCESS_LOG": "false",
    **CHEAP_ARGON2_ENV,
}


@pytest.fixture(autouse=True)
def _clean_state() -> None:
    """Replaces the suite-wide cleanup: these tests use their own server and database."""


@pytest.fixture(scope="module")
async def instance(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    workdir = tmp_path_factory.mktemp("events")
    async with empty_database(workdir, "taskhub_events") as url:
        env = {
            "TASKHUB_DATABASE_URL": url,
            "TASKHUB_SECRET_KEY": secrets.token_urlsafe(36),
            "TASKHUB_DATA_DIR": str(workdir / "data"),
            **STREAM_ENV,
        }
        await asyncio.to_thread(run_migrate, env, workdir)
        process = ApiProcess("events", env, workdir / "events.log")
        try:
            process.start()
            await asyncio.to_thread(process.wait_ready)
            async with httpx.AsyncClient(base_url=process.url, timeout=30) as http:
                yield http
        finally:
            process.stop()
