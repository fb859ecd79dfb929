"""/healthz (liveness) and /readyz (readiness), with the database up and down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskhub.app import create_app
from taskhub.settings import Settings
from tests.ops.support import dead_database_url
from tests.support.app import build_settings, make_client, running
from tests.support.http import expect


@pytest.fixture
async def outage_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose database cannot be reached."""
    settings = build_settings(dead_database_url(tmp_path), tmp_path)
    async with running(create_app(settings)) as app, make_client(app) as client:
        yield client


async def test_healthz_is_exactly_status_ok(client: httpx.AsyncClient) -> None:
    assert expect(await client.get("/healthz"), 200) == {"status": "ok"}


async def test_readyz_is_200_when_the_database_answers(client: httpx.AsyncClient) -> None:
    assert expect(await client.get("/readyz"), 200)["status"] == "ok"


async def test_readyz_is_503_naming_the_database_when_it_is_unreachable(
    outage_client: httpx.AsyncClient,
) -> None:
    response = await outage_client.get("/readyz")

    assert response.status_code == 503, response.text
    assert "database" in response.json()["detail"]
    assert response.json()["failing"] == ["database"]


async def test_healthz_stays_ok_while_the_database_is_unreachable(
    outage_client: httpx.AsyncClient,
) -> None:
    assert expect(await outage_client.get("/healthz"), 200) == {"status": "ok"}


LIVE_REDIS = "redis://127.0.0.1:6379/15"  # started by .ci/run, like PostgreSQL
DEAD_REDIS = "redis://127.0.0.1:1/0"


@asynccontextmanager
async def _client_with(
    settings: Settings, tmp_path: Path, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    configured = build_settings(settings.effective_database_url, tmp_path, **overrides)
    async with running(create_app(configured)) as app, make_client(app) as client:
        yield client


async def test_readyz_is_200_when_configured_redis_and_broker_answer(
    settings: Settings, tmp_path: Path
) -> None:
    async with _client_with(
        settings, tmp_path, redis_url=LIVE_REDIS, broker_url=LIVE_REDIS
    ) as client:
        response = await client.get("/readyz")

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("setting", "named"), [("redis_url", "redis"), ("broker_url", "broker")])
async def test_readyz_is_503_naming_the_unreachable_dependency(
    settings: Settings, tmp_path: Path, setting: str, named: str
) -> None:
    async with _client_with(settings, tmp_path, **{setting: DEAD_REDIS}) as client:
        response = await client.get("/readyz")

    assert response.status_code == 503, response.text
    assert response.json()["failing"] == [named]
