"""The users view: search, no secrets, and deactivation that takes effect at once."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from structlog.testing import capture_logs

from tests.admin.conftest import SAME_ORIGIN, sign_in
from tests.support.app import make_client
from tests.support.factories import MakeTask, MakeUser, User


async def _deactivate(admin: httpx.AsyncClient, user: User) -> httpx.Response:
    return await admin.get(
        f"/admin/user/action/deactivate?pks={user.id}", headers={"Sec-Fetch-Site": "same-origin"}
    )


async def _reactivate(admin: httpx.AsyncClient, user: User) -> httpx.Response:
    return await admin.get(
        f"/admin/user/action/reactivate?pks={user.id}", headers={"Sec-Fetch-Site": "same-origin"}
    )


async def test_search_by_email_finds_only_the_match(
    admin: httpx.AsyncClient, make_user: MakeUser
) -> None:
    wanted = await make_user("findme@example.com")
    other = await make_user()

    found = await admin.get("/admin/user/list", params={"search": "findme"})

    assert found.status_code == 200, found.text
    assert wanted.email in found.text
    assert other.email not in found.text


async def test_no_page_or_export_shows_a_password_or_token_hash(
    admin: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    pages = [
        await admin.get("/admin/user/list"),
        await admin.get(f"/admin/user/details/{user.id}"),
        await admin.get("/admin/user/export/csv"),
        await admin.get("/admin/user/export/json"),
    ]

    for page in pages:
        assert page.status_code == 200, page.text
        assert "$argon2" not in page.text
        assert "password" not in page.text.lower().replace('type="password"', "")
    assert user.email in pages[2].text


async def test_users_cannot_be_created_edited_or_deleted_through_generic_forms(
    admin: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()

    create = await admin.get("/admin/user/create")
    edit = await admin.get(f"/admin/user/edit/{user.id}")

    assert create.status_code == 403, create.text
    assert edit.status_code == 403, edit.text


async def test_deactivation_stops_tokens_refresh_and_sign_in_at_once(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, make_user: MakeUser, make_task: MakeTask
) -> None:
    user = await make_user()
    task = await make_task(user)
    # Warm the hot path: the token is now verified from cache and the task cached.
    warm = await client.get(f"/api/v1/tasks/{task['id']}", headers=user.headers)
    assert warm.status_code == 200, warm.text

    deactivated = await _deactivate(admin, user)

    assert deactivated.status_code == 302, deactivated.text
    read = await client.get(f"/api/v1/tasks/{task['id']}", headers=user.headers)
    assert read.status_code == 401, read.text
    me = await client.get("/api/v1/users/me", headers=user.headers)
    assert me.status_code == 401, me.text
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
    )
    assert refreshed.status_code == 401, refreshed.text
    login = await client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": user.password}
    )
    assert login.status_code == 401, login.text
    assert login.json() == {"detail": "Incorrect email or password"}


async def test_reactivation_lets_the_user_sign_in_again(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user()
    await _deactivate(admin, user)

    reactivated = await _reactivate(admin, user)

    assert reactivated.status_code == 302, reactivated.text
    login = await client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": user.password}
    )
    assert login.status_code == 200, login.text
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.status_code == 200, me.text


async def test_a_deactivated_superuser_is_out_of_the_admin_at_once(
    app: FastAPI, admin: httpx.AsyncClient, make_user: MakeUser
) -> None:
    from tests.admin.conftest import promote

    second = await make_user()
    await promote(app, second)
    async with make_client(app) as other_admin:
        assert (await sign_in(other_admin, second)).status_code == 302

        await _deactivate(admin, second)
        listing = await other_admin.get("/admin/user/list", follow_redirects=True)

    assert listing.url.path == "/admin/login"


async def test_a_superuser_cannot_deactivate_themselves(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, superuser: User
) -> None:
    await _deactivate(admin, superuser)

    login = await client.post(
        "/api/v1/auth/token", data={"username": superuser.email, "password": superuser.password}
    )
    assert login.status_code == 200, login.text


async def test_every_admin_change_is_logged_with_the_admins_id(
    admin: httpx.AsyncClient, superuser: User, make_user: MakeUser
) -> None:
    user = await make_user()

    with capture_logs() as logs:
        await _deactivate(admin, user)
        await _reactivate(admin, user)

    changes = [entry for entry in logs if entry["event"] == "admin_change"]
    assert [(c["action"], c["user_id"], c["admin_id"]) for c in changes] == [
        ("deactivate", user.id, superuser.id),
        ("reactivate", user.id, superuser.id),
    ]


async def test_sign_in_form_needs_a_same_origin_post(app: FastAPI, superuser: User) -> None:
    async with make_client(app) as http:
        forged = await http.post(
            "/admin/login",
            data={"username": superuser.email, "password": superuser.password},
            headers={"Origin": "https://evil.example"},
        )
        real = await http.post(
            "/admin/login",
            data={"username": superuser.email, "password": superuser.password},
            headers=SAME_ORIGIN,
        )

    assert forged.status_code == 403, forged.text
    assert real.status_code == 302, real.text
