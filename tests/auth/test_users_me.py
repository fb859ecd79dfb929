"""GET /api/v1/users/me (SPEC §3)."""

from __future__ import annotations

import httpx

from tests.support.contract import assert_public_user
from tests.support.factories import PASSWORD, User

ME = "/api/v1/users/me"


async def test_me_returns_the_caller(client: httpx.AsyncClient) -> None:
    await client.post(
        "/api/v1/auth/register",
        json={"email": "Me@Example.com", "password": PASSWORD, "display_name": "Me"},
    )
    tokens = await client.post(
        "/api/v1/auth/token", data={"username": "me@example.com", "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}

    response = await client.get(ME, headers=headers)

    assert response.status_code == 200, response.text
    assert_public_user(response.json(), "me@example.com", "Me")


async def test_me_answers_for_the_token_holder_only(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    response = await client.get(ME, headers=bob.headers)

    assert response.json()["id"] == bob.id
    assert response.json()["id"] != alice.id


async def test_me_without_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(ME)

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Not authenticated"}


async def test_me_response_is_not_cacheable(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.get(ME, headers=alice.headers)

    assert response.headers["cache-control"] == "no-store"
