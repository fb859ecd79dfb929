"""A real `taskhub serve` and Debian's Chromium, shared by the browser tests and the
screenshot script (`python -m tests.browser.screenshots`)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, Playwright

from tests.support.servers import ApiProcess, run_taskhub

CHROMIUM = Path(os.environ.get("TASKHUB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"
ADMIN_EMAIL = "root@example.com"


def server_env(data_dir: Path) -> dict[str, str]:
    return {
        "TASKHUB_DATA_DIR": str(data_dir),
        "TASKHUB_ARGON2_TIME_COST": "1",
        "TASKHUB_ARGON2_MEMORY_KIB": "1024",
        "TASKHUB_ACCESS_LOG": "false",
    }


def start_server(workdir: Path) -> ApiProcess:
    """`taskhub serve` on a free port with its own SQLite database, and a superuser."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = server_env(workdir / "data")
    server = ApiProcess("browser-api", env, workdir / "server.log")
    server.start()
    try:
        server.wait_ready()
        created = run_taskhub(
            "createuser",
            ADMIN_EMAIL,
            "--superuser",
            "--password-stdin",
            env=env,
            cwd=workdir,
            stdin=PASSWORD,
        )
        assert created.returncode == 0, created.stdout + created.stderr
    except BaseException:
        server.stop()
        raise
    return server


def launch(playwright: Playwright) -> Browser:
    # `playwright install` cannot download browsers here: Debian's build is used instead.
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def register(base_url: str, email: str) -> dict[str, str]:
    """An account made through the API; returns its bearer header."""
    with httpx.Client(base_url=base_url) as http:
        created = http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert created.status_code == 201, created.text
        token = http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def foreign(requests: list[str], base_url: str) -> list[str]:
    """The requests that left the server's origin (data: and blob: stay in the page)."""
    origin = urlsplit(base_url).netloc
    return [
        url
        for url in requests
        if not url.startswith(("data:", "blob:")) and urlsplit(url).netloc != origin
    ]
