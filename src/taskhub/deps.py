"""Annotated dependencies shared by routers: settings, sessions, limits, paging.

Who is calling (`CallerDep`) is authentication's: `taskhub.auth.deps`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.db import Database
from taskhub.limits import RateLimiter
from taskhub.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for one write transaction; the router commits, anything else rolls back."""
    database = get_database(request)
    async with database.gate, database.writer() as session:
        yield session


async def get_reader(request: Request) -> AsyncIterator[AsyncSession]:
    """An autocommit session for single-statement reads (no BEGIN/ROLLBACK round-trips)."""
    database = get_database(request)
    async with database.gate, database.reader() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReaderDep = Annotated[AsyncSession, Depends(get_reader)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]

LimitQuery = Annotated[int, Query(ge=1, le=100, description="Page size")]
CursorQuery = Annotated[
    str | None, Query(max_length=1024, description="Opaque cursor from a previous page")
]
