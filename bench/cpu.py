"""Server CPU per request, measured in-process: a driver calls the ASGI app directly.

No HTTP server and no load generator share the CPU with the app, so the figure moves
far less with the machine's load than wrk's req/s: it is the process CPU time
(`time.process_time`, every thread: aiosqlite's included) spent per request while
`--concurrency` coroutines drive `--requests` requests through the whole middleware
stack, routing, dependencies and the database. The database server's own CPU is not
in it (PostgreSQL runs in other processes).

`--count` instead routes the app's connections through `bench.pgcount` (PostgreSQL) or
counts SQLAlchemy cursor executions (SQLite) and prints statements per request; the
proxy runs in this process, so no CPU is reported in that mode.

    python -m bench.cpu --db postgresql --requests 3000
    python -m bench.cpu --db sqlite --scenarios get,create --count

To compare two trees, interleave them (A B A B) and take medians: run this module with
PYTHONPATH=<other tree>/src for A and without for B (the tree installed in the venv).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from sqlalchemy import event

from taskhub.app import create_app
from taskhub.settings import Settings

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SCENARIOS = ("get", "list", "create", "patch")
SEED_TASKS = 300
SECRET = "bench-cpu-secret-key-0123456789abcdef"
BUSY = ("pending", "running")

Headers = list[tuple[bytes, bytes]]


class Driver:
    """Sends one request straight into the ASGI app and returns (status, body)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: Headers | None = None
    ) -> tuple[int, bytes]:
        raw_path, _, query = path.partition("?")
        head: Headers = [(b"host", b"bench"), *(headers or [])]
        if body:
            if not any(k == b"content-type" for k, _ in head):
                head.append((b"content-type", b"application/json"))
            head.append((b"content-length", b"%d" % len(body)))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": head,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # never: the app does not read past the body
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


