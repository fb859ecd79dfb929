"""A forged cross-site request to an admin action changes nothing (admin/guard.py)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.factories import MakeUser

CROSS_SITE = [
    {},  # no provenance at all
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "none"},  # typed into the address bar
    {"Referer": "https://evil.example/page"},
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
]
SAME_ORIGIN = [
    {"Sec-Fetch-Site": "same-origin"},
    {"Referer": "http://testserver/admin/user/list"},
    {"Origin": "http://testserver"},
]


@pytest.mark.parametrize(
    ("headers", "action_status", "victim_status"),
    # Refused: the victim can still use the API. Allowed: the deactivation locks them out.
    [(h, 403, 200) for h in CROSS_SITE] + [(h, 302, 401) for h in SAME_ORIGIN],
)
async def test_a_deactivation_is_done_only_from_an_admin_page(
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    make_user: MakeUser,
    headers: dict[str, str],
    action_status: int,
    victim_status: int,
) -> None:
    victim = await make_user()

    answer = await admin.get(f"/admin/user/action/deactivate?pks={victim.id}", headers=headers)

    assert answer.status_code == action_status, answer.text
    me = await client.get("/api/v1/users/me", headers=victim.headers)
    assert me.status_code == victim_status, me.text


async def test_a_cross_site_delete_is_refused(
    admin: httpx.AsyncClient, make_user: MakeUser
) -> None:
    victim = await make_user()

    forged = await admin.request(
        "DELETE", f"/admin/user/delete?pks={victim.id}", headers={"Origin": "https://evil.example"}
    )

    assert forged.status_code == 403, forged.text
