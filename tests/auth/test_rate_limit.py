"""TASKHUB_RATE_LIMIT_PER_MINUTE: per user, across authenticated /api/v1 requests (SPEC §1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from taskhub.app import create_app
from tests.support.app import build_settings, make_client, running
from tests.support.factories import User, register
from tests.support.http import expect

ME = "/api/v1/users/me"


@pytest.fixture
async def limited(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app that allows 3 authenticated requests per user per minute."""
    settings = build_settings(database_url, tmp_path, rate_limit_per_minute=3)
    async with running(create_app(settings)) as app, make_client(app) as client:
        yield client


@pytest.fixture
async def unlimited(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app with the per-user limit disabled (0)."""
    settings = build_settings(database_url, tmp_path, rate_limit_per_minute=0)
    async with running(create_app(settings)) as app, make_client(app) as client:
        yield client


async def test_request_over_the_per_minute_limit_is_429(limited: httpx.AsyncClient) -> None:
    alice = await register(limited)
    for _ in range(3):
        expect(await limited.get(ME, headers=alice.headers), 200)

    response = await limited.get(ME, headers=alice.headers)

    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert "detail" in response.json()


async def test_limit_counts_requests_across_routes(limited: httpx.AsyncClient) -> None:
    alice = await register(limited)
    await limited.get(ME, headers=alice.headers)
    await limited.get("/api/v1/projects", headers=alice.headers)
    await limited.post("/api/v1/tasks", json={"title": "t"}, headers=alice.headers)

    expect(await limited.get("/api/v1/tasks", headers=alice.headers), 429)


async def test_limit_is_per_user(limited: httpx.AsyncClient) -> None:
    alice: User = await register(limited)
    bob: User = await register(limited)
    for _ in range(4):
        await limited.get(ME, headers=alice.headers)

    expect(await limited.get(ME, headers=bob.headers), 200)


async def test_anonymous_auth_routes_are_not_counted(limited: httpx.AsyncClient) -> None:
    alice = await register(limited)
    for _ in range(4):
        await limited.post(
            "/api/v1/auth/token", data={"username": alice.email, "password": alice.password}
        )
    expect(
        await limited.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token}), 200
    )

    expect(await limited.get(ME, headers=alice.headers), 200)


async def test_unauthenticated_requests_do_not_use_up_a_users_allowance(
    limited: httpx.AsyncClient,
) -> None:
    alice = await register(limited)
    for _ in range(5):
        expect(await limited.get(ME), 401)

    expect(await limited.get(ME, headers=alice.headers), 200)


async def test_zero_disables_the_limit(unlimited: httpx.AsyncClient) -> None:
    # More than the 600/minute default, so only a disabled limit lets all through. The
    # malformed id is answered (404) after authentication without touching the database.
    alice = await register(unlimited)
    url = "/api/v1/projects/not-a-uuid"
    statuses = {(await unlimited.get(url, headers=alice.headers)).status_code for _ in range(601)}

    response = await unlimited.get(ME, headers=alice.headers)

    assert statuses == {404}
    assert response.status_code == 200, response.text


async def test_limited_app_counts_requests_answered_404(limited: httpx.AsyncClient) -> None:
    # Control for the test above: a 404 after authentication does count.
    alice = await register(limited)
    for _ in range(3):
        await limited.get("/api/v1/projects/not-a-uuid", headers=alice.headers)

    expect(await limited.get(ME, headers=alice.headers), 429)
