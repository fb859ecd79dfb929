"""Admin fixtures: a superuser signed in to /admin through its own sign-in form."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.support.app import make_client
from tests.support.factories import MakeUser, User

# What a browser on an admin page sends with a form post (admin/guard.py wants it).
SAME_ORIGIN = {"Origin": "http://testserver"}

SignIn = Callable[[httpx.AsyncClient, User], Awaitable[httpx.Response]]


async def promote(app: FastAPI, user: User) -> None:
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET is_superuser = :yes WHERE email = :email"),
            {"yes": True, "email": user.email},
        )


async def sign_in(http: httpx.AsyncClient, user: User) -> httpx.Response:
    return await http.post(
        "/admin/login",
        data={"username": user.email, "password": user.password},
        headers=SAME_ORIGIN,
    )


@pytest.fixture
async def superuser(app: FastAPI, make_user: MakeUser) -> User:
    user = await make_user()
    await promote(app, user)
    return user


@pytest.fixture
async def admin(app: FastAPI, superuser: User) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding a superuser's admin session cookie."""
    async with make_client(app) as http:
        signed_in = await sign_in(http, superuser)
        assert signed_in.status_code == 302, signed_in.text
        yield http
