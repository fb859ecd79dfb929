"""The vector store: one embedding per task, and visibility-scoped nearest-neighbour queries.

Two backends behind the same functions (migration 0005 creates their objects):

- PostgreSQL + pgvector: `task_embeddings` (bookkeeping and a `vector(n)` column with an
  HNSW cosine index). The KNN query is `tasks.access.visible_tasks` with each place's
  tasks joined to their vectors and cut to the k nearest, so visibility is part of the
  query (inbox range, each member project through LATERAL) and the planner picks the
  HNSW index or an exact sort per place. `hnsw.iterative_scan = strict_order` makes a
  filtered HNSW scan continue until it has k rows instead of returning what survived
  its first candidate list.
- SQLite + sqlite-vec: the vec0 table `task_vectors`, whose `scope` and `done` metadata
  columns are constrained inside the KNN query (`sqlite_vectors.nearest_visible`), and
  the bookkeeping table `task_embeddings`.

Everything here takes a session the caller owns; nothing commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    cast,
    delete,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import UserDefinedType

from taskhub.projects.access import memberships_of
from taskhub.search import sqlite_vectors
from taskhub.tasks.access import USER, project_tasks, visible_tasks


class PgVector(UserDefinedType[str]):
    """pgvector's `vector`, bound as its text form '[x,y,...]' (no extra driver package)."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "vector"


# Not on Base.metadata: the table exists only where migration 0005 could create it.
_META = MetaData()
EMBEDDINGS = Table(
    "task_embeddings",
    _META,
    Column("task_id", Uuid, primary_key=True),
    Column("model", Text),
    Column("dimension", Integer),
    Column("content_hash", Text),
    Column("embedding", PgVector()),  # PostgreSQL only; SQLite keeps vectors in vec0
)
_QUERY = cast(bindparam("query", type_=String()), PgVector())
_K = bindparam("k", type_=Integer())


@dataclass(frozen=True, slots=True)
class Stored:
    """What a task's stored vector was computed from."""

    model: str
    dimension: int
    content_hash: str


@dataclass(frozen=True, slots=True)
class Row:
    """One vector to store, with what it was computed from and where its task lives."""

    task_id: uuid.UUID
    owner_id: uuid.UUID
    project_id: uuid.UUID | None
    done: bool
    model: str
    content_hash: str
    vector: Sequence[float]


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def available(session: AsyncSession) -> str | None:
    """None when this database can hold vectors, else why not (for the start-up warning)."""
    if _dialect(session) == "postgresql":
        found = await session.scalar(text("SELECT to_regclass('task_embeddings') IS NOT NULL"))
        if found:
            return None
        return (
            "the PostgreSQL server lacks the pgvector extension (or migration 0005 ran "
            "before it was installed)"
        )
    if not sqlite_vectors.extension_loading_supported():
        return "this Python's sqlite3 cannot load extensions, so sqlite-vec is unavailable"
    found = await session.scalar(
        text("SELECT count(*) FROM sqlite_master WHERE name = 'task_vectors'")
    )
    return None if found else "the sqlite-vec table task_vectors does not exist"


async def stored_models(session: AsyncSession) -> set[tuple[str, int]]:
    """The distinct (model, dimension) pairs of the stored vectors."""
    rows = await session.execute(select(EMBEDDINGS.c.model, EMBEDDINGS.c.dimension).distinct())
    return {(str(model), int(dimension)) for model, dimension in rows}


async def reset(session: AsyncSession, dimension: int) -> None:
    """Drop every vector and make room for `dimension`: a model change starts over."""
    await session.execute(delete(EMBEDDINGS))
    if _dialect(session) == "postgresql":
        await session.execute(text("DROP INDEX IF EXISTS ix_task_embeddings_hnsw"))
        await session.execute(
            text(f"ALTER TABLE task_embeddings ALTER COLUMN embedding TYPE vector({dimension:d})")
        )
        await session.execute(
            text(
                "CREATE INDEX ix_task_embeddings_hnsw ON task_embeddings "
                "USING hnsw (embedding vector_cosine_ops)"
            )
        )
        return
    # vec0 fixes the dimension at creation: the table is a derived index, rebuilt empty.
    await session.execute(text(f"DROP TABLE IF EXISTS {sqlite_vectors.TABLE}"))
    await session.execute(text(sqlite_vectors.create_table_sql(dimension)))


