"""Regenerate docs/screenshots/: `.venv/bin/python -m tests.browser.screenshots`.

Starts a throwaway server with a little data, then photographs /docs, /redoc and the
admin at a desktop size and at a 390 px phone width.
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


def _seed(base_url: str) -> None:
    for name in ("ada", "grace", "linus"):
        headers = register(base_url, f"{name}@example.com")
        with httpx.Client(base_url=base_url, headers=headers) as http:
            for title in ("Write the release notes", "Review the migration", "Book the venue"):
                http.post("/api/v1/tasks", json={"title": f"{title} ({name})"})
            http.post("/api/v1/projects", json={"name": f"{name.title()}'s project"})


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
                finally:
                    browser.close()
        finally:
            server.stop()
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(OUT.parents[1]))


if __name__ == "__main__":
    main()
