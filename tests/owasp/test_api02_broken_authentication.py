"""OWASP API2:2023 Broken Authentication.

tests/auth/test_access_tokens.py covers the classic forgeries one by one (`alg: none`,
another key, a tampered `sub` or signature, expiry, a refresh token as bearer); here are
the variants attackers actually try next, token theft, brute force and credential storage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import text, update

from taskhub.auth.models import PersonalToken
from taskhub.db import utcnow
from taskhub.settings import Settings, secret_of
from tests.support.factories import PASSWORD, MakeUser, User
from tests.support.http import expect
from tests.support.pats import mint_token

ME = "/api/v1/users/me"
ATTACKER_KEY = "attacker-controlled-key-" + "z" * 40


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256(claims: dict[str, Any], key: str) -> str:
    """Sign `claims` by hand: PyJWT refuses to encode some of the malformed ones we need."""
    signing_input = ".".join(
        _b64(json.dumps(part).encode()) for part in ({"alg": "HS256", "typ": "JWT"}, claims)
    )
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _claims(user_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": user_id,
        "iat": now,
        "exp": now + 600,
        "iss": "taskhub",
        "typ": "access",
        **overrides,
    }


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(ME, headers={"Authorization": f"Bearer {token}"})


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})


# --- forged access tokens -------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", ["", "c2lnbmF0dXJl"])
async def test_unsigned_token_in_any_spelling_of_alg_none_is_401(
    client: httpx.AsyncClient, alice: User, alg: str, signature: str
) -> None:
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(alice.id)).encode())

    response = await _me(client, f"{header}.{payload}.{signature}")

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [
        {"jwk": {"kty": "oct", "k": _b64(ATTACKER_KEY.encode())}},
        {"jku": "https://attacker.example/keys.json"},
        {"kid": "../../../../dev/null"},
        {"x5u": "https://attacker.example/cert.pem"},
    ],
    ids=["embedded-jwk", "jku", "kid-path-traversal", "x5u"],
)
async def test_token_that_names_its_own_key_is_401(
    client: httpx.AsyncClient, alice: User, header: dict[str, Any]
) -> None:
    token = jwt.encode(_claims(alice.id), ATTACKER_KEY, algorithm="HS256", headers=header)

    expect(await _me(client, token), 401)


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": "tomorrow"},
        {"exp": [9999999999]},
        {"iat": "yesterday"},
        {"sub": 12345},
        {"sub": ["a", "b"]},
        {"sub": {"id": "x"}},
        {"typ": ["access"]},
        {"iss": None},
    ],
    ids=[
        "exp-str",
        "exp-huge",
        "iat-str",
        "sub-int",
        "sub-list",
        "sub-object",
        "typ-list",
        "iss-null",
    ],
)
async def test_correctly_signed_token_with_malformed_claims_is_401_not_500(
    client: httpx.AsyncClient, alice: User, settings: Settings, overrides: dict[str, Any]
) -> None:
    token = _hs256(_claims(alice.id, **overrides), secret_of(settings))

    expect(await _me(client, token), 401)


async def test_hand_signed_token_with_the_right_key_is_accepted(
    client: httpx.AsyncClient, alice: User, settings: Settings
) -> None:
    expect(await _me(client, _hs256(_claims(alice.id), secret_of(settings))), 200)


async def test_changing_any_character_of_a_valid_token_makes_it_401(
    client: httpx.AsyncClient, alice: User
) -> None:
    token = alice.access_token
    # The last character of a segment may only carry padding bits; skip those and the dots.
    ends = {i - 1 for i, ch in enumerate(token) if ch == "."} | {len(token) - 1}
    positions = [i for i, ch in enumerate(token) if ch != "." and i not in ends]

    statuses = set()
    for i in positions:
        swapped = "A" if token[i] != "A" else "Q"
        statuses.add((await _me(client, token[:i] + swapped + token[i + 1 :])).status_code)

    assert statuses == {401}
    expect(await _me(client, token), 200)


@pytest.mark.parametrize(
    "where", ["query-access_token", "query-token", "cookie", "two-bearers", "lowercase-scheme-only"]
)
async def test_a_token_presented_anywhere_but_one_bearer_header_is_401(
    client: httpx.AsyncClient, alice: User, where: str
) -> None:
    token = alice.access_token
    request: dict[str, Any] = {
        "query-access_token": {"params": {"access_token": token}},
        "query-token": {"params": {"token": token}},
        "cookie": {"headers": {"Cookie": f"access_token={token}; Authorization=Bearer {token}"}},
        "two-bearers": {"headers": {"Authorization": f"Bearer {token} Bearer {token}"}},
        "lowercase-scheme-only": {"headers": {"Authorization": "bearer"}},
    }[where]

    expect(await client.get(ME, **request), 401)


async def test_access_tokens_are_short_lived(client: httpx.AsyncClient, alice: User) -> None:
    login = (await _login(client, alice.email, alice.password)).json()
    claims = jwt.decode(login["access_token"], options={"verify_signature": False})

    assert 0 < login["expires_in"] <= 3600
    assert claims["exp"] - claims["iat"] == login["expires_in"]


# --- stolen refresh tokens ------------------------------------------------------------------


async def test_a_thief_who_rotates_first_is_cut_off_when_the_owner_refreshes(
    client: httpx.AsyncClient, alice: User
) -> None:
    stolen = await _refresh(client, alice.refresh_token)  # the thief is faster than Alice
    assert stolen.status_code == 200, stolen.text

    owner_attempt = await _refresh(client, alice.refresh_token)
    thief_next = await _refresh(client, stolen.json()["refresh_token"])

    assert owner_attempt.status_code == 401, owner_attempt.text
    assert thief_next.status_code == 401, thief_next.text
    expect(await _login(client, alice.email, alice.password), 200)


# --- brute force ----------------------------------------------------------------------------


async def test_brute_force_spread_over_case_and_whitespace_variants_of_one_email_is_429(
    client: httpx.AsyncClient, alice: User
) -> None:
    local, domain = alice.email.split("@")
    variants = [
        alice.email.upper(),
        f"  {alice.email}",
        f"{alice.email}\t",
        f"{local.capitalize()}@{domain.upper()}",
    ]
    for attempt in range(10):
        failed = await _login(client, variants[attempt % len(variants)], f"guess-{attempt:06d}")
        assert failed.status_code == 401, failed.text

    response = await _login(client, alice.email, PASSWORD)

    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1


# --- credentials at rest --------------------------------------------------------------------


async def test_passwords_and_refresh_tokens_are_stored_only_as_hashes(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    alice: User = await make_user()

    async with app.state.db.engine.connect() as conn:
        stored_password = await conn.scalar(
            text("SELECT password_hash FROM users WHERE email = :e"), {"e": alice.email}
        )
        token_rows = (await conn.execute(text("SELECT * FROM refresh_tokens"))).all()

    assert stored_password.startswith("$argon2id$")
    assert alice.password not in stored_password
    dumped = repr(token_rows)
    assert token_rows
    assert alice.refresh_token not in dumped
    assert alice.access_token not in dumped


# --- personal access tokens ---------------------------------------------------------------


async def test_a_personal_token_with_any_character_changed_is_401(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    alice = await make_user()
    token = (await mint_token(client, alice.headers, ["tasks:read"]))["token"]
    secret_start = len("th_pat_")
    variants = [
        token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
        for i in range(secret_start, len(token))
    ]
    variants += [token[:-1], token + "A", token.upper(), token.replace("th_pat_", "th_pat-")]

    statuses = {(await _me(client, variant)).status_code for variant in variants}

    assert statuses == {401}
    assert (await _me(client, token)).status_code == 200


async def test_a_revoked_or_expired_personal_token_is_401(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    alice = await make_user()
    revoked = await mint_token(client, alice.headers, ["tasks:read"])
    expired = await mint_token(client, alice.headers, ["tasks:read"])
    await client.delete(f"/api/v1/tokens/{revoked['id']}", headers=alice.headers)
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            update(PersonalToken)
            .where(PersonalToken.id == uuid.UUID(expired["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    answers = [await _me(client, t["token"]) for t in (revoked, expired)]

    assert [a.status_code for a in answers] == [401, 401]
    assert all(a.headers["www-authenticate"] == "Bearer" for a in answers)


async def test_personal_tokens_are_stored_only_as_hashes(
    client: httpx.AsyncClient, make_user: MakeUser, app: FastAPI
) -> None:
    alice = await make_user()
    token = (await mint_token(client, alice.headers, ["tasks:read"]))["token"]

    async with app.state.db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM personal_tokens"))).all()

    assert rows
    assert token not in repr(rows)
    assert token.removeprefix("th_pat_") not in repr(rows)
