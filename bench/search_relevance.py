"""Recall@5 of taskhub search per mode on the relevance set (tests/search/data/relevance.json).

Runs an app in this process on a throwaway SQLite database (sqlite-vec), creates the
set's tasks for one user through the HTTP API, waits for the embedding job, then asks
each query in each mode and prints the share of queries whose expected task is in the
first five results:

    .venv/bin/python bench/search_relevance.py

Modes go through `GET /api/v1/search?mode=...` when the server has it; without it (before
the full-text branch landed) `text` is the task list's `q` filter and `hybrid` fuses the
two lists here with the same reciprocal rank fusion (k = 60).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from taskhub.app import create_app  # noqa: E402
from taskhub.migrate import upgrade  # noqa: E402
from taskhub.search import vectors  # noqa: E402
from taskhub.settings import Settings, finalize  # noqa: E402

DATA = ROOT / "tests" / "search" / "data" / "relevance.json"
MODES = ("text", "semantic", "hybrid")
K = 5
RRF_K = 60


def load_set() -> tuple[list[str], list[tuple[str, str]]]:
    data = json.loads(DATA.read_text())
    return data["tasks"], [(q, expected) for q, expected in data["queries"]]


def fuse(*rankings: list[str]) -> list[str]:
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, ident in enumerate(ranking, start=1):
            scores[ident] = scores.get(ident, 0.0) + 1.0 / (RRF_K + rank)
    return [ident for ident, _ in sorted(scores.items(), key=lambda item: (-item[1], item[0]))]


async def ranked(
    client: httpx.AsyncClient, headers: dict[str, str], q: str, mode: str
) -> list[str]:
    """Titles, best first, as the server ranks them for `mode`."""
    response = await client.get(
        "/api/v1/search", params={"q": q, "mode": mode, "limit": K}, headers=headers
    )
    if response.status_code != 404:
        response.raise_for_status()
        return [item["task"]["title"] for item in response.json()["items"]]
    # No /search route on this server: the list filter, the ranking here.
    if mode == "hybrid":
        return fuse(
            await ranked(client, headers, q, "text"), await ranked(client, headers, q, "semantic")
        )
    if mode != "text":
        raise RuntimeError("no semantic ranking without /api/v1/search")
    listed = await client.get("/api/v1/tasks", params={"q": q, "limit": K}, headers=headers)
    listed.raise_for_status()
    return [task["title"] for task in listed.json()["items"]]


async def semantic_titles(
    app: Any, user_id: str, q: str, titles: dict[uuid.UUID, str]
) -> list[str]:
    runtime = app.state.semantic
    query = await runtime.embed_query(q)
    async with app.state.db.reader() as session:
        ranking = await vectors.nearest(session, uuid.UUID(user_id), query, K)
    return [titles[ident] for ident, _ in ranking]


async def measure() -> dict[str, float]:
    tasks, queries = load_set()
    with tempfile.TemporaryDirectory() as directory:
        settings = finalize(
            Settings(
                data_dir=Path(directory),
                secret_key="relevance-" + "x" * 40,
                argon2_time_cost=1,
                argon2_memory_kib=1024,
                access_log=False,
                embeddings="local",
            )
        )
        await asyncio.to_thread(upgrade, settings)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                return await _run(app, client, tasks, queries)


async def _run(
    app: Any, client: httpx.AsyncClient, tasks: list[str], queries: list[tuple[str, str]]
) -> dict[str, float]:
    email, password = "relevance@example.com", "correct horse battery"
    (
        await client.post("/api/v1/auth/register", json={"email": email, "password": password})
    ).raise_for_status()
    token = (
        await client.post("/api/v1/auth/token", data={"username": email, "password": password})
    ).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    me = (await client.get("/api/v1/users/me", headers=headers)).json()
    titles: dict[uuid.UUID, str] = {}
    for title in tasks:
        created = await client.post("/api/v1/tasks", json={"title": title}, headers=headers)
        created.raise_for_status()
        titles[uuid.UUID(created.json()["id"])] = title
    deadline = time.monotonic() + 120
    await app.state.semantic.wait()
    while True:
        async with app.state.db.reader() as session:
            if len(await vectors.stored(session, list(titles))) == len(titles):
                break
        if time.monotonic() > deadline:
            raise RuntimeError("the embedding job did not finish in time")
        await asyncio.sleep(0.1)
    has_search = (
        await client.get("/api/v1/search", params={"q": "x"}, headers=headers)
    ).status_code != 404
    hits = dict.fromkeys(MODES, 0)
    for q, expected in queries:
        semantic = await semantic_titles(app, me["id"], q, titles)
        for mode in MODES:
            if has_search:
                found = await ranked(client, headers, q, mode)
            elif mode == "semantic":
                found = semantic
            elif mode == "text":
                found = await ranked(client, headers, q, "text")
            else:
                found = fuse(await ranked(client, headers, q, "text"), semantic)
            hits[mode] += expected in found[:K]
    route = "yes" if has_search else "no (fallback)"
    print(f"relevance set: {len(tasks)} tasks, {len(queries)} queries; /api/v1/search: {route}")
    print(f"{'mode':<10} recall@{K}")
    recall = {mode: hits[mode] / len(queries) for mode in MODES}
    for mode in MODES:
        print(f"{mode:<10} {recall[mode]:.2f} ({hits[mode]}/{len(queries)})")
    return recall


if __name__ == "__main__":
    asyncio.run(measure())
