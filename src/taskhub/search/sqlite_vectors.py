"""sqlite-vec for the embedded database: load the extension, and a visibility-scoped KNN.

Foundation for issue 10's SQLite vector store (not wired into the app yet). Vectors live
in a vec0 virtual table whose `scope` metadata column says who may see the row:
`u:<owner id>` for a task in its owner's inbox, `p:<project id>` for a project task. A
caller's visible scopes are their own inbox plus each project they are a member of, and
the KNN query constrains `scope IN (...)` itself: sqlite-vec evaluates metadata
constraints during the search, so `k` rows come back from what the caller may see,
never a global top-k trimmed afterwards (which silently returns too few).
"""

from __future__ import annotations

import sqlite3
import struct
import uuid
from collections.abc import Sequence
from typing import Any

import sqlite_vec
from sqlalchemy import bindparam, event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

TABLE = "task_vectors"
_DELETE = text("DELETE FROM task_vectors WHERE task_id = :id")
_INSERT = text("INSERT INTO task_vectors(task_id, embedding, scope, done) VALUES (:id, :v, :s, :d)")
# `scope IN (...)` and `done = ...` are vec0 metadata constraints: applied during the search.
_KNN_SQL = (
    "SELECT task_id, distance FROM task_vectors "
    "WHERE embedding MATCH :q AND k = :k AND scope IN :scopes"
)
_KNN = text(_KNN_SQL + " ORDER BY distance").bindparams(bindparam("scopes", expanding=True))
_KNN_DONE = text(_KNN_SQL + " AND done = :done ORDER BY distance").bindparams(
    bindparam("scopes", expanding=True)
)


class VectorStoreUnavailable(Exception):
    """This SQLite cannot host vectors; semantic features stay off (text search works)."""


def extension_loading_supported() -> bool:
    """False on a Python built without loadable SQLite extensions (some pyenv builds)."""
    return hasattr(sqlite3.Connection, "enable_load_extension")


def load_sqlite_vec(engine: AsyncEngine) -> None:
    """Load sqlite-vec into every connection `engine` opens (aiosqlite only)."""
    if not extension_loading_supported():
        raise VectorStoreUnavailable(
            "this Python's sqlite3 cannot load extensions (built without "
            "--enable-loadable-sqlite-extensions), so sqlite-vec is unavailable"
        )

    @event.listens_for(engine.sync_engine, "connect")
    def _load(dbapi_connection: Any, _record: Any) -> None:
        # aiosqlite runs sqlite3 on its own thread: reach the driver connection through
        # SQLAlchemy's adapter. Extension loading is switched off again right after, so
        # SQL (load_extension()) can never load a library of its choosing.
        path = sqlite_vec.loadable_path()
        dbapi_connection.run_async(lambda conn: conn.enable_load_extension(True))
        try:
            dbapi_connection.run_async(lambda conn: conn.load_extension(path))
        finally:
            dbapi_connection.run_async(lambda conn: conn.enable_load_extension(False))


def inbox_scope(owner_id: uuid.UUID) -> str:
    return f"u:{owner_id.hex}"


def project_scope(project_id: uuid.UUID) -> str:
    return f"p:{project_id.hex}"


def task_scope(owner_id: uuid.UUID, project_id: uuid.UUID | None) -> str:
    """Who may see a task: its project's members, or, in the inbox, its owner alone."""
    return project_scope(project_id) if project_id is not None else inbox_scope(owner_id)


def serialize(vector: Sequence[float]) -> bytes:
    """sqlite-vec's float32 blob format: little-endian floats, no header."""
    return struct.pack(f"<{len(vector)}f", *vector)


def create_table_sql(dimension: int) -> str:
    # cosine: the embedders return unit vectors, so distance = 1 - cosine similarity.
    return (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING vec0("
        "task_id text primary key, "
        f"embedding float[{dimension}] distance_metric=cosine, "
        "scope text, done integer)"
    )


async def upsert_vector(
    conn: AsyncConnection, task_id: uuid.UUID, scope: str, done: bool, vector: Sequence[float]
) -> None:
    # vec0 has no ON CONFLICT: replace is delete-then-insert inside the caller's transaction.
    await conn.execute(_DELETE, {"id": task_id.hex})
    await conn.execute(
        _INSERT, {"id": task_id.hex, "v": serialize(vector), "s": scope, "d": int(done)}
    )


async def nearest_visible(
    conn: AsyncConnection,
    query: Sequence[float],
    scopes: Sequence[str],
    k: int,
    *,
    done: bool | None = None,
) -> list[tuple[uuid.UUID, float]]:
    """The `k` tasks nearest `query` among the rows in `scopes`, as (task id, cosine similarity)."""
    if not scopes or k < 1:
        return []
    params: dict[str, Any] = {"q": serialize(query), "k": k, "scopes": list(scopes)}
    statement = _KNN
    if done is not None:
        statement, params["done"] = _KNN_DONE, int(done)
    rows = (await conn.execute(statement, params)).all()
    return [(uuid.UUID(hex=row[0]), 1.0 - float(row[1])) for row in rows]