async def stored(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Stored]:
    if not ids:
        return {}
    rows = await session.execute(
        select(
            EMBEDDINGS.c.task_id,
            EMBEDDINGS.c.model,
            EMBEDDINGS.c.dimension,
            EMBEDDINGS.c.content_hash,
        ).where(EMBEDDINGS.c.task_id.in_(list(ids)))
    )
    return {row[0]: Stored(row[1], row[2], row[3]) for row in rows}


async def save(session: AsyncSession, rows: Sequence[Row]) -> None:
    """Store these vectors, replacing any previous one of the same task."""
    if not rows:
        return
    ids = [row.task_id for row in rows]
    await session.execute(delete(EMBEDDINGS).where(EMBEDDINGS.c.task_id.in_(ids)))
    postgres = _dialect(session) == "postgresql"
    await session.execute(
        EMBEDDINGS.insert(),
        [
            {
                "task_id": row.task_id,
                "model": row.model,
                "dimension": len(row.vector),
                "content_hash": row.content_hash,
                **({"embedding": _pg_text(row.vector)} if postgres else {}),
            }
            for row in rows
        ],
    )
    if postgres:
        return
    conn = await session.connection()
    for row in rows:
        scope = sqlite_vectors.task_scope(row.owner_id, row.project_id)
        await sqlite_vectors.upsert_vector(conn, row.task_id, scope, row.done, row.vector)


def _pg_text(vector: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


async def nearest(
    session: AsyncSession,
    user_id: uuid.UUID,
    query: Sequence[float],
    k: int,
    *,
    project_id: uuid.UUID | None = None,
    done: bool | None = None,
) -> list[tuple[uuid.UUID, float]]:
    """The `k` tasks nearest `query` that `user_id` sees, as (task id, cosine similarity).

    `project_id`: only that project's tasks; its visibility must be checked first
    (`tasks.access.sees_project`). Best first.
    """
    if _dialect(session) == "postgresql":
        return await _nearest_pg(session, user_id, query, k, project_id, done)
    if project_id is not None:
        scopes = [sqlite_vectors.project_scope(project_id)]
    else:
        projects = await session.scalars(select(memberships_of(user_id).subquery().c.project_id))
        scopes = [sqlite_vectors.inbox_scope(user_id)]
        scopes.extend(sqlite_vectors.project_scope(p) for p in projects)
    conn = await session.connection()
    return await sqlite_vectors.nearest_visible(conn, query, scopes, k, done=done)


async def _nearest_pg(
    session: AsyncSession,
    user_id: uuid.UUID,
    query: Sequence[float],
    k: int,
    project_id: uuid.UUID | None,
    done: bool | None,
) -> list[tuple[uuid.UUID, float]]:
    distance = EMBEDDINGS.c.embedding.op("<=>", return_type=Float())(_QUERY)

    def part(place: Any) -> Any:
        task = place.selected_columns
        place = place.join(EMBEDDINGS, EMBEDDINGS.c.task_id == task.id)
        if done is not None:
            place = place.where(task.done == bindparam("done"))
        return (
            place.with_only_columns(task.id, distance.label("distance"))
            .order_by(distance)
            .limit(_K)
        )

    if project_id is not None:
        statement = project_tasks(part)
    else:
        visible = visible_tasks(USER, part, dialect="postgresql")
        statement = select(visible.c.id, visible.c.distance).order_by(visible.c.distance).limit(_K)
    params: dict[str, Any] = {
        "user_id": user_id,
        "project_id": project_id,
        "query": _pg_text(query),
        "k": k,
        "done": done,
    }
    # Session level (reader sessions autocommit, so SET LOCAL would not last); it only
    # changes how an HNSW scan with a filter continues, and only ours use one.
    await session.execute(text("SET hnsw.iterative_scan = strict_order"))
    rows = await session.execute(statement, params)
    return [(row[0], 1.0 - float(row[1])) for row in rows]
