"""X-Request-ID: echoed when valid, generated when absent or invalid (SPEC §2)."""

from __future__ import annotations

import re

import httpx
import pytest

VALID = re.compile(r"[A-Za-z0-9._-]{1,128}")


async def test_a_valid_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "trace-01.ABC_z"})

    assert response.headers["x-request-id"] == "trace-01.ABC_z"


async def test_a_request_id_of_128_characters_is_echoed(client: httpx.AsyncClient) -> None:
    request_id = "r" * 128

    response = await client.get("/healthz", headers={"X-Request-ID": request_id})

    assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize(
    "invalid",
    ["r" * 129, "has space", "slash/inside", "<script>", "ünïcode"],
)
async def test_an_invalid_request_id_is_replaced_by_a_generated_one(
    client: httpx.AsyncClient, invalid: str
) -> None:
    response = await client.get("/healthz", headers={b"X-Request-ID": invalid.encode()})

    echoed = response.headers["x-request-id"]
    assert echoed != invalid
    assert VALID.fullmatch(echoed)


async def test_a_request_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")

    assert VALID.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize(
    ("method", "path", "expected_status"),
    [
        ("GET", "/api/v1/tasks", 401),
        ("GET", "/no-such-page", 404),
        ("POST", "/api/v1/auth/register", 422),
    ],
)
async def test_error_responses_carry_the_request_id(
    client: httpx.AsyncClient, method: str, path: str, expected_status: int
) -> None:
    response = await client.request(
        method, path, headers={"X-Request-ID": "err-trace"}, json={} if method == "POST" else None
    )

    assert response.status_code == expected_status, response.text
    assert response.headers["x-request-id"] == "err-trace"
