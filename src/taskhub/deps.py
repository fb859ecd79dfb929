"""Annotated dependencies shared by routers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.auth.passwords import PasswordHasher
from taskhub.auth.tokens import AccessTokenVerifier
from taskhub.db import Database
from taskhub.errors import RateLimited, Unauthorized
from taskhub.limits import RateLimiter
from taskhub.settings import Settings

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def get_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


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
HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, as far as a valid access token says. No database lookup."""

    user_id: uuid.UUID


async def get_caller(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Caller:
    settings = get_settings(request)
    verifier: AccessTokenVerifier = request.app.state.verifier
    claims = verifier.verify(token) if token else None
    if claims is None:
        raise Unauthorized("Not authenticated")
    limit = settings.rate_limit_per_minute
    if limit:
        wait = await get_limiter(request).hit(f"api:{claims.user_id}", limit, 60)
        if wait is not None:
            raise RateLimited(wait)
    return Caller(user_id=claims.user_id)


CallerDep = Annotated[Caller, Depends(get_caller)]

LimitQuery = Annotated[int, Query(ge=1, le=100, description="Page size")]
CursorQuery = Annotated[
    str | None, Query(max_length=1024, description="Opaque cursor from a previous page")
]
