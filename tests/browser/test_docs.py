"""/docs and /redoc in Chromium: rendered from the app's own assets, Authorize works."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.support import PASSWORD, foreign, register
from tests.support.servers import ApiProcess

REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def test_swagger_ui_lists_the_operations_with_every_request_to_the_same_origin(
    page: Page, server: ApiProcess, requests_seen: list[str]
) -> None:
    page.goto("/docs")

    expect(page.locator("#operations-auth-login")).to_be_visible()
    expect(page.locator("#operations-tasks-list_tasks")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert f"{server.url}/openapi.json" in requests_seen
    assert foreign(requests_seen, server.url) == []


def test_swagger_authorize_signs_in_with_a_real_account_and_calls_the_api(
    page: Page, server: ApiProcess, requests_seen: list[str]
) -> None:
    email = "swagger-user@example.com"
    register(server.url, email)
    page.goto("/docs")

    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    dialog.locator("#oauth_username").fill(email)
    dialog.locator("#oauth_password").fill(PASSWORD)
    buttons = dialog.locator(".auth-btn-wrapper")
    buttons.locator("button.authorize").click()
    expect(buttons.get_by_text("Logout")).to_be_visible()  # the token request succeeded
    buttons.get_by_text("Close").click()

    operation = page.locator("#operations-users-get_me")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()

    response = operation.locator(".live-responses-table .response").first
    expect(response.locator(".response-col_status")).to_have_text(re.compile(r"^\s*200"))
    expect(response.locator(".response-col_description")).to_contain_text(email)
    assert f"{server.url}/api/v1/auth/token" in requests_seen
    assert foreign(requests_seen, server.url) == []


def test_redoc_renders_the_reference_and_nothing_leaves_the_origin(
    page: Page, server: ApiProcess, requests_seen: list[str], failures: dict[str, str]
) -> None:
    page.goto("/redoc")

    expect(page.locator('[data-section-id="operation/login"]')).to_be_attached()
    expect(page.locator("h2", has_text="Login")).to_be_visible()
    page.wait_for_load_state("networkidle")
    # ReDoc 2.x hard-wires Redocly's logo into its sidebar; the page's CSP stops the
    # browser from fetching it (ReDoc then hides the image), so nothing leaves.
    assert foreign(requests_seen, server.url) == [REDOCLY_LOGO]
    assert failures == {REDOCLY_LOGO: "csp"}
