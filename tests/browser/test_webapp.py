"""The web app at / in Chromium: the main flow, escaping, CSRF and keyboard-only use."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Locator, Page, expect

from tests.browser.support import PASSWORD, foreign, register
from tests.support.servers import ApiProcess

XSS = "<script>alert(1)</script>"


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Console errors, CSP violations included: a page of ours must cause none."""
    errors: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", seen)
    return errors


def _email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


def _sign_up(page: Page, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _sign_in(page: Page, email: str) -> None:
    page.goto("/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def _add_task(page: Page, title: str) -> None:
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_role("button", name="Add task").click()
    expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()


def _api_titles(server: ApiProcess, email: str) -> list[str]:
    with httpx.Client(base_url=server.url) as http:
        token = http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        listed = http.get("/api/v1/tasks", headers=headers)
    assert listed.status_code == 200, listed.text
    return sorted(task["title"] for task in listed.json()["items"])


def test_sign_up_create_edit_complete_search_share_and_sign_out(
    page: Page, server: ApiProcess, requests_seen: list[str], console_errors: list[str]
) -> None:
    owner, friend = _email("owner"), _email("friend")
    register(server.url, friend)

    _sign_up(page, owner)
    _add_task(page, "Buy paint")

    # Edit: title, labels and a due date in the browser's timezone.
    page.get_by_role("link", name="Buy paint", exact=True).click()
    page.get_by_label("Title", exact=True).fill("Buy blue paint")
    page.get_by_label("Labels").first.fill("home, diy")
    page.get_by_label("Due").first.fill("2026-12-24T18:30")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Buy blue paint")).to_be_visible()
    expect(page.locator(".label", has_text="diy").first).to_be_visible()

    # Complete it in place (app.js), then find it again through search.
    _nav(page, "Tasks")
    box = page.get_by_role("checkbox", name="Complete Buy blue paint")
    expect(box).to_have_attribute("aria-checked", "false")
    box.click()
    expect(box).to_have_attribute("aria-checked", "true")
    page.get_by_label("Search").fill("blue")
    page.get_by_label("Search").press("Enter")
    expect(page.get_by_role("heading", name="Search results for “blue”")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Complete Buy blue paint")).to_have_attribute(
        "aria-checked", "true"
    )

    # A project, a task in it, shared with a second person who then sees it.
    _nav(page, "Projects")
    page.get_by_label("Name").fill("Kitchen")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Kitchen")).to_be_visible()
    _add_task(page, "Paint the walls")
    page.get_by_label("Member email").fill(friend)
    page.get_by_label("Role", exact=True).select_option("editor")
    page.get_by_role("button", name="Share").click()
    expect(page.get_by_role("cell", name=friend, exact=True)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()

    _sign_in(page, friend)
    expect(page.get_by_role("link", name="Paint the walls")).to_be_visible()
    expect(page.get_by_role("link", name="Buy blue paint")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/signin")
    page.goto("/")
    expect(page).to_have_url(f"{server.url}/signin")  # the session is gone

    with httpx.Client(base_url=server.url) as http:
        token = http.post("/api/v1/auth/token", data={"username": owner, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        [task] = http.get("/api/v1/tasks", headers=headers, params={"q": "blue"}).json()["items"]
    assert task["done"] is True
    assert task["labels"] == ["home", "diy"]
    assert task["due_at"].startswith("2026-12-24T")  # the timezone: see the Paris test
    assert foreign(requests_seen, server.url) == []
    assert console_errors == []


def test_a_script_title_is_shown_as_text_and_never_runs(
    page: Page, server: ApiProcess, console_errors: list[str]
) -> None:
    dialogs: list[str] = []

    def opened(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", opened)
    _sign_up(page, _email("xss"))

    _add_task(page, XSS)
    page.get_by_role("link", name=XSS).click()

    expect(page.get_by_role("heading", name=XSS)).to_be_visible()
    page.goto("/")
    expect(page.get_by_role("checkbox", name=f"Complete {XSS}")).to_be_visible()
    assert dialogs == []
    assert console_errors == []


def test_a_forged_cross_site_form_changes_nothing(page: Page, server: ApiProcess) -> None:
    email = _email("victim")
    _sign_up(page, email)
    _add_task(page, "Mine")
    evil = "http://evil.test/"
    forged = f"""<!doctype html><html><body>
<form id="f" method="post" action="{server.url}/tasks">
<input name="csrf" value="guessed"><input name="title" value="Planted by evil.test">
</form><script>document.getElementById("f").submit()</script></body></html>"""
    page.route(evil, lambda route: route.fulfill(content_type="text/html", body=forged))

    page.goto(evil)
    page.wait_for_url(f"{server.url}/**")

    assert page.get_by_role("link", name="Planted by evil.test").count() == 0
    assert _api_titles(server, email) == ["Mine"]
    page.goto("/")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # still signed in


def _tab_to(page: Page, target: Locator, limit: int = 40) -> None:
    """Press Tab until `target` has the focus, as a keyboard-only person would."""
    handle = target.element_handle()
    for _ in range(limit):
        if page.evaluate("(el) => document.activeElement === el", handle):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


def test_the_main_flow_works_with_the_keyboard_only(page: Page, server: ApiProcess) -> None:
    email = _email("keys")
    register(server.url, email)
    page.goto("/signin")

    _tab_to(page, page.get_by_label("Email"))
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    _tab_to(page, page.get_by_label("Title", exact=True))
    page.keyboard.type("Typed, not clicked")
    page.keyboard.press("Enter")
    box = page.get_by_role("checkbox", name="Complete Typed, not clicked")
    expect(box).to_be_visible()

    _tab_to(page, box)
    page.keyboard.press("Space")
    expect(box).to_have_attribute("aria-checked", "true")

    _tab_to(page, page.get_by_role("button", name="Sign out"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    with httpx.Client(base_url=server.url) as http:
        token = http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        [task] = http.get("/api/v1/tasks", headers=headers).json()["items"]
    assert (task["title"], task["done"]) == ("Typed, not clicked", True)


def test_a_due_date_is_typed_and_shown_in_the_browsers_timezone(
    browser: Browser, server: ApiProcess
) -> None:
    email = _email("paris")
    context = browser.new_context(base_url=server.url, timezone_id="Europe/Paris")
    try:
        page = context.new_page()
        _sign_up(page, email)
        _add_task(page, "Dinner")
        page.get_by_role("link", name="Dinner").click()

        page.get_by_label("Due").first.fill("2026-12-24T18:30")  # CET, UTC+01:00
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name="Dinner")).to_be_visible()

        expect(page.get_by_label("Due").first).to_have_value("2026-12-24T18:30")
    finally:
        context.close()
    with httpx.Client(base_url=server.url) as http:
        token = http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        [task] = http.get("/api/v1/tasks", headers=headers).json()["items"]
    assert task["due_at"] == "2026-12-24T17:30:00Z"
