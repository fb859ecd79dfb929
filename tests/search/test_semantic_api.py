"""Semantic search through HTTP on the suite's database (SPEC §7).

SQLite runs every scenario with sqlite-vec. The shared PostgreSQL server has no pgvector:
there the test is that the server still works (readyz, text search) and the semantic
routes answer 409; tests/search/test_semantic_pgvector.py runs the same scenarios on a
PostgreSQL with pgvector that it starts itself.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from taskhub.search.ask import NOT_CONFIGURED
from taskhub.search.embedders import DISABLED, LocalEmbedder
from tests.search import semantic_scenarios as scenarios
from tests.search.stub_openai import StubState
from tests.support.env import BACKEND
from tests.support.factories import Factories
from tests.support.http import expect

needs_vectors = pytest.mark.skipif(
    BACKEND != "sqlite", reason="PostgreSQL: covered on a pgvector server by test_semantic_pgvector"
)


async def test_semantic_routes_answer_409_while_embeddings_are_off(
    client: httpx.AsyncClient, factories: Factories
) -> None:
    alice, bob = await factories.user(), await factories.user()
    task = await factories.task(alice, title="Buy milk and eggs")
    similar = await client.get(f"/api/v1/tasks/{task['id']}/similar", headers=alice.headers)
    assert expect(similar, 409) == {"detail": DISABLED}
    duplicates = await client.post(
        "/api/v1/search/duplicates", json={"title": "milk"}, headers=alice.headers
    )
    assert expect(duplicates, 409) == {"detail": DISABLED}
    ask = await client.post("/api/v1/ask", json={"question": "what?"}, headers=alice.headers)
    assert expect(ask, 409) == {"detail": NOT_CONFIGURED}
    semantic = await client.get("/api/v1/search?q=milk&mode=semantic", headers=alice.headers)
    assert expect(semantic, 409) == {"detail": DISABLED}
    hybrid = expect(await client.get("/api/v1/search?q=milk", headers=alice.headers), 200)
    assert hybrid["mode"] == "text"  # hybrid answers from text alone, and says so
    assert [item["task"]["id"] for item in hybrid["items"]] == [task["id"]]
    # Who may see the task is still decided first: Bob learns nothing, not even a 409.
    expect(await client.get(f"/api/v1/tasks/{task['id']}/similar", headers=bob.headers), 404)
    for method, path in (
        ("GET", f"/api/v1/tasks/{task['id']}/similar"),
        ("POST", "/api/v1/search/duplicates"),
        ("POST", "/api/v1/ask"),
    ):
        expect(await client.request(method, path, json={}), 401)
    body = {"title": "milk", "owner_id": bob.id}  # mass assignment
    expect(await client.post("/api/v1/search/duplicates", json=body, headers=alice.headers), 422)


@pytest.mark.skipif(BACKEND != "postgresql", reason="the shared PostgreSQL lacks pgvector")
async def test_postgresql_without_pgvector_keeps_working(
    app: FastAPI, client: httpx.AsyncClient, factories: Factories, local_embedder: LocalEmbedder
) -> None:
    async with scenarios.enable_semantic(app, local_embedder) as runtime:
        assert runtime.state == "unavailable"
        assert "pgvector" in (runtime.reason or "")
        expect(await client.get("/readyz"), 200)
        alice = await factories.user()
        task = await factories.task(alice, title="Buy milk and eggs")
        listed = expect(await client.get("/api/v1/tasks?q=milk", headers=alice.headers), 200)
        assert [t["id"] for t in listed["items"]] == [task["id"]]
        body = {"title": "milk"}
        answer = await client.post("/api/v1/search/duplicates", json=body, headers=alice.headers)
        assert expect(answer, 409) == {"detail": DISABLED}


@needs_vectors
async def test_visibility_inside_the_vector_query_and_task_lifecycle(
    app: FastAPI, client: httpx.AsyncClient, factories: Factories, local_embedder: LocalEmbedder
) -> None:
    async with scenarios.enable_semantic(app, local_embedder):
        await scenarios.visibility_and_lifecycle(client, app, factories)


@needs_vectors
async def test_ask_cites_only_retrieved_visible_tasks(
    app: FastAPI,
    client: httpx.AsyncClient,
    factories: Factories,
    local_embedder: LocalEmbedder,
    chat_stub: tuple[StubState, str],
) -> None:
    state, url = chat_stub
    async with scenarios.enable_semantic(app, local_embedder, llm_url=url):
        await scenarios.ask_is_grounded(client, app, factories, state)


@needs_vectors
async def test_a_model_change_empties_the_store_and_reembeds(
    app: FastAPI, client: httpx.AsyncClient, factories: Factories, local_embedder: LocalEmbedder
) -> None:
    async with scenarios.enable_semantic(app, local_embedder):
        await scenarios.model_change_reembeds(client, app, factories)
