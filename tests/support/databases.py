"""Throwaway databases: the one way tests, bench, faults and fuzz create and drop them."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg

from taskhub.migrate import upgrade
from taskhub.settings import Settings
from tests.support.env import BACKEND, PG_ADMIN_DSN


def sqlalchemy_url(admin_dsn: str, name: str) -> str:
    """The asyncpg SQLAlchemy URL of database `name` on the server of `admin_dsn`."""
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


def asyncpg_dsn(database_url: str) -> str:
    """A SQLAlchemy `postgresql+asyncpg://` URL as a DSN asyncpg itself accepts."""
    return database_url.replace("+asyncpg", "", 1)


async def admin_execute(statement: str, admin_dsn: str = PG_ADMIN_DSN) -> None:
    admin = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@asynccontextmanager
async def fresh_postgres_database(
    prefix: str = "taskhub_test", admin_dsn: str = PG_ADMIN_DSN
) -> AsyncIterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, drop it (with FORCE) after."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    await admin_execute(f'CREATE DATABASE "{name}"', admin_dsn)
    try:
        yield sqlalchemy_url(admin_dsn, name)
    finally:
        await admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin_dsn)


@contextmanager
def fresh_postgres_database_sync(
    prefix: str = "taskhub_test", admin_dsn: str = PG_ADMIN_DSN
) -> Iterator[str]:
    """`fresh_postgres_database` for callers without an event loop (scripts)."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    asyncio.run(admin_execute(f'CREATE DATABASE "{name}"', admin_dsn))
    try:
        yield sqlalchemy_url(admin_dsn, name)
    finally:
        asyncio.run(admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin_dsn))


@asynccontextmanager
async def empty_database(directory: Path, prefix: str = "taskhub_test") -> AsyncIterator[str]:
    """An empty database of the backend under test (a file in `directory` on SQLite)."""
    if BACKEND == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / 'fresh.db'}"
        return
    async with fresh_postgres_database(prefix) as url:
        yield url


async def migrate(settings: Settings) -> None:
    await asyncio.to_thread(upgrade, settings)


__all__ = [
    "admin_execute",
    "asyncpg_dsn",
    "empty_database",
    "fresh_postgres_database",
    "fresh_postgres_database_sync",
    "migrate",
    "sqlalchemy_url",
]
