"""POST /api/v1/auth/token: the OAuth2 password login and its failure limits (SPEC §3)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI

from taskhub.app import create_app
from tests.support.app import build_settings, make_client, running
from tests.support.factories import PASSWORD, User
from tests.support.http import expect

TOKEN = "/api/v1/auth/token"
WRONG = "wrong password!"


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(TOKEN, data={"username": email, "password": password})


async def test_login_returns_a_bearer_token_pair(client: httpx.AsyncClient, alice: User) -> None:
    response = await login(client, alice.email, PASSWORD)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert isinstance(body["expires_in"], int)
    assert body["expires_in"] > 0


async def test_login_access_token_authenticates(client: httpx.AsyncClient, alice: User) -> None:
    token = (await login(client, alice.email, PASSWORD)).json()["access_token"]

    assert (
        expect(
            await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}), 200
        )["id"]
        == alice.id
    )


async def test_login_accepts_grant_type_password(client: httpx.AsyncClient, alice: User) -> None:
    expect(
        await client.post(
            TOKEN, data={"grant_type": "password", "username": alice.email, "password": PASSWORD}
        ),
        200,
    )


async def test_login_rejects_other_grant_type(client: httpx.AsyncClient, alice: User) -> None:

    expect(
        await client.post(
            TOKEN,
            data={
                "grant_type": "client_credentials",
                "username": alice.email,
                "password": PASSWORD,
            },
        ),
        422,
    )


async def test_login_matches_email_case_insensitively(
    client: httpx.AsyncClient, alice: User
) -> None:
    expect(await login(client, alice.email.upper(), PASSWORD), 200)


async def test_login_with_wrong_password_is_401(client: httpx.AsyncClient, alice: User) -> None:

    response = await login(client, alice.email, WRONG)

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Incorrect email or password"}


async def test_login_with_unknown_email_is_401_with_the_same_body(
    client: httpx.AsyncClient, alice: User
) -> None:
    wrong_password = await login(client, alice.email, WRONG)

    response = await login(client, "nobody@example.com", WRONG)

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == wrong_password.json()


async def test_login_with_overlong_password_is_401(client: httpx.AsyncClient, alice: User) -> None:
    expect(await login(client, alice.email, PASSWORD + "x" * 10_000), 401)


async def test_login_with_nul_in_username_is_401(client: httpx.AsyncClient) -> None:
    expect(await login(client, "a\x00b@example.com", WRONG), 401)


async def test_login_with_huge_username_is_401(client: httpx.AsyncClient) -> None:
    expect(await login(client, "x" * 100_000 + "@example.com", WRONG), 401)


async def test_login_as_json_is_422(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.post(TOKEN, json={"username": alice.email, "password": PASSWORD})

    assert response.status_code == 422, response.text
    assert PASSWORD not in response.text


async def test_login_without_password_is_422(client: httpx.AsyncClient) -> None:
    expect(await client.post(TOKEN, data={"username": "a@example.com"}), 422)


async def test_eleventh_attempt_after_ten_failures_is_429_even_with_right_password(
    client: httpx.AsyncClient, alice: User
) -> None:
    for _ in range(10):
        expect(await login(client, alice.email, WRONG), 401)

    response = await login(client, alice.email, PASSWORD)

    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 15 * 60
    assert "detail" in response.json()


async def test_tenth_failure_is_still_401(client: httpx.AsyncClient, alice: User) -> None:
    for _ in range(9):
        await login(client, alice.email, WRONG)

    expect(await login(client, alice.email, WRONG), 401)


async def test_failed_login_limit_per_email_spans_client_addresses(
    alice: User, app: FastAPI
) -> None:
    for i in range(10):
        async with make_client(app, f"10.0.0.{i + 1}") as other:
            expect(await login(other, alice.email, WRONG), 401)

    async with make_client(app, "10.0.1.1") as fresh:
        response = await login(fresh, alice.email, PASSWORD)

    assert response.status_code == 429, response.text
    assert "retry-after" in response.headers


async def test_failed_login_limit_per_email_ignores_case(
    client: httpx.AsyncClient, alice: User
) -> None:
    for i in range(10):
        email = alice.email.upper() if i % 2 else alice.email
        await login(client, email, WRONG)

    expect(await login(client, alice.email, PASSWORD), 429)


async def test_failed_login_limit_for_one_email_does_not_block_another(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    for _ in range(10):
        await login(client, alice.email, WRONG)

    expect(await login(client, bob.email, PASSWORD), 200)


async def test_successful_logins_do_not_count_as_failures(
    client: httpx.AsyncClient, alice: User
) -> None:
    for _ in range(9):
        await login(client, alice.email, WRONG)
    for _ in range(5):
        expect(await login(client, alice.email, PASSWORD), 200)

    expect(await login(client, alice.email, PASSWORD), 200)


async def test_failures_for_unknown_emails_are_limited_too(client: httpx.AsyncClient) -> None:
    for _ in range(10):
        await login(client, "ghost@example.com", WRONG)

    expect(await login(client, "ghost@example.com", WRONG), 429)


async def test_hundred_and_first_attempt_from_one_address_is_429(alice: User, app: FastAPI) -> None:
    async with make_client(app, "192.0.2.7") as attacker:
        for i in range(100):
            failed = await login(attacker, f"victim{i}@example.com", WRONG)
            assert failed.status_code == 401, failed.text

        response = await login(attacker, alice.email, PASSWORD)

    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 15 * 60


async def test_failed_login_limit_per_address_does_not_block_other_addresses(
    alice: User, app: FastAPI
) -> None:
    async with make_client(app, "192.0.2.8") as attacker:
        for i in range(100):
            await login(attacker, f"victim{i}@example.com", WRONG)

    async with make_client(app, "198.51.100.9") as honest:
        response = await login(honest, alice.email, PASSWORD)

    assert response.status_code == 200, response.text


async def test_lower_address_limit_from_settings_is_honoured(
    alice: User, database_url: str, tmp_path: Path
) -> None:
    settings = build_settings(database_url, tmp_path, login_failures_per_address=5)

    async with running(create_app(settings)) as app, make_client(app, "192.0.2.9") as c:
        for i in range(5):
            expect(await login(c, f"x{i}@example.com", WRONG), 401)
        response = await login(c, alice.email, PASSWORD)

    assert response.status_code == 429, response.text


async def test_failures_expire_after_the_window(
    alice: User, database_url: str, tmp_path: Path
) -> None:
    settings = build_settings(
        database_url,
        tmp_path,
        login_failures_per_email=2,
        login_failure_window_seconds=1,
    )

    async with running(create_app(settings)) as app, make_client(app) as c:
        for _ in range(2):
            await login(c, alice.email, WRONG)
        expect(await login(c, alice.email, PASSWORD), 429)
        await asyncio.sleep(1.1)

        response = await login(c, alice.email, PASSWORD)

    assert response.status_code == 200, response.text
