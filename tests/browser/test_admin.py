"""/admin in Chromium: a normal user is refused, a superuser deactivates an account."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.browser.support import ADMIN_EMAIL, PASSWORD, foreign, register
from tests.support.servers import ApiProcess


def _sign_in(page: Page, email: str) -> None:
    page.goto("/admin/login")
    page.locator("input[name=username]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Login").click()


def test_a_normal_user_is_refused_and_sees_no_data(
    page: Page, server: ApiProcess, requests_seen: list[str]
) -> None:
    email = "browser-normal@example.com"
    register(server.url, email)

    _sign_in(page, email)

    expect(page.get_by_text("Invalid credentials.").first).to_be_visible()
    page.goto("/admin/user/list")
    expect(page).to_have_url(f"{server.url}/admin/login")
    assert ADMIN_EMAIL not in page.content()
    assert foreign(requests_seen, server.url) == []


def test_a_superuser_lists_users_and_deactivates_one(
    page: Page, server: ApiProcess, requests_seen: list[str]
) -> None:
    email = "browser-victim@example.com"
    headers = register(server.url, email)

    _sign_in(page, ADMIN_EMAIL)
    page.goto("/admin/user/list")
    row = page.locator("tbody tr", has_text=email)
    expect(row).to_be_visible()
    row.locator("input.select-box").check()
    page.get_by_role("button", name="Actions").click()
    page.locator("#action-customconfirm-deactivate").click()
    page.locator("#action-custom-modal-deactivate").click()

    expect(page).to_have_url(f"{server.url}/admin/user/list")
    with httpx.Client(base_url=server.url) as http:
        me = http.get("/api/v1/users/me", headers=headers)
    assert me.status_code == 401, me.text
    assert foreign(requests_seen, server.url) == []
