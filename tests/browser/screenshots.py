"""Regenerate docs/screenshots/: `.venv/bin/python -m tests.browser.screenshots`.

Starts a throwaway server with a little data, then photographs /docs, /redoc and the
admin, and the web app's main pages (sign-in, tasks, a task, a project) at a desktop
size and at a 390 px phone width.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import Browser, ViewportSize, sync_playwright

from tests.browser.support import ADMIN_EMAIL, PASSWORD, launch, register, start_server

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZES: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}


WEB_USER = "ada@example.com"


def _seed(base_url: str) -> None:
    ids: dict[str, str] = {}
    for name in ("ada", "grace", "linus"):
        headers = register(base_url, f"{name}@example.com")
        with httpx.Client(base_url=base_url, headers=headers) as http:
            ids[name] = http.get("/api/v1/users/me").json()["id"]
            for title in ("Write the release notes", "Review the migration", "Book the venue"):
                http.post("/api/v1/tasks", json={"title": f"{title} ({name})"})
            http.post("/api/v1/projects", json={"name": f"{name.title()}'s project"})
    _seed_web(base_url, ids)


def _seed_web(base_url: str, ids: dict[str, str]) -> None:
    """A project of Ada's with labelled, dated tasks and subtasks, shared with Grace."""
    with httpx.Client(base_url=base_url, headers=_bearer(base_url, WEB_USER)) as http:
        project = http.post("/api/v1/projects", json={"name": "Conference"}).json()
        http.put(
            f"/api/v1/projects/{project['id']}/members/{ids['grace']}", json={"role": "editor"}
        )
        venue = http.post(
            "/api/v1/tasks",
            json={
                "title": "Confirm the venue",
                "description": "Call the hotel about the big room and the projector.",
                "project_id": project["id"],
                "priority": 3,
                "labels": ["venue", "calls"],
                "due_at": "2026-12-14T09:00:00Z",
            },
        ).json()
        for title in ("Ask about catering", "Check the Wi-Fi"):
            http.post(
                "/api/v1/tasks",
                json={"title": title, "project_id": project["id"], "parent_id": venue["id"]},
            )
        http.post(
            "/api/v1/tasks",
            json={"title": "Send the invitations", "project_id": project["id"], "done": True},
        )


def _bearer(base_url: str, email: str) -> dict[str, str]:
    with httpx.Client(base_url=base_url) as http:
        token = http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _shoot_web(browser: Browser, base_url: str) -> None:
    for size, viewport in SIZES.items():
        context = browser.new_context(base_url=base_url, viewport=viewport, timezone_id="UTC")
        page = context.new_page()
        page.goto("/signin")
        page.screenshot(path=str(OUT / f"web-signin-{size}.png"))
        page.get_by_label("Email").fill(WEB_USER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for()
        page.screenshot(path=str(OUT / f"web-tasks-{size}.png"), full_page=True)
        page.get_by_role("link", name="Confirm the venue").first.click()
        page.get_by_role("heading", name="Confirm the venue").wait_for()
        page.screenshot(path=str(OUT / f"web-task-{size}.png"), full_page=True)
        page.get_by_role("link", name="Conference").first.click()
        page.get_by_role("heading", name="Members").wait_for()
        page.screenshot(path=str(OUT / f"web-project-{size}.png"), full_page=True)
        context.close()


def _shoot(browser: Browser, base_url: str) -> None:
    for size, viewport in SIZES.items():
        context = browser.new_context(base_url=base_url, viewport=viewport)
        page = context.new_page()
        page.goto("/docs")
        page.locator("#operations-auth-login").wait_for()
        page.screenshot(path=str(OUT / f"docs-{size}.png"))
        page.goto("/redoc")
        page.locator('[data-section-id="operation/login"]').wait_for(state="attached")
        page.screenshot(path=str(OUT / f"redoc-{size}.png"))
        page.goto("/admin/login")
        page.screenshot(path=str(OUT / f"admin-login-{size}.png"))
        page.locator("input[name=username]").fill(ADMIN_EMAIL)
        page.locator("input[name=password]").fill(PASSWORD)
        page.get_by_role("button", name="Login").click()
        page.goto("/admin/user/list")
        page.locator("tbody tr").first.wait_for()
        page.screenshot(path=str(OUT / f"admin-users-{size}.png"))
        page.goto("/admin/outbox-message/list")
        page.screenshot(path=str(OUT / f"admin-jobs-{size}.png"))
        context.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        server = start_server(Path(workdir))
        try:
            _seed(server.url)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    _shoot(browser, server.url)
                    _shoot_web(browser, server.url)
                finally:
                    browser.close()
        finally:
            server.stop()
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(OUT.parents[1]))


if __name__ == "__main__":
    main()
