"""A PostgreSQL database of its own, for tests whose other processes must not share one."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from taskhub.migrate import upgrade
from taskhub.settings import Settings


@asynccontextmanager
async def fresh_postgres_database(admin_dsn: str, prefix: str) -> AsyncIterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, drop it (with FORCE) after."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def migrate(settings: Settings) -> None:
    await asyncio.to_thread(upgrade, settings)


__all__ = ["fresh_postgres_database", "migrate"]
