"""Embedding throughput of the job path, and the server process's RSS with the model loaded.

Runs an app in this process (embedded job runner, TASKHUB_EMBEDDINGS=local) on a
throwaway SQLite database, or on TASKHUB_DATABASE_URL when set (e.g. a PostgreSQL with
pgvector). Creates N tasks through the HTTP API while the app queues `search.embed` jobs
and measures how long the jobs take to embed them all (write path); then empties the
store and queues one `search.reindex` job (backfill path) and times it the same way:

    .venv/bin/python bench/embedding_jobs.py [N]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from taskhub.app import create_app
from taskhub.jobs import outbox
from taskhub.jobs.registry import SEARCH_REINDEX
from taskhub.migrate import upgrade
from taskhub.search import vectors
from taskhub.settings import Settings, finalize


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_all(app: Any, ids: list[uuid.UUID], since: float) -> float:
    while True:
        async with app.state.db.reader() as session:
            if len(await vectors.stored(session, ids)) == len(ids):
                return time.monotonic() - since
        await asyncio.sleep(0.05)


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        settings = finalize(
            Settings(
                data_dir=Path(directory),
                database_url=os.environ.get("TASKHUB_DATABASE_URL") or None,
                secret_key="bench-" + "x" * 40,
                argon2_time_cost=1,
                argon2_memory_kib=1024,
                access_log=False,
                log_level="warning",
                embeddings="local",
            )
        )
        await asyncio.to_thread(upgrade, settings)
        print(f"RSS before the app: {rss_mib():.0f} MiB")
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            await app.state.semantic.wait()
            print(f"RSS with the model loaded: {rss_mib():.0f} MiB")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                email, password = f"{uuid.uuid4().hex[:8]}@example.com", "correct horse battery"
                await client.post(
                    "/api/v1/auth/register", json={"email": email, "password": password}
                )
                token = await client.post(
                    "/api/v1/auth/token", data={"username": email, "password": password}
                )
                headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
                started = time.monotonic()
                ids = []
                for i in range(count):
                    body = {"title": f"Task {i}: buy milk, call mom, renew passport number {i}"}
                    created = await client.post("/api/v1/tasks", json=body, headers=headers)
                    ids.append(uuid.UUID(created.json()["id"]))
                created_in = time.monotonic() - started
                total = await wait_all(app, ids, started)
                print(
                    f"write path: {count} tasks created in {created_in:.1f} s, all embedded "
                    f"after {total:.1f} s: {count / total:.0f} tasks/s end to end"
                )
                async with app.state.db.writer() as session:
                    await vectors.reset(session, 384)
                    outbox.enqueue(session, SEARCH_REINDEX, {"after": None})
                    started = time.monotonic()
                    await session.commit()
                took = await wait_all(app, ids, started)
                print(f"reindex job: {count} tasks in {took:.1f} s: {count / took:.0f} tasks/s")
                print(f"RSS at the end: {rss_mib():.0f} MiB")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
