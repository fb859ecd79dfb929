"""Live events at scale: memory per open SSE stream and fan-out latency on one instance.

One `taskhub serve` (embedded jobs, no Redis unless --redis URL) on a fresh database.
U users share one project; each opens S/U streams to GET /api/v1/events, so every
update of the project's task is fanned out to all S streams. Reported:

- memory per stream: the server's RSS with the streams open minus before, / S;
- fan-out latency: from sending the PATCH (its commit comes within the request) to
  each stream reading the event; p50/p99/max over E events x S streams. An upper
  bound of commit -> received: it includes the request itself, and the outbox job
  that publishes the event (woken on commit). Events go one at a time.

    .venv/bin/python -m bench.sse_fanout [--streams 1000] [--users 50] [--events 20]
        [--database sqlite|postgresql] [--redis redis://127.0.0.1:6379/0]

The clients run in this process on the same machine: their CPU competes with the
server's, so the figures are an upper bound for the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from tests.support.databases import fresh_postgres_database
from tests.support.servers import ApiProcess, run_migrate

PASSWORD = "correct horse battery"


def _rss_bytes(pid: int) -> int:
    """Resident set size of `pid` (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def _user(http: httpx.AsyncClient, n: int) -> tuple[str, str]:
    email = f"sse-{n}-{time.time_ns()}@example.com"
    created = await http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    token = await http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return created.json()["id"], token.json()["access_token"]


class Reader:
    """One raw SSE connection: records when each event id arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.ready = asyncio.Event()

    async def run(self, port: int, token: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        status = await reader.readline()
        assert b" 200 " in status, status
        self.ready.set()
        try:
            while line := await reader.readline():
                if line.startswith(b"id:"):
                    self.arrivals[line[3:].strip().decode()] = time.perf_counter()
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def _database(kind: str, workdir: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        return
    async with fresh_postgres_database("taskhub_bench_sse") as url:
        yield url


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        async with _database(args.database, workdir) as url:
            env = {
                "TASKHUB_DATABASE_URL": url,
                "TASKHUB_SECRET_KEY": secrets.token_urlsafe(36),
                "TASKHUB_DATA_DIR": str(workdir / "data"),
                "TASKHUB_RATE_LIMIT_PER_MINUTE": "0",
                "TASKHUB_ACCESS_LOG": "false",
                "TASKHUB_LOG_LEVEL": "warning",
                "TASKHUB_EVENTS_MAX_STREAMS_PER_USER": str(args.streams),
                "TASKHUB_EVENTS_ROLES_TTL_SECONDS": "5",
                "TASKHUB_ARGON2_TIME_COST": "1",
                "TASKHUB_ARGON2_MEMORY_KIB": "1024",
            }
            if args.redis:
                env["TASKHUB_REDIS_URL"] = args.redis
            await asyncio.to_thread(run_migrate, env, workdir)
            server = ApiProcess("sse", env, workdir / "server.log")
            server.start()
            try:
                await asyncio.to_thread(server.wait_ready)
                await _measure(server, args)
            finally:
                server.stop()


async def _measure(server: ApiProcess, args: argparse.Namespace) -> None:
    assert server.process is not None
    pid = server.process.pid
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        users = [await _user(http, n) for n in range(args.users)]
        owner = {"Authorization": f"Bearer {users[0][1]}"}
        project = (await http.post("/api/v1/projects", json={"name": "p"}, headers=owner)).json()
        for user_id, _ in users[1:]:
            put = await http.put(
                f"/api/v1/projects/{project['id']}/members/{user_id}",
                json={"role": "viewer"},
                headers=owner,
            )
            assert put.status_code == 200, put.text
        task = (
            await http.post(
                "/api/v1/tasks", json={"title": "t", "project_id": project["id"]}, headers=owner
            )
        ).json()
        await asyncio.sleep(1)
        rss_before = _rss_bytes(pid)
        readers = [Reader() for _ in range(args.streams)]
        tasks = [
            asyncio.create_task(r.run(server.port, users[n % args.users][1]))
            for n, r in enumerate(readers)
        ]
        await asyncio.gather(*(r.ready.wait() for r in readers))
        await asyncio.sleep(2)
        rss_open = _rss_bytes(pid)
        latencies: list[float] = []
        for n in range(args.events):
            started = time.perf_counter()
            patched = await http.patch(
                f"/api/v1/tasks/{task['id']}", json={"title": f"v{n}"}, headers=owner
            )
            assert patched.status_code == 200, patched.text
            deadline = started + 30
            while time.perf_counter() < deadline:
                if all(len(r.arrivals) > n for r in readers):
                    break
                await asyncio.sleep(0.005)
            for r in readers:
                arrived = sorted(r.arrivals.values())
                if len(arrived) > n:
                    latencies.append(arrived[n] - started)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    received = len(latencies)
    expected = args.streams * args.events
    per_stream = (rss_open - rss_before) / args.streams
    print(
        f"streams={args.streams} users={args.users} events={args.events} db={args.database}"
        f" redis={'yes' if args.redis else 'no'}"
    )
    print(
        f"server RSS: {rss_before / 2**20:.1f} MiB before, {rss_open / 2**20:.1f} MiB with"
        f" streams open -> {per_stream / 1024:.1f} KiB per stream"
    )
    print(
        f"delivered {received}/{expected}; fan-out latency (PATCH sent -> received) ms:"
        f" p50={_percentile(latencies, 0.5) * 1000:.1f}"
        f" p99={_percentile(latencies, 0.99) * 1000:.1f}"
        f" max={max(latencies) * 1000:.1f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--redis", default=None)
    asyncio.run(main(parser.parse_args()))
