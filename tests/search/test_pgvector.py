"""pgvector foundations on a real PostgreSQL the test starts (tests/support/pgvector.py).

A prototype of the query the search service will run: HNSW cosine index, visibility
applied inside the query, and iterative index scans so a selective filter still yields
k rows instead of whatever survived the index's first candidate list.
"""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.pgvector import PgvectorServer, pgvector_server


@pytest.fixture(scope="module")
def server() -> Iterator[PgvectorServer]:
    with pgvector_server() as running:
        yield running


@pytest.fixture
async def conn(server: PgvectorServer) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(server.dsn)
    await conn.execute("DROP TABLE IF EXISTS vecs")
    await conn.execute(
        "CREATE TABLE vecs (id int PRIMARY KEY, scope text NOT NULL, embedding vector(3))"
    )
    await conn.execute("CREATE INDEX ON vecs USING hnsw (embedding vector_cosine_ops)")
    yield conn
    await conn.close()


def vec(*values: float) -> str:
    return "[" + ",".join(str(v) for v in values) + "]"


async def test_extension_is_pgvector_0_8_5(conn: asyncpg.Connection) -> None:
    version = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    assert version == "0.8.5"


async def test_cosine_knn_orders_by_meaning(conn: asyncpg.Connection) -> None:
    rows = [(1, "u:a", vec(1, 0, 0)), (2, "u:a", vec(0, 1, 0)), (3, "u:a", vec(0.9, 0.1, 0))]
    await conn.executemany("INSERT INTO vecs VALUES ($1, $2, $3)", rows)
    found = await conn.fetch(
        "SELECT id, 1 - (embedding <=> $1) AS score FROM vecs ORDER BY embedding <=> $1 LIMIT 2",
        vec(1, 0, 0),
    )
    assert [r["id"] for r in found] == [1, 3]
    assert found[0]["score"] == pytest.approx(1.0)


async def test_visibility_filter_inside_the_query_still_returns_k(
    conn: asyncpg.Connection,
) -> None:
    # 2,000 rows of someone else's sit near the query; the caller's 10 are far away.
    # Filtering the index's first candidates afterwards finds none of the caller's rows
    # (hnsw.iterative_scan = off); an iterative scan goes on until k visible rows.
    # Both rows and the scan are deterministic: the scan may visit every row (< 20,000,
    # hnsw.max_scan_tuples) before it stops.
    rnd = random.Random(7)
    others = [(i, "u:other", vec(1, rnd.random() / 5, rnd.random() / 5)) for i in range(2000)]
    mine = [(10_000 + i, "p:mine", vec(rnd.random() / 5, 1, rnd.random())) for i in range(10)]
    await conn.executemany("INSERT INTO vecs VALUES ($1, $2, $3)", others + mine)
    await conn.execute("ANALYZE vecs")
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")  # prove the HNSW path
        await conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        plan = await conn.fetch(
            "EXPLAIN (FORMAT TEXT) SELECT id FROM vecs WHERE scope = ANY($2::text[]) "
            "ORDER BY embedding <=> $1 LIMIT 5",
            vec(1, 0, 0),
            ["p:mine", "u:me"],
        )
        found = await conn.fetch(
            "SELECT id FROM vecs WHERE scope = ANY($2::text[]) ORDER BY embedding <=> $1 LIMIT 5",
            vec(1, 0, 0),
            ["p:mine", "u:me"],
        )
    assert "vecs_embedding_idx" in "\n".join(line[0] for line in plan)
    assert len(found) == 5
    assert all(r["id"] >= 10_000 for r in found)


def test_stop_removes_the_cluster_and_frees_the_port() -> None:
    server = PgvectorServer()
    server.start()
    directory, port = server.directory, server.port
    assert isinstance(directory, Path)
    assert directory.exists()
    server.stop()
    assert not directory.exists()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
