"""sqlite-vec foundations: the extension loads into SQLAlchemy's aiosqlite connections,
and the KNN query applies visibility during the search (k visible rows, not a global
top-k trimmed afterwards)."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from taskhub.search.sqlite_vectors import (
    VectorStoreUnavailable,
    create_table_sql,
    extension_loading_supported,
    inbox_scope,
    load_sqlite_vec,
    nearest_visible,
    project_scope,
    upsert_vector,
)

# pyenv's default CPython build leaves out sqlite3.enable_load_extension; Debian's and
# the official Docker images' Pythons have it. See the issue 10 report.
needs_extensions = pytest.mark.skipif(
    not extension_loading_supported(), reason="this Python's sqlite3 cannot load extensions"
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'vectors.db'}")
    yield engine
    await engine.dispose()


@pytest.mark.skipif(extension_loading_supported(), reason="this Python can load extensions")
def test_a_python_without_extension_loading_is_a_clear_error(engine: AsyncEngine) -> None:
    with pytest.raises(VectorStoreUnavailable, match="cannot load extensions"):
        load_sqlite_vec(engine)


def unit(rnd: random.Random, centre: list[float], spread: float) -> list[float]:
    v = [c + rnd.uniform(-spread, spread) for c in centre]
    norm = sum(x * x for x in v) ** 0.5
    return [x / norm for x in v]


@needs_extensions
async def test_knn_returns_k_rows_the_caller_can_see(engine: AsyncEngine) -> None:
    load_sqlite_vec(engine)
    me, other, shared = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    query = [1.0, 0.0, 0.0, 0.0]
    rnd = random.Random(3)
    async with engine.begin() as conn:
        await conn.execute(text(create_table_sql(4)))
        # 500 invisible rows right at the query, the caller's 12 further away.
        for _ in range(500):
            await upsert_vector(
                conn, uuid.uuid4(), inbox_scope(other), False, unit(rnd, query, 0.1)
            )
        mine = {uuid.uuid4() for _ in range(6)}
        for task in mine:
            await upsert_vector(conn, task, inbox_scope(me), False, unit(rnd, [0, 1, 0, 0], 0.3))
        in_project = {uuid.uuid4() for _ in range(6)}
        for task in in_project:
            await upsert_vector(
                conn, task, project_scope(shared), True, unit(rnd, [0, 0, 1, 0], 0.3)
            )

        found = await nearest_visible(conn, query, [inbox_scope(me), project_scope(shared)], k=10)
        open_only = await nearest_visible(
            conn, query, [inbox_scope(me), project_scope(shared)], k=10, done=False
        )

    assert len(found) == 10
    assert {task for task, _ in found} <= mine | in_project
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)
    assert {task for task, _ in open_only} == mine


@needs_extensions
async def test_upsert_replaces_a_tasks_vector(engine: AsyncEngine) -> None:
    load_sqlite_vec(engine)
    me, task = uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(text(create_table_sql(2)))
        await upsert_vector(conn, task, inbox_scope(me), False, [1.0, 0.0])
        await upsert_vector(conn, task, inbox_scope(me), False, [0.0, 1.0])
        [(found, score)] = await nearest_visible(conn, [0.0, 1.0], [inbox_scope(me)], k=5)
    assert found == task
    assert score == pytest.approx(1.0)
