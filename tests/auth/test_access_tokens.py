"""Access tokens: anything but a valid, unexpired, correctly signed one is 401 (SPEC §2, §3)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from taskhub.settings import Settings, secret_of
from tests.support.factories import MakeUser, User
from tests.support.http import expect

ME = "/api/v1/users/me"
Craft = Callable[..., str]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(user_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user_id,
        "iat": now,
        "exp": now + 600,
        "iss": "taskhub",
        "typ": "access",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def craft(settings: Settings) -> Craft:
    """Sign claims for `user_id` with the test secret (or `key`), overriding any claim."""

    def factory(user_id: str, key: str | None = None, **overrides: Any) -> str:
        return jwt.encode(
            _claims(user_id, **overrides), key or secret_of(settings), algorithm="HS256"
        )

    return factory


async def assert_rejected(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert "detail" in response.json()


async def test_crafted_token_with_the_right_key_is_accepted(
    client: httpx.AsyncClient, alice: User, craft: Craft
) -> None:
    expect(await client.get(ME, headers={"Authorization": f"Bearer {craft(alice.id)}"}), 200)


async def test_expired_access_token_is_401(
    client: httpx.AsyncClient, alice: User, craft: Craft
) -> None:
    now = int(time.time())

    await assert_rejected(client, craft(alice.id, iat=now - 3600, exp=now - 60))


async def test_token_with_tampered_signature_is_401(client: httpx.AsyncClient, alice: User) -> None:
    header, payload, signature = alice.access_token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    await assert_rejected(client, f"{header}.{payload}.{flipped}")


async def test_token_with_tampered_subject_is_401(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    header, payload, signature = alice.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = bob.id
    forged = _b64(json.dumps(claims).encode())

    await assert_rejected(client, f"{header}.{forged}.{signature}")


async def test_unsigned_alg_none_token_is_401(client: httpx.AsyncClient, alice: User) -> None:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(alice.id)).encode())

    await assert_rejected(client, f"{header}.{payload}.")


async def test_token_signed_with_another_key_is_401(
    client: httpx.AsyncClient, alice: User, craft: Craft
) -> None:
    await assert_rejected(client, craft(alice.id, key="another-secret-" + "y" * 40))


async def test_token_signed_with_another_algorithm_is_401(
    client: httpx.AsyncClient, alice: User, settings: Settings
) -> None:
    token = jwt.encode(_claims(alice.id), secret_of(settings), algorithm="HS384")

    await assert_rejected(client, token)


async def test_refresh_token_used_as_bearer_is_401(client: httpx.AsyncClient, alice: User) -> None:
    await assert_rejected(client, alice.refresh_token)


@pytest.mark.parametrize(
    "overrides",
    [{"typ": "refresh"}, {"typ": None}, {"exp": None}, {"iss": "someone-else"}, {"sub": "me"}],
    ids=["typ-refresh", "typ-missing", "exp-missing", "wrong-issuer", "sub-not-uuid"],
)
async def test_signed_token_with_wrong_claims_is_401(
    client: httpx.AsyncClient, alice: User, craft: Craft, overrides: dict[str, Any]
) -> None:
    await assert_rejected(client, craft(alice.id, **overrides))


async def test_signed_token_for_a_user_that_does_not_exist_is_401(
    client: httpx.AsyncClient, craft: Craft
) -> None:
    await assert_rejected(client, craft(str(uuid.uuid4())))


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "", "eyJhbGciOiJIUzI1NiJ9..", "x" * 5000, "Ünïcode.tøken.ß"],
    ids=["word", "three-parts", "empty", "empty-parts", "huge", "non-ascii"],
)
async def test_garbage_bearer_token_is_401(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(ME, headers={b"Authorization": f"Bearer {token}".encode()})

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_non_bearer_scheme_is_401(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.get(ME, headers={"Authorization": f"Basic {alice.access_token}"})

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/users/me"),
        ("GET", "/api/v1/tasks"),
        ("GET", f"/api/v1/tasks/{uuid.uuid4()}"),
        ("GET", "/api/v1/tasks/not-a-uuid"),
        ("PATCH", f"/api/v1/tasks/{uuid.uuid4()}"),
        ("DELETE", f"/api/v1/tasks/{uuid.uuid4()}"),
        ("POST", "/api/v1/tasks"),
        ("GET", "/api/v1/projects"),
        ("POST", "/api/v1/projects"),
        ("GET", f"/api/v1/projects/{uuid.uuid4()}"),
        ("GET", "/api/v1/projects/not-a-uuid"),
        ("PATCH", f"/api/v1/projects/{uuid.uuid4()}"),
        ("DELETE", f"/api/v1/projects/{uuid.uuid4()}"),
        ("GET", f"/api/v1/projects/{uuid.uuid4()}/members"),
        ("PUT", f"/api/v1/projects/{uuid.uuid4()}/members/{uuid.uuid4()}"),
        ("DELETE", f"/api/v1/projects/{uuid.uuid4()}/members/{uuid.uuid4()}"),
    ],
)
async def test_protected_route_without_credentials_is_401(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, json={})

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_protected_route_with_invalid_body_and_no_credentials_is_401(
    client: httpx.AsyncClient,
) -> None:
    expect(await client.post("/api/v1/projects", json={"name": 5, "bogus": True}), 401)


async def test_protected_route_with_valid_token_of_other_user_still_hides_target(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    # Sanity check that the 401 above is about credentials: with them, unknown is 404.
    alice: User = await make_user()

    expect(await client.get(f"/api/v1/projects/{uuid.uuid4()}", headers=alice.headers), 404)
