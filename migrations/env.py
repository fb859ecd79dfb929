"""Alembic environment: async engines, SQLite batch mode, our metadata."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import taskhub.models  # noqa: F401  (registers every table on the metadata)
from taskhub.db import Base
from taskhub.search.sqlite_vectors import extension_loading_supported, load_sqlite_vec

config = context.config
target_metadata = Base.metadata

# Full-text search objects that migration 0004 creates by hand, one backend each (the
# models cannot say "FTS5 table" or "tsvector"): autogenerate must not see them as drift.
# `tasks_fts` also names FTS5's shadow tables (tasks_fts_data, tasks_fts_idx, ...).
UNMODELLED_COLUMNS = {("tasks", "search_vector")}
UNMODELLED_INDEXES = {"ix_tasks_search"}
UNMODELLED_TABLE_PREFIX = "tasks_fts"
# Semantic search objects that migration 0005 creates by hand, one backend each (pgvector's
# `vector`, sqlite-vec's vec0 table and its shadow tables task_vectors_*): not even
# reflected, since SQLAlchemy knows neither pgvector's type nor vec0's tables.
UNREFLECTED_TABLE_PREFIXES = ("task_embeddings", "task_vectors")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (
        type_ == "table" and name is not None and name.startswith(UNREFLECTED_TABLE_PREFIXES)
    )


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    if not reflected or name is None:
        return True
    if type_ == "table":
        return not name.startswith(UNMODELLED_TABLE_PREFIX)
    if type_ == "index":
        return name not in UNMODELLED_INDEXES
    if type_ == "column":
        table = getattr(getattr(obj, "table", None), "name", None)
        return (table, name) not in UNMODELLED_COLUMNS
    return True


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things in place
        compare_type=True,
        compare_server_default=True,
        include_object=include_object,
        include_name=include_name,
        literal_binds=connection is None,
    )


def run_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"))
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_async_engine(url, poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite" and extension_loading_supported():
        # Migration 0005 creates a sqlite-vec table, and later ones may write to `tasks`,
        # whose triggers touch it: the extension must be loaded here as in the app.
        load_sqlite_vec(engine)
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
