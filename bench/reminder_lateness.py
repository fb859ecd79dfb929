"""Reminder timeliness: how late `task.reminder` fires, with two instances on PostgreSQL.

Two `taskhub serve` processes (each with its embedded job runner) share a fresh
PostgreSQL database. N tasks get a `remind_at` spread over the next SPREAD seconds,
created through both instances; once every reminder has fired, the lateness of each
(`task_reminders.fired_at - remind_at`, stamped in the job's transaction) is reported,
and exactly-once is checked: one fired row and one `reminded` activity entry per task.

    .venv/bin/python -m bench.reminder_lateness [--reminders 240] [--spread 30]

Needs PostgreSQL at TASKHUB_TEST_PG_DSN (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from tests.support.cluster import started
from tests.support.databases import fresh_postgres_database

PASSWORD = "correct horse battery"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


async def _user_headers(http: httpx.AsyncClient) -> dict[str, str]:
    email = f"lateness-{time.time_ns()}@example.com"
    created = await http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    token = await http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def _create(
    clients: list[httpx.AsyncClient], headers: dict[str, str], count: int, spread: float
) -> datetime:
    start = datetime.now(UTC) + timedelta(seconds=10)  # room to create them all first
    for n in range(count):
        remind_at = start + timedelta(seconds=spread * n / count)
        response = await clients[n % 2].post(
            "/api/v1/tasks",
            json={"title": f"reminder {n}", "remind_at": remind_at.isoformat()},
            headers=headers,
        )
        assert response.status_code == 201, response.text
    return start + timedelta(seconds=spread)


async def _measure(dsn: str, count: int, last_due: datetime) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        deadline = last_due + timedelta(seconds=120)
        while datetime.now(UTC) < deadline:
            fired = await conn.fetchval("SELECT count(*) FROM task_reminders")
            entries = await conn.fetchval(
                "SELECT count(*) FROM task_activity WHERE action = 'reminded'"
            )
            if fired >= count and entries >= count:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # a duplicate, if any, would be written by now
        rows = await conn.fetch(
            "SELECT extract(epoch FROM fired_at - remind_at) AS late FROM task_reminders"
        )
        entries = await conn.fetchval(
            "SELECT count(*) FROM task_activity WHERE action = 'reminded'"
        )
        per_task = await conn.fetchval(
            "SELECT count(*) FROM (SELECT task_id FROM task_activity WHERE action = 'reminded'"
            " GROUP BY task_id HAVING count(*) > 1) AS twice"
        )
    finally:
        await conn.close()
    lateness = [float(row["late"]) for row in rows]
    print(f"reminders scheduled: {count}; fired: {len(lateness)}; activity entries: {entries}")
    print(f"tasks reminded more than once: {per_task}")
    if lateness:
        print(
            "lateness seconds: "
            f"min {min(lateness):.3f}  p50 {statistics.median(lateness):.3f}  "
            f"p95 {_percentile(lateness, 0.95):.3f}  p99 {_percentile(lateness, 0.99):.3f}  "
            f"max {max(lateness):.3f}"
        )
        print(f"fired early (negative lateness): {sum(1 for x in lateness if x < 0)}")


async def main(count: int, spread: float) -> None:
    with tempfile.TemporaryDirectory(prefix="reminder-lateness-") as tmp:
        workdir = Path(tmp)
        async with fresh_postgres_database("taskhub_lateness") as url:
            env = {
                "TASKHUB_DATABASE_URL": url,
                "TASKHUB_SECRET_KEY": "lateness-bench-" + "s" * 40,
                "TASKHUB_DATA_DIR": str(workdir / "data"),
                "TASKHUB_ACCESS_LOG": "false",
            }
            async with started(env, workdir) as (first, second):
                async with (
                    httpx.AsyncClient(base_url=first.url, timeout=30) as a,
                    httpx.AsyncClient(base_url=second.url, timeout=30) as b,
                ):
                    headers = await _user_headers(a)
                    last_due = await _create([a, b], headers, count, spread)
                dsn = url.replace("postgresql+asyncpg://", "postgresql://")
                await _measure(dsn, count, last_due)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=240)
    parser.add_argument("--spread", type=float, default=30.0, help="seconds")
    args = parser.parse_args()
    asyncio.run(main(args.reminders, args.spread))
