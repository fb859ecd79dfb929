"""OWASP API6:2023 Unrestricted Access to Sensitive Business Flows.

The flows worth automating against taskhub are guessing passwords (spraying one password
over many accounts, or many over one) and flooding the API as one user. SPEC §3 limits
failed logins per email and per client address; SPEC §1 limits each user's authenticated
requests per minute. These cases run on apps with low limits so the abuse is cheap to
reproduce, and check that a refused request has no effect and that the obvious
work-arounds (new tokens, other addresses) do not reset the count.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from taskhub.app import create_app
from tests.support.app import build_settings, make_client, running
from tests.support.factories import PASSWORD, register

PER_MINUTE = 5


@pytest.fixture
async def guarded(database_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """An app with low limits: 5 requests per user per minute, 3 failed logins per
    email and 6 per address."""
    settings = build_settings(
        database_url,
        tmp_path,
        rate_limit_per_minute=PER_MINUTE,
        login_failures_per_email=3,
        login_failures_per_address=6,
    )
    async with running(create_app(settings)) as app:
        yield app


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})


async def test_password_spraying_from_one_address_is_stopped_for_every_account(
    guarded: FastAPI,
) -> None:
    async with make_client(guarded, "203.0.113.7") as attacker, make_client(guarded) as honest:
        alice = await register(honest)
        sprayed = [
            (await _login(attacker, f"victim{i}@example.com", "Summer2024!!")).status_code
            for i in range(8)
        ]

        from_attacker = await _login(attacker, alice.email, PASSWORD)
        from_elsewhere = await _login(honest, alice.email, PASSWORD)

    # Each email failed once (under its limit of 3): the address limit is what stops it.
    assert sprayed == [401] * 6 + [429] * 2
    assert from_attacker.status_code == 429, from_attacker.text
    assert from_elsewhere.status_code == 200, from_elsewhere.text


async def test_guessing_one_password_from_many_addresses_is_stopped_by_the_email_limit(
    guarded: FastAPI,
) -> None:
    async with make_client(guarded) as honest:
        alice = await register(honest)
    statuses = []
    for i in range(5):
        async with make_client(guarded, f"198.51.100.{i}") as bot:
            statuses.append((await _login(bot, alice.email, f"guess number {i}")).status_code)

    async with make_client(guarded, "192.0.2.1") as fresh:
        correct = await _login(fresh, alice.email, PASSWORD)

    assert statuses == [401, 401, 401, 429, 429]
    assert correct.status_code == 429, correct.text
    assert 1 <= int(correct.headers["retry-after"]) <= 15 * 60


async def test_a_write_refused_by_the_rate_limit_is_not_applied(
    guarded: FastAPI, client: httpx.AsyncClient
) -> None:
    async with make_client(guarded) as limited:
        alice = await register(limited)
        created = [
            await limited.post("/api/v1/tasks", json={"title": f"t{i}"}, headers=alice.headers)
            for i in range(PER_MINUTE + 3)
        ]

    # Look through the session app: same database and key, default (high) limit.
    listed = await client.get("/api/v1/tasks", headers=alice.headers)

    statuses = [r.status_code for r in created]
    assert statuses == [201] * PER_MINUTE + [429] * 3
    assert sorted(t["title"] for t in listed.json()["items"]) == [
        f"t{i}" for i in range(PER_MINUTE)
    ]


async def test_new_tokens_do_not_reset_a_users_allowance(guarded: FastAPI) -> None:
    async with make_client(guarded) as client:
        alice = await register(client)
        for _ in range(PER_MINUTE):
            await client.get("/api/v1/users/me", headers=alice.headers)
        login = await _login(client, alice.email, PASSWORD)
        refreshed = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token}
        )
        tokens = [login.json()["access_token"], refreshed.json()["access_token"]]

        answers = [
            await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {t}"})
            for t in tokens
        ]

    assert [a.status_code for a in answers] == [429, 429], [a.text for a in answers]


async def test_changing_address_does_not_reset_a_users_allowance(guarded: FastAPI) -> None:
    async with make_client(guarded) as client:
        alice = await register(client)
    statuses = []
    for i in range(PER_MINUTE + 2):
        async with make_client(guarded, f"198.51.100.{i}") as hop:
            statuses.append((await hop.get("/api/v1/users/me", headers=alice.headers)).status_code)

    assert statuses == [200] * PER_MINUTE + [429] * 2


async def test_one_users_flood_does_not_lock_out_another_user(guarded: FastAPI) -> None:
    async with make_client(guarded) as client:
        alice, bob = await register(client), await register(client)
        for _ in range(PER_MINUTE + 5):
            await client.post("/api/v1/tasks", json={"title": "spam"}, headers=alice.headers)

        response = await client.post("/api/v1/tasks", json={"title": "mine"}, headers=bob.headers)

    assert response.status_code == 201, response.text
