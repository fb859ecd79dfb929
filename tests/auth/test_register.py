"""POST /api/v1/auth/register (SPEC §3)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.support.contract import assert_public_user
from tests.support.factories import PASSWORD
from tests.support.http import expect

REGISTER = "/api/v1/auth/register"
SECRET_PASSWORD = "hunter2-but-longer"  # must never be echoed back


async def test_register_returns_the_user_without_secrets(client: httpx.AsyncClient) -> None:
    response = await client.post(
        REGISTER,
        json={"email": "alice@example.com", "password": PASSWORD, "display_name": "Alice"},
    )

    assert response.status_code == 201, response.text
    assert_public_user(response.json(), "alice@example.com", "Alice")
    assert PASSWORD not in response.text


async def test_register_display_name_defaults_to_empty(client: httpx.AsyncClient) -> None:
    assert (
        expect(
            await client.post(REGISTER, json={"email": "a@example.com", "password": PASSWORD}), 201
        )["display_name"]
        == ""
    )


async def test_register_stores_email_lower_cased(client: httpx.AsyncClient) -> None:
    assert (
        expect(
            await client.post(
                REGISTER, json={"email": "Alice.Smith@Example.COM", "password": PASSWORD}
            ),
            201,
        )["email"]
        == "alice.smith@example.com"
    )


async def test_registered_email_logs_in_with_any_case(client: httpx.AsyncClient) -> None:
    await client.post(REGISTER, json={"email": "Bob@Example.com", "password": PASSWORD})

    expect(
        await client.post(
            "/api/v1/auth/token", data={"username": "bOB@EXAMPLE.COM", "password": PASSWORD}
        ),
        200,
    )


async def test_register_duplicate_email_is_409(client: httpx.AsyncClient) -> None:
    expect(
        await client.post(REGISTER, json={"email": "dup@example.com", "password": PASSWORD}), 201
    )

    assert expect(
        await client.post(
            REGISTER, json={"email": "dup@example.com", "password": "another password"}
        ),
        409,
    ) == {"detail": "Email already registered"}


async def test_register_duplicate_email_in_other_case_is_409(client: httpx.AsyncClient) -> None:
    await client.post(REGISTER, json={"email": "dup@example.com", "password": PASSWORD})

    expect(
        await client.post(REGISTER, json={"email": "DUP@Example.Com", "password": PASSWORD}), 409
    )


@pytest.mark.parametrize(
    "password", ["a" * 10, "a" * 256, "é" * 10], ids=["min-10", "max-256", "unicode-10"]
)
async def test_register_accepts_password_length_bounds(
    client: httpx.AsyncClient, password: str
) -> None:
    expect(await client.post(REGISTER, json={"email": "a@example.com", "password": password}), 201)


async def test_register_accepts_display_name_of_100_chars(client: httpx.AsyncClient) -> None:
    expect(
        await client.post(
            REGISTER,
            json={"email": "a@example.com", "password": PASSWORD, "display_name": "d" * 100},
        ),
        201,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@example.com", "password": "short"},
        {"email": "a@example.com", "password": "a" * 9},
        {"email": "a@example.com", "password": "a" * 257},
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "a@", "password": PASSWORD},
        {"email": "", "password": PASSWORD},
        {"email": "a@example.com", "password": PASSWORD, "display_name": "d" * 101},
        {"email": "a@example.com", "password": PASSWORD, "is_superuser": True},
        {
            "email": "a@example.com",
            "password": PASSWORD,
            "id": "00000000-0000-0000-0000-000000000001",
        },
        {"email": "a@example.com", "password": 12345678901},
        {"email": 42, "password": PASSWORD},
        {"email": "a@example.com", "password": PASSWORD, "display_name": 7},
        {"email": "a@example.com", "password": PASSWORD, "display_name": None},
        {"email": "a@example.com", "password": PASSWORD, "display_name": "a\x00b"},
        {"email": "a\x00b@example.com", "password": PASSWORD},
        {"email": "a@example.com", "password": None},
        {"email": "a@example.com", "password": ["a" * 12]},
        {"email": "a@example.com"},
        {"password": PASSWORD},
    ],
    ids=[
        "password-short",
        "password-9",
        "password-257",
        "email-bad",
        "email-no-domain",
        "email-empty",
        "display-name-101",
        "unknown-is-superuser",
        "unknown-id",
        "password-int",
        "email-int",
        "display-name-int",
        "display-name-null",
        "display-name-nul-char",
        "email-nul-char",
        "password-null",
        "password-list",
        "password-missing",
        "email-missing",
    ],
)
async def test_register_rejects_invalid_body(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post(REGISTER, json=body)

    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


async def test_register_unknown_field_does_not_create_a_user(client: httpx.AsyncClient) -> None:
    await client.post(
        REGISTER, json={"email": "root@example.com", "password": PASSWORD, "is_superuser": True}
    )

    expect(
        await client.post(REGISTER, json={"email": "root@example.com", "password": PASSWORD}), 201
    )


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@example.com", "password": "x" * 257 + SECRET_PASSWORD},
        {"email": "a@example.com", "password": SECRET_PASSWORD[:9]},
        {"email": "not-an-email", "password": SECRET_PASSWORD},
        {"email": "a@example.com", "password": SECRET_PASSWORD, "extra": SECRET_PASSWORD},
        {"email": SECRET_PASSWORD, "password": SECRET_PASSWORD},
    ],
    ids=["too-long", "too-short", "bad-email", "unknown-field", "password-as-email"],
)
async def test_register_validation_error_never_echoes_the_password(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post(REGISTER, json=body)

    assert response.status_code == 422, response.text
    assert SECRET_PASSWORD[:9] not in response.text


async def test_register_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        REGISTER,
        content=b'{"email": "a@example.com", "password": ',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 422, response.text


async def test_register_needs_no_credentials_and_ignores_bad_ones(
    client: httpx.AsyncClient,
) -> None:
    expect(
        await client.post(
            REGISTER,
            json={"email": "a@example.com", "password": PASSWORD},
            headers={"Authorization": "Bearer garbage"},
        ),
        201,
    )


async def test_concurrent_registrations_of_one_email_create_one_user(
    client: httpx.AsyncClient,
) -> None:
    emails = ["race@example.com", "RACE@example.com", "race@Example.COM", "Race@example.com"]

    responses = await asyncio.gather(
        *(client.post(REGISTER, json={"email": e, "password": PASSWORD}) for e in emails)
    )

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409], [
        r.text for r in responses
    ]
