"""A forged cross-site request to an admin action changes nothing (admin/guard.py)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.factories import MakeUser


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no provenance at all
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "none"},  # typed into the address bar
        {"Referer": "https://evil.example/page"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ],
)
async def test_a_cross_site_deactivation_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    make_user: MakeUser,
    headers: dict[str, str],
) -> None:
    victim = await make_user()

    forged = await admin.get(f"/admin/user/action/deactivate?pks={victim.id}", headers=headers)

    assert forged.status_code == 403, forged.text
    me = await client.get("/api/v1/users/me", headers=victim.headers)
    assert me.status_code == 200, me.text


async def test_a_cross_site_delete_is_refused(
    admin: httpx.AsyncClient, make_user: MakeUser
) -> None:
    victim = await make_user()

    forged = await admin.request(
        "DELETE", f"/admin/user/delete?pks={victim.id}", headers={"Origin": "https://evil.example"}
    )

    assert forged.status_code == 403, forged.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin"},
        {"Referer": "http://testserver/admin/user/list"},
        {"Origin": "http://testserver"},
    ],
)
async def test_the_same_action_from_an_admin_page_works(
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    make_user: MakeUser,
    headers: dict[str, str],
) -> None:
    user = await make_user()

    done = await admin.get(f"/admin/user/action/deactivate?pks={user.id}", headers=headers)

    assert done.status_code == 302, done.text
    me = await client.get("/api/v1/users/me", headers=user.headers)
    assert me.status_code == 401, me.text
