"""Server time of the web app's pages (issue 11: "well under 100 ms server time").

    .venv/bin/python -m bench.web_pages [--requests 200] [--database-url URL]

Runs the app in-process (no network, no server process: the time measured is the
app's, from the ASGI call to the last body byte, plus httpx's in-process transport;
the CPU column is this process's CPU time per request, which a busy machine inflates
less than wall-clock time),
seeds one person with 60 tasks (subtasks, labels, due dates) and a shared project of
20 tasks, signs in through the sign-in form, then requests each page N times after a
warm-up and prints the median and 95th percentile per page. SQLite in a temporary
directory unless --database-url names another database (it must be empty: it is
migrated here).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from taskhub.app import create_app
from taskhub.migrate import upgrade
from taskhub.settings import Settings, finalize

PASSWORD = "correct horse battery"
SAME_ORIGIN = {"Origin": "http://bench", "Sec-Fetch-Site": "same-origin"}
WARMUP = 20


async def _seed(http: httpx.AsyncClient) -> dict[str, str]:
    ids: dict[str, str] = {}
    for email in ("owner@example.com", "friend@example.com"):
        made = await http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        ids[email] = made.json()["id"]
    token = await http.post(
        "/api/v1/auth/token", data={"username": "owner@example.com", "password": PASSWORD}
    )
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
    project = (await http.post("/api/v1/projects", json={"name": "Bench"}, headers=auth)).json()
    await http.put(
        f"/api/v1/projects/{project['id']}/members/{ids['friend@example.com']}",
        json={"role": "editor"},
        headers=auth,
    )
    parent = None
    for i in range(80):
        body: dict[str, object] = {
            "title": f"Task number {i} about milk" if i % 7 == 0 else f"Task number {i}",
            "description": "Some words " * 20,
            "labels": ["home", f"l{i % 5}"],
            "priority": i % 5,
            "due_at": f"2026-12-{1 + i % 28:02d}T09:00:00Z",
        }
        if i >= 60:
            body["project_id"] = project["id"]
        elif i % 4 and parent is not None:
            body["parent_id"] = parent
        made = await http.post("/api/v1/tasks", json=body, headers=auth)
        if i < 60 and i % 4 == 0:
            parent = made.json()["id"]
    return {"project": project["id"], "task": parent or ""}


async def _sign_in(http: httpx.AsyncClient) -> None:
    form = await http.get("/signin")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    signed_in = await http.post(
        "/signin",
        data={"csrf": token.group(1), "email": "owner@example.com", "password": PASSWORD},
        headers=SAME_ORIGIN,
    )
    assert signed_in.status_code == 303, signed_in.text


async def _time(http: httpx.AsyncClient, path: str, n: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds (this process, every thread) per request."""
    for _ in range(WARMUP):
        await http.get(path)
    wall, cpu = [], []
    for _ in range(n):
        started, started_cpu = time.perf_counter(), time.process_time()
        page = await http.get(path)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert page.status_code == 200, (path, page.status_code)
    return wall, cpu


async def main(requests: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        settings = finalize(
            Settings(
                database_url=url,
                data_dir=Path(tmp),
                secret_key="bench-secret-" + "x" * 40,
                access_log=False,
                embedded_migrate=False,
                argon2_time_cost=1,
                argon2_memory_kib=1024,
            )
        )
        await asyncio.to_thread(upgrade, settings)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                seeded = await _seed(http)
                await _sign_in(http)
                pages = {
                    "/signin (anonymous form)": "/signin",
                    "/ (open tasks, 60 rows)": "/",
                    "/?show=all&q=milk (search)": "/?show=all&q=milk",
                    "/tasks/{id} (task + subtasks)": f"/tasks/{seeded['task']}",
                    "/projects": "/projects",
                    "/projects/{id} (tasks + members)": f"/projects/{seeded['project']}",
                }
                print(f"database: {url.split(':', 1)[0]}; {requests} requests per page")
                print(f"{'page':36} {'median ms':>10} {'p95 ms':>8} {'median CPU ms':>14}")
                for name, path in pages.items():
                    wall, cpu = await _time(http, path, requests)
                    p95 = sorted(wall)[int(len(wall) * 0.95) - 1]
                    median, median_cpu = statistics.median(wall), statistics.median(cpu)
                    print(f"{name:36} {median:10.2f} {p95:8.2f} {median_cpu:14.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.database_url))
