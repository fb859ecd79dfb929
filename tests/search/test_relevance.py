"""Semantic ranking on the relevance set: "groceries" finds "Buy milk and eggs".

bench/search_relevance.py prints recall@5 for every mode; this test holds the semantic
ranking (the vector side search plugs in) to a floor well under what it measured (1.00).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from taskhub.search.embedders import LocalEmbedder
from tests.search import semantic_scenarios as scenarios
from tests.support.env import BACKEND
from tests.support.factories import Factories

DATA = json.loads((Path(__file__).parent / "data" / "relevance.json").read_text())


@dataclass(frozen=True)
class _Scope:
    project_id: uuid.UUID | None = None
    done: bool | None = None


@dataclass(frozen=True)
class _Request:
    q: str
    limit: int = 5
    scope: _Scope = field(default_factory=_Scope)


@pytest.mark.skipif(
    BACKEND != "sqlite", reason="needs a vector store (pgvector: test_semantic_pgvector)"
)
async def test_semantic_recall_at_5_on_the_relevance_set(
    app: FastAPI, client: httpx.AsyncClient, factories: Factories, local_embedder: LocalEmbedder
) -> None:
    alice = await factories.user()
    async with scenarios.enable_semantic(app, local_embedder) as runtime:
        created = [await factories.task(alice, title=title) for title in DATA["tasks"]]
        await scenarios.wait_embedded(app, created)
        titles = {uuid.UUID(task["id"]): task["title"] for task in created}
        found: dict[str, list[str]] = {}
        async with app.state.db.reader() as session:
            for query, _ in DATA["queries"]:
                ranking = await runtime.rank(session, uuid.UUID(alice.id), _Request(query))
                assert ranking is not None
                found[query] = [titles[ident] for ident, _ in ranking]
    assert "Buy milk and eggs" in found["groceries"]
    recalled = [q for q, expected in DATA["queries"] if expected in found[q]]
    assert len(recalled) / len(DATA["queries"]) >= 0.8, found