def _migrate(url: str, data_dir: Path) -> None:
    env = {
        "TASKHUB_DATABASE_URL": url,
        "TASKHUB_DATA_DIR": str(data_dir),
        "PATH": "/usr/bin",
        "TASKHUB_SECRET_KEY": SECRET,
    }
    cli = Path(sys.executable).with_name("taskhub")
    done = subprocess.run([str(cli), "migrate"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"taskhub migrate failed: {done.stdout}{done.stderr}")


async def _seed(driver: Driver) -> tuple[Headers, list[str]]:
    email = f"cpu-{uuid.uuid4().hex[:8]}@example.com"
    creds = json.dumps({"email": email, "password": "correct horse battery"}).encode()
    status, text = await driver.request("POST", "/api/v1/auth/register", creds)
    assert status == 201, text
    form = f"username={email}&password=correct+horse+battery".encode()
    status, text = await driver.request(
        "POST",
        "/api/v1/auth/token",
        form,
        [(b"content-type", b"application/x-www-form-urlencoded")],
    )
    assert status == 200, text
    auth = [(b"authorization", b"Bearer " + json.loads(text)["access_token"].encode())]
    ids = []
    for i in range(SEED_TASKS):
        status, text = await driver.request(
            "POST", "/api/v1/tasks", json.dumps({"title": f"seed {i}"}).encode(), auth
        )
        assert status == 201, text
        ids.append(json.loads(text)["id"])
    return auth, ids


def _scenario(name: str, auth: Headers, ids: list[str]) -> Callable[[int], Any]:
    if name == "get":
        return lambda i: ("GET", f"/api/v1/tasks/{ids[i % len(ids)]}", b"")
    if name == "list":
        return lambda i: ("GET", "/api/v1/tasks?limit=20", b"")
    if name == "create":
        return lambda i: ("POST", "/api/v1/tasks", b'{"title": "bench %d"}' % i)
    # Each pass over the ids sets another priority, so every PATCH really writes.
    return lambda i: (
        "PATCH",
        f"/api/v1/tasks/{ids[i % len(ids)]}",
        b'{"priority": %d}' % ((i // len(ids) + 1) % 5),
    )


async def _drive(
    driver: Driver,
    auth: Headers,
    make: Callable[[int], Any],
    total: int,
    concurrency: int,
    start: int = 0,
) -> None:
    counter = iter(range(start, start + total))

    async def worker() -> None:
        for i in counter:
            method, path, body = make(i)
            status, text = await driver.request(method, path, body, auth)
            if status >= 300:
                raise RuntimeError(f"{method} {path}: {status} {text[:200]!r}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _settle(app: Any, within: float = 60.0) -> float:
    """Wait until the embedded job runner has no pending work; return the CPU it took.

    A write whose job runs later is not cheap: that CPU is reported next to the write's.
    """
    from taskhub.jobs.outbox import counts

    started = time.process_time()
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with app.state.db.reader() as session:
            pending = sum(n for (_, status), n in (await counts(session)).items() if status in BUSY)
        if not pending:
            break
        await asyncio.sleep(0.02)
    return time.process_time() - started


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """One measurement on a fresh database (dropped afterwards, also on failure)."""
    data_dir = Path(tempfile.mkdtemp(prefix="taskhub-cpu-"))
    if args.db == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'taskhub.db'}"
        _migrate(url, data_dir)
        return await _measure(args, url, data_dir, None)
    db_name = f"taskhub_cpu_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{db_name}"')
    proxy = None
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db_name}"
        _migrate(url, data_dir)
        if args.count:
            from bench.pgcount import CountingProxy

            proxy = CountingProxy(6544, "127.0.0.1", 5432)
            proxy.start()
            url = f"postgresql+asyncpg://postgres@127.0.0.1:6544/{db_name}"
        return await _measure(args, url, data_dir, proxy)
    finally:
        if proxy is not None:
            proxy.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        await admin.close()


async def _measure(
    args: argparse.Namespace, url: str, data_dir: Path, proxy: Any
) -> dict[str, Any]:
    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        rate_limit_per_minute=0,
        access_log=False,
        local_cache=not args.no_cache,
        secret_key=SECRET,
        log_level="warning",
    )
    app = create_app(settings)
    results: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        driver = Driver(app)
        auth, ids = await _seed(driver)
        sqlite_statements = [0]
        if args.count and proxy is None:

            @event.listens_for(app.state.db.engine.sync_engine, "before_cursor_execute")
            def _count(*_: Any) -> None:
                sqlite_statements[0] += 1

        for name in args.scenarios.split(","):
            make = _scenario(name, auth, ids)
            warm = min(200, args.requests)
            await _drive(driver, auth, make, warm, args.concurrency)
            await _settle(app)
            if proxy is not None:
                proxy.reset()
            sqlite_statements[0] = 0
            profile = cProfile.Profile() if args.profile else None
            cpu0, wall0 = time.process_time(), time.perf_counter()
            if profile is not None:
                profile.enable()
            await _drive(driver, auth, make, args.requests, args.concurrency, start=warm)
            if profile is not None:
                profile.disable()
                print(f"--- {name}: by own time, then inclusive")
                pstats.Stats(profile).sort_stats("tottime").print_stats(25)
                pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
            cpu1, wall1 = time.process_time(), time.perf_counter()
            jobs_cpu = await _settle(app)
            row: dict[str, Any] = {
                "cpu_ms": (cpu1 - cpu0) * 1000 / args.requests,
                "jobs_cpu_ms": jobs_cpu * 1000 / args.requests,
                "wall_rps": args.requests / (wall1 - wall0),
            }
            if proxy is not None:
                counts = proxy.snapshot()
                row["statements"] = sum(counts.statements.values()) / args.requests
                row["tx_control"] = sum(counts.tx_control.values()) / args.requests
                row["top"] = counts.statements.most_common(4)
            elif args.count:
                row["statements"] = sqlite_statements[0] / args.requests
            results[name] = row
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=1, help="runs; medians are printed")
    parser.add_argument("--no-cache", action="store_true", help="TASKHUB_LOCAL_CACHE=false")
    parser.add_argument("--count", action="store_true", help="statements/request, no CPU")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile each scenario")
    args = parser.parse_args(argv)
    runs = [asyncio.run(run(args)) for _ in range(args.repeat)]
    summary: dict[str, Any] = {"db": args.db, "cache": not args.no_cache}
    for name in args.scenarios.split(","):
        rows = [r[name] for r in runs]
        summary[name] = {
            key: round(statistics.median(row[key] for row in rows), 3)
            for key in rows[0]
            if isinstance(rows[0][key], float)
        }
        if "top" in rows[0]:
            summary[name]["top"] = rows[0]["top"]
    if args.json:
        print(json.dumps(summary))
    else:
        for name in args.scenarios.split(","):
            print(name, summary[name])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
