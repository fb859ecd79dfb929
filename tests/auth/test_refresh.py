"""POST /api/v1/auth/refresh and /api/v1/auth/logout: rotation and family revocation (SPEC §3)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from taskhub.auth.models import RefreshToken
from taskhub.auth.tokens import hash_refresh_token
from taskhub.db import Database, utcnow
from tests.support.factories import PASSWORD, User
from tests.support.http import expect

REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


async def test_refresh_returns_a_new_token_pair(client: httpx.AsyncClient, alice: User) -> None:
    response = await refresh(client, alice.refresh_token)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["refresh_token"] != alice.refresh_token


async def test_refreshed_access_token_authenticates(client: httpx.AsyncClient, alice: User) -> None:
    access = (await refresh(client, alice.refresh_token)).json()["access_token"]

    assert (
        expect(await client.get(ME, headers={"Authorization": f"Bearer {access}"}), 200)["id"]
        == alice.id
    )


async def test_refreshed_refresh_token_can_be_rotated_again(
    client: httpx.AsyncClient, alice: User
) -> None:
    second = (await refresh(client, alice.refresh_token)).json()["refresh_token"]

    expect(await refresh(client, second), 200)


async def test_refresh_token_is_spent_by_rotation(client: httpx.AsyncClient, alice: User) -> None:
    await refresh(client, alice.refresh_token)

    response = await refresh(client, alice.refresh_token)

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_reuse_of_spent_token_revokes_the_newest_token_of_its_family(
    client: httpx.AsyncClient, alice: User
) -> None:
    second = (await refresh(client, alice.refresh_token)).json()["refresh_token"]
    third = (await refresh(client, second)).json()["refresh_token"]
    expect(await refresh(client, alice.refresh_token), 401)

    expect(await refresh(client, third), 401)


async def test_reuse_revokes_only_its_own_family(client: httpx.AsyncClient, alice: User) -> None:
    other_login = await client.post(
        "/api/v1/auth/token", data={"username": alice.email, "password": PASSWORD}
    )
    await refresh(client, alice.refresh_token)
    await refresh(client, alice.refresh_token)

    expect(await refresh(client, other_login.json()["refresh_token"]), 200)


async def test_concurrent_refresh_with_one_token_succeeds_at_most_once(
    client: httpx.AsyncClient, alice: User
) -> None:
    responses = await asyncio.gather(*(refresh(client, alice.refresh_token) for _ in range(2)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses in ([200, 401], [401, 401])


async def test_concurrent_refresh_never_leaves_two_live_successors(
    client: httpx.AsyncClient, alice: User
) -> None:
    responses = await asyncio.gather(*(refresh(client, alice.refresh_token) for _ in range(4)))
    successors = [r.json()["refresh_token"] for r in responses if r.status_code == 200]

    results = [await refresh(client, token) for token in successors]

    # The losers presented a spent token, which revoked the family the winner got.
    assert [r.status_code for r in results] == [401] * len(successors), [r.text for r in results]


async def test_logout_is_204_and_revokes_the_family(client: httpx.AsyncClient, alice: User) -> None:
    second = (await refresh(client, alice.refresh_token)).json()["refresh_token"]

    response = await client.post(LOGOUT, json={"refresh_token": alice.refresh_token})

    assert response.status_code == 204, response.text
    assert response.content == b""
    expect(await refresh(client, second), 401)


async def test_logout_ends_the_presented_token(client: httpx.AsyncClient, alice: User) -> None:
    await client.post(LOGOUT, json={"refresh_token": alice.refresh_token})

    expect(await refresh(client, alice.refresh_token), 401)


async def test_logout_keeps_other_sessions(client: httpx.AsyncClient, alice: User) -> None:
    other_login = await client.post(
        "/api/v1/auth/token", data={"username": alice.email, "password": PASSWORD}
    )
    await client.post(LOGOUT, json={"refresh_token": alice.refresh_token})

    expect(await refresh(client, other_login.json()["refresh_token"]), 200)


async def test_logout_with_unknown_token_is_204(client: httpx.AsyncClient) -> None:
    expect(await client.post(LOGOUT, json={"refresh_token": "never-issued"}), 204)


async def test_logout_with_spent_token_is_204(client: httpx.AsyncClient, alice: User) -> None:
    await refresh(client, alice.refresh_token)

    expect(await client.post(LOGOUT, json={"refresh_token": alice.refresh_token}), 204)


async def test_logout_twice_is_204(client: httpx.AsyncClient, alice: User) -> None:
    await client.post(LOGOUT, json={"refresh_token": alice.refresh_token})

    expect(await client.post(LOGOUT, json={"refresh_token": alice.refresh_token}), 204)


async def test_expired_refresh_token_is_401(
    alice: User, app: FastAPI, client: httpx.AsyncClient
) -> None:
    database: Database = app.state.db
    async with database.writer() as session:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == hash_refresh_token(alice.refresh_token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()

    response = await refresh(client, alice.refresh_token)

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_refresh_with_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    response = await refresh(client, "never-issued")

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_refresh_with_an_access_token_is_401(client: httpx.AsyncClient, alice: User) -> None:
    expect(await refresh(client, alice.access_token), 401)


async def test_refresh_without_token_field_is_422(client: httpx.AsyncClient) -> None:
    expect(await client.post(REFRESH, json={}), 422)


async def test_refresh_with_unknown_field_is_422(client: httpx.AsyncClient, alice: User) -> None:
    expect(
        await client.post(
            REFRESH, json={"refresh_token": alice.refresh_token, "user_id": alice.id}
        ),
        422,
    )


async def test_refresh_with_non_string_token_is_422(client: httpx.AsyncClient) -> None:
    expect(await client.post(REFRESH, json={"refresh_token": 12345}), 422)


async def test_refresh_and_logout_ignore_a_bad_authorization_header(
    client: httpx.AsyncClient, alice: User
) -> None:
    bad = {"Authorization": "Bearer garbage"}

    refreshed = await client.post(REFRESH, json={"refresh_token": alice.refresh_token}, headers=bad)
    logged_out = await client.post(
        LOGOUT, json={"refresh_token": refreshed.json()["refresh_token"]}, headers=bad
    )

    assert (refreshed.status_code, logged_out.status_code) == (200, 204), (
        refreshed.text,
        logged_out.text,
    )
