"""Personal access tokens (SPEC §10): minted by a session, shown once, scoped, revocable."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update

from taskhub.app import create_app
from taskhub.auth.models import PersonalToken
from taskhub.db import utcnow
from tests.support.app import build_settings, make_client, running
from tests.support.factories import MakeUser, register
from tests.support.pats import bearer, mint_token

TOKENS = "/api/v1/tokens"
ME = "/api/v1/users/me"


async def _row(app: FastAPI, token_id: str) -> PersonalToken:
    async with app.state.db.reader() as session:
        row: PersonalToken | None = await session.get(PersonalToken, uuid.UUID(token_id))
    assert row is not None, f"no personal_tokens row {token_id}"
    return row


async def _last_used_after(
    app: FastAPI, client: httpx.AsyncClient, token: dict[str, Any], requests: int
) -> datetime:
    """Authenticate `requests` times with the token, then read its stored last_used_at."""
    for _ in range(requests):
        answer = await client.get(ME, headers=bearer(token["token"]))
        assert answer.status_code == 200, answer.text
    last_used_at = (await _row(app, token["id"])).last_used_at
    assert last_used_at is not None
    return last_used_at


async def _set(app: FastAPI, token_id: str, **values: object) -> None:
    async with app.state.db.writer() as session:
        await session.execute(
            update(PersonalToken).where(PersonalToken.id == uuid.UUID(token_id)).values(**values)
        )
        await session.commit()


async def test_a_minted_token_is_shown_once_and_stored_only_as_its_sha256(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)

    created = await client.post(
        TOKENS,
        json={
            "name": "ci",
            "scopes": ["tasks:write", "tasks:read", "tasks:read"],
            "expires_at": expires.isoformat(),
        },
        headers=alice.headers,
    )

    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["token"]
    assert secret.startswith("th_pat_")
    assert len(secret) == len("th_pat_") + 43
    assert body["scopes"] == ["tasks:read", "tasks:write"]
    assert body["hint"] == f"th_pat_…{secret[-4:]}"
    assert datetime.fromisoformat(body["expires_at"]) == expires
    row = await _row(app, body["id"])
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    async with app.state.db.reader() as session:
        dump = (await session.execute(text("SELECT * FROM personal_tokens"))).all()
    assert secret not in repr(dump)
    listed = await client.get(TOKENS, headers=alice.headers)
    assert listed.status_code == 200, listed.text
    assert secret not in listed.text
    [item] = listed.json()["items"]
    assert item == {k: v for k, v in body.items() if k != "token"}
    assert item["last_used_at"] is None


async def test_a_token_acts_as_its_owner_within_its_scopes(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    token = (await mint_token(client, alice.headers, ["tasks:write", "tasks:read"]))["token"]

    created = await client.post("/api/v1/tasks", json={"title": "from ci"}, headers=bearer(token))
    me = await client.get(ME, headers=bearer(token))
    projects = await client.get("/api/v1/projects", headers=bearer(token))

    assert created.status_code == 201, created.text
    seen = await client.get(f"/api/v1/tasks/{created.json()['id']}", headers=alice.headers)
    assert seen.status_code == 200, seen.text
    assert me.status_code == 200, me.text
    assert me.json()["id"] == alice.id
    assert projects.status_code == 403, projects.text


async def test_last_used_at_is_written_at_most_once_a_minute(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    token = await mint_token(client, alice.headers, ["tasks:read"])

    first = await _last_used_after(app, client, token, 3)
    assert utcnow() - first < timedelta(minutes=1)
    assert await _last_used_after(app, client, token, 3) == first

    await _set(app, token["id"], last_used_at=first - timedelta(minutes=2))
    later = await _last_used_after(app, client, token, 1)

    assert later > first - timedelta(minutes=1)
    listed = (await client.get(TOKENS, headers=alice.headers)).json()["items"]
    assert datetime.fromisoformat(listed[0]["last_used_at"]) == later


async def test_a_revoked_token_is_refused_on_its_next_request(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    token = await mint_token(client, alice.headers, ["tasks:read"])
    assert (await client.get("/api/v1/tasks", headers=bearer(token["token"]))).status_code == 200

    deleted = await client.delete(f"{TOKENS}/{token['id']}", headers=alice.headers)

    assert deleted.status_code == 204, deleted.text
    refused = await client.get("/api/v1/tasks", headers=bearer(token["token"]))
    assert refused.status_code == 401, refused.text
    assert refused.headers["www-authenticate"] == "Bearer"
    assert (await client.get(TOKENS, headers=alice.headers)).json()["items"] == []
    again = await client.delete(f"{TOKENS}/{token['id']}", headers=alice.headers)
    assert again.status_code == 404, again.text


async def test_revocation_on_one_instance_holds_on_another_at_once(
    database_url: str, client: httpx.AsyncClient, make_user: MakeUser, tmp_path: Path
) -> None:
    alice = await make_user()
    token = await mint_token(client, alice.headers, ["tasks:read"])
    other_settings = build_settings(database_url, tmp_path)
    async with running(create_app(other_settings)) as other, make_client(other) as elsewhere:
        warm = await elsewhere.get("/api/v1/tasks", headers=bearer(token["token"]))
        assert warm.status_code == 200, warm.text

        await client.delete(f"{TOKENS}/{token['id']}", headers=alice.headers)

        refused = await elsewhere.get("/api/v1/tasks", headers=bearer(token["token"]))
        assert refused.status_code == 401, refused.text


async def test_an_expired_token_is_refused(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    token = await mint_token(client, alice.headers, ["tasks:read"])
    await _set(app, token["id"], expires_at=utcnow() - timedelta(seconds=1))

    refused = await client.get("/api/v1/tasks", headers=bearer(token["token"]))

    assert refused.status_code == 401, refused.text


async def test_a_token_cannot_mint_list_or_revoke_tokens(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    every_scope = ["tasks:read", "tasks:write", "projects:read", "projects:write", "webhooks"]
    token = await mint_token(client, alice.headers, every_scope)
    auth = bearer(token["token"])

    minted = await client.post(TOKENS, json={"name": "x", "scopes": ["tasks:read"]}, headers=auth)
    listed = await client.get(TOKENS, headers=auth)
    revoked = await client.delete(f"{TOKENS}/{token['id']}", headers=auth)

    assert [minted.status_code, listed.status_code, revoked.status_code] == [403, 403, 403]
    async with app.state.db.reader() as session:
        assert len((await session.scalars(select(PersonalToken.id))).all()) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["admin"]},
        {"name": "x", "scopes": "tasks:read"},
        {"name": " ", "scopes": ["tasks:read"]},
        {"name": "x" * 101, "scopes": ["tasks:read"]},
        {"scopes": ["tasks:read"]},
        {"name": "x", "scopes": ["tasks:read"], "expires_at": "2030-01-01T00:00:00"},
        {"name": "x", "scopes": ["tasks:read"], "expires_at": "2001-01-01T00:00:00Z"},
        {"name": "x", "scopes": ["tasks:read"], "user_id": str(uuid.uuid4())},
        {"name": "x", "scopes": ["tasks:read"], "token": "th_pat_" + "a" * 43},
    ],
    ids=[
        "no-scopes",
        "unknown-scope",
        "scopes-not-a-list",
        "blank-name",
        "long-name",
        "no-name",
        "expiry-without-offset",
        "expiry-in-the-past",
        "mass-assigned-owner",
        "mass-assigned-secret",
    ],
)
async def test_bad_token_requests_are_422_and_mint_nothing(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, body: dict[str, object]
) -> None:
    alice = await make_user()

    response = await client.post(TOKENS, json=body, headers=alice.headers)

    assert response.status_code == 422, response.text
    async with app.state.db.reader() as session:
        assert (await session.scalars(select(PersonalToken.id))).all() == []


@pytest.fixture
async def limited(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An app that allows 3 authenticated requests per user per minute."""
    settings = build_settings(database_url, tmp_path, rate_limit_per_minute=3)
    async with running(create_app(settings)) as app, make_client(app) as client:
        yield client


async def test_token_requests_count_against_the_owners_rate_limit(
    limited: httpx.AsyncClient,
) -> None:
    alice = await register(limited)
    token = await mint_token(limited, alice.headers, ["tasks:read"])  # 1 of 3
    assert (await limited.get(ME, headers=alice.headers)).status_code == 200  # 2 of 3
    assert (await limited.get(ME, headers=bearer(token["token"]))).status_code == 200  # 3 of 3

    over = await limited.get(ME, headers=bearer(token["token"]))

    assert over.status_code == 429, over.text
    assert (await limited.get(ME, headers=alice.headers)).status_code == 429
