"""Export memory and import throughput for issue 12 (measured, not asserted).

    .venv/bin/python -m bench.transfer export --tasks 100000 [--postgres]
    .venv/bin/python -m bench.transfer import --rows 100000 [--postgres]

`export`: a fresh database gets one user with N tasks (half in the inbox, half in two
projects, every tenth a subtask) written with bulk SQL inserts; a real `taskhub serve`
process then streams GET /api/v1/export to a client that discards it, while its RSS is
sampled from /proc every 20 ms. Prints the server's RSS before and the peak during.

`import`: the same server takes a plain CSV of N rows (a ~400-character description
each, ~45 MB at 100,000 rows) on POST /api/v1/import; prints the upload+staging time,
the time until GET /api/v1/imports/{id} says done, rows/s, and the server's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine
from tests.support.ports import free_port

from taskhub.models import Project, ProjectMember, Role, Task, User

BIN = Path(sys.executable).parent
PASSWORD = "bench password 123"
EMAIL = "bench@example.com"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.02)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


async def create_pg_database() -> str:
    name = f"taskhub_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_pg_database(url: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await conn.close()


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    subprocess.run([str(BIN / "taskhub"), *args], env=env, input=stdin, text=True, check=True)


async def seed_tasks(url: str, count: int) -> None:
    engine = create_async_engine(url)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        user_id = await conn.scalar(select(User.id).where(User.email == EMAIL))
        projects = [uuid.uuid4(), uuid.uuid4()]
        for i, project_id in enumerate(projects):
            await conn.execute(
                insert(Project).values(
                    id=project_id, name=f"P{i}", description="", created_at=now, updated_at=now
                )
            )
            await conn.execute(
                insert(ProjectMember).values(
                    project_id=project_id, user_id=user_id, role=Role.owner, created_at=now
                )
            )
        batch: list[dict[str, Any]] = []
        last_parent: dict[Any, uuid.UUID] = {}
        for n in range(count):
            place = None if n % 2 == 0 else projects[n % 4 // 2]
            task_id = uuid.uuid4()
            parent = last_parent.get(place) if n % 10 == 9 else None
            batch.append(
                {
                    "id": task_id,
                    "owner_id": user_id,
                    "project_id": place,
                    "parent_id": parent,
                    "title": f"Task {n} with a reasonably ordinary title",
                    "description": "Some words about the task. " * 4,
                    "done": n % 7 == 0,
                    "priority": n % 5,
                    "due_at": now + timedelta(days=n % 90) if n % 3 == 0 else None,
                    "labels": ["bench", f"l{n % 13}"],
                    "position": n,
                    "created_at": now + timedelta(microseconds=n),
                    "updated_at": now,
                    "completed_at": now if n % 7 == 0 else None,
                    "version": 1,
                }
            )
            last_parent[place] = task_id
            if len(batch) == 5000:
                await conn.execute(insert(Task), batch)
                batch = []
        if batch:
            await conn.execute(insert(Task), batch)
    await engine.dispose()


def csv_body(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["title", "description", "priority", "labels", "project"])
    words = "An imported task description of some length, as people write them. "
    for n in range(rows):
        writer.writerow(
            [
                f"Imported task {n}",
                words * 6,
                n % 5,
                "import;bench",
                f"Proj {n % 3}" if n % 2 else "",
            ]
        )
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["export", "import"])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-transfer-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKHUB_")}
    env.update(
        TASKHUB_DATA_DIR=str(data_dir),
        TASKHUB_ACCESS_LOG="false",
        TASKHUB_RATE_LIMIT_PER_MINUTE="0",
        TASKHUB_ARGON2_TIME_COST="1",
        TASKHUB_ARGON2_MEMORY_KIB="1024",
    )
    pg_url = asyncio.run(create_pg_database()) if args.postgres else None
    if pg_url:
        env.update(TASKHUB_DATABASE_URL=pg_url, TASKHUB_SECRET_KEY="b" * 48)
    url = pg_url or f"sqlite+aiosqlite:///{data_dir / 'taskhub.db'}"
    try:
        run(env, "migrate")
        run(env, "createuser", EMAIL, "--password-stdin", stdin=PASSWORD)
        if args.what == "export":
            started = time.monotonic()
            asyncio.run(seed_tasks(url, args.tasks))
            print(f"seeded {args.tasks} tasks in {time.monotonic() - started:.1f} s")
        measure(env, args)
    finally:
        if pg_url:
            asyncio.run(drop_pg_database(pg_url))


def measure(env: dict[str, str], args: argparse.Namespace) -> None:
    port = free_port()
    log = (Path(env["TASKHUB_DATA_DIR"]) / "server.log").open("wb")
    print(f"server log: {log.name}")
    server = subprocess.Popen(
        [str(BIN / "taskhub"), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            for _ in range(200):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            token = client.post(
                "/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            client.get("/api/v1/export", headers=headers)  # warm: imports, pools
            before = rss_kib(server.pid)
            sampler = Sampler(server.pid)
            sampler.start()
            if args.what == "export":
                export(client, headers)
            else:
                import_rows(client, headers, args.rows)
            peak = sampler.stop()
            print(f"server RSS before: {before / 1024:.1f} MiB, peak: {peak / 1024:.1f} MiB")
    finally:
        server.terminate()
        server.wait(30)


def export(client: httpx.Client, headers: dict[str, str]) -> None:
    started = time.monotonic()
    size = 0
    with client.stream("GET", "/api/v1/export", headers=headers) as response:
        for chunk in response.iter_bytes():
            size += len(chunk)
    elapsed = time.monotonic() - started
    print(f"export: {size / 2**20:.1f} MiB in {elapsed:.1f} s")


def import_rows(client: httpx.Client, headers: dict[str, str], rows: int) -> None:
    body = csv_body(rows)
    started = time.monotonic()
    response = client.post(
        "/api/v1/import", content=body, headers={**headers, "Content-Type": "text/csv"}
    )
    assert response.status_code == 202, response.text
    staged = time.monotonic() - started
    import_id = response.json()["id"]
    while True:
        report = client.get(f"/api/v1/imports/{import_id}", headers=headers).json()
        if report["status"] == "done":
            break
        time.sleep(0.5)
    total = time.monotonic() - started
    print(
        f"import: {len(body) / 2**20:.1f} MiB, {rows} rows; upload+staging {staged:.1f} s, "
        f"done after {total:.1f} s: {rows / total:.0f} rows/s overall, "
        f"{rows / (total - staged):.0f} rows/s applying; created {report['created']}, "
        f"failed {report['failed']}"
    )


if __name__ == "__main__":
    main()
