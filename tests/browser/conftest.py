"""Browser fixtures: one server and one Chromium for this package, a fresh page per test.

Package-scoped, not session-scoped: Playwright's sync API keeps an event loop running
while it is started, which the async tests elsewhere in the suite must not find.

A failing test leaves a screenshot of its page in tmp/artifacts/. Without Chromium the
tests are skipped with a loud reason, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.support import CHROMIUM, launch, start_server
from tests.support.servers import ApiProcess

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TASKHUB_ARTIFACTS_DIR", ROOT / "tmp" / "artifacts"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    item.stash.setdefault(_REPORTS, {})[report.when] = report


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.fixture(autouse=True)
def _clean_state() -> None:
    """Overrides the suite's in-process app fixture: these tests use a real server, and
    Playwright's sync API runs an event loop that async fixtures must not share."""


@pytest.fixture(scope="package")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: apt-get install -y chromium (.ci/run does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(f"!!!!! {message}: SKIPPING the browser tests (outside CI only)")
    return CHROMIUM


@pytest.fixture(scope="package")
def server(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    server = start_server(tmp_path_factory.mktemp("browser-server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def requests_seen() -> list[str]:
    """Every URL the page asked for, in order (filled by `page`)."""
    return []


@pytest.fixture
def failures() -> dict[str, str]:
    """URL -> why the browser did not load it (filled by `page`)."""
    return {}


@pytest.fixture
def page(
    browser: Browser,
    server: ApiProcess,
    requests_seen: list[str],
    failures: dict[str, str],
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("request", lambda r: requests_seen.append(r.url))
    page.on("requestfailed", lambda r: failures.__setitem__(r.url, r.failure or "?"))
    try:
        yield page
    finally:
        report = request.node.stash.get(_REPORTS, {}).get("call")
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        context.close()
