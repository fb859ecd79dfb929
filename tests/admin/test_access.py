"""Who may use /admin: active superusers only, signed in through the admin's own form."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from taskhub.app import create_app
from taskhub.settings import Settings
from tests.admin.conftest import SAME_ORIGIN, promote, sign_in
from tests.support.app import make_client, running
from tests.support.factories import MakeUser, User


async def test_a_normal_users_right_password_is_refused_and_shows_no_data(
    app: FastAPI, make_user: MakeUser
) -> None:
    user = await make_user()
    async with make_client(app) as http:
        refused = await sign_in(http, user)
        listing = await http.get("/admin/user/list", follow_redirects=True)

    assert refused.status_code == 400, refused.text
    assert "Invalid credentials" in refused.text
    assert "taskhub_admin" not in refused.headers.get("set-cookie", "")
    assert listing.url.path == "/admin/login"
    assert user.email not in listing.text


async def test_a_wrong_superuser_password_is_refused(app: FastAPI, superuser: User) -> None:
    async with make_client(app) as http:
        refused = await http.post(
            "/admin/login",
            data={"username": superuser.email, "password": "not the password"},
            headers=SAME_ORIGIN,
        )

    assert refused.status_code == 400, refused.text


async def test_a_superuser_signs_in_and_sees_the_users(
    admin: httpx.AsyncClient, make_user: MakeUser
) -> None:
    other = await make_user()

    listing = await admin.get("/admin/user/list")

    assert listing.status_code == 200, listing.text
    assert other.email in listing.text


async def test_the_session_cookie_is_httponly_lax_and_scoped_to_admin(
    app: FastAPI, superuser: User
) -> None:
    async with make_client(app) as http:
        signed_in = await sign_in(http, superuser)

    cookie = signed_in.headers["set-cookie"].lower()
    assert cookie.startswith("taskhub_admin=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/admin" in cookie


async def test_a_demoted_superuser_loses_the_admin_at_once(
    app: FastAPI, admin: httpx.AsyncClient, superuser: User
) -> None:
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET is_superuser = :no WHERE email = :email"),
            {"no": False, "email": superuser.email},
        )

    listing = await admin.get("/admin/user/list", follow_redirects=True)

    assert listing.url.path == "/admin/login"
    assert superuser.email not in listing.text


@pytest.mark.parametrize("view", ["user", "project", "task", "outbox-message"])
async def test_every_view_is_closed_to_anonymous_visitors(app: FastAPI, view: str) -> None:
    async with make_client(app) as http:
        answer = await http.get(f"/admin/{view}/list", follow_redirects=True)

    assert answer.url.path == "/admin/login"


async def test_admin_pages_allow_scripts_from_their_own_origin_only(
    admin: httpx.AsyncClient,
) -> None:
    page = await admin.get("/admin/user/list")

    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["referrer-policy"] == "same-origin"


async def test_a_superuser_promoted_later_can_sign_in(app: FastAPI, make_user: MakeUser) -> None:
    user = await make_user()
    await promote(app, user)
    async with make_client(app) as http:
        signed_in = await sign_in(http, user)

    assert signed_in.status_code == 302, signed_in.text


async def test_behind_https_the_session_cookie_is_secure(
    settings: Settings, superuser: User
) -> None:
    secure = settings.model_copy(update={"secure_cookies": True})
    async with running(create_app(secure)) as app, make_client(app) as http:
        signed_in = await sign_in(http, superuser)

    assert signed_in.status_code == 302, signed_in.text
    assert "secure" in signed_in.headers["set-cookie"].lower()
