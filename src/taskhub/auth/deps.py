"""Who is calling: the credential check every authenticated route takes, and its scopes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.exc import SQLAlchemyError

from taskhub.auth import pats
from taskhub.auth.deactivation import ensure_active
from taskhub.auth.passwords import PasswordHasher
from taskhub.auth.pat_format import looks_like_token
from taskhub.auth.scopes import token_may_call
from taskhub.auth.tokens import AccessTokenVerifier
from taskhub.db import Database, utcnow
from taskhub.deps import get_limiter, get_settings
from taskhub.errors import Forbidden, RateLimited, Unauthorized
from taskhub.ops.logging import get_logger

log = get_logger(__name__)

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified credential: a session (JWT) or a personal access token."""

    user_id: uuid.UUID
    token_id: uuid.UUID | None = None  # None: a session, which may do everything
    scopes: frozenset[str] = frozenset()

    @property
    def credential(self) -> str:
        """Names the credential itself (idempotency keys are kept per credential)."""
        return f"t:{self.token_id}" if self.token_id else f"u:{self.user_id}"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, as far as a valid credential says."""

    user_id: uuid.UUID


async def authenticate(request: Request) -> Principal | None:
    """The request's valid credential, or None; verified once per request.

    `AuthenticateFirst` calls it before anything reads the body (SPEC §2); `get_caller`
    then finds the answer already in `request.state`.
    """
    try:
        principal: Principal | None = request.state.principal
        return principal
    except AttributeError:
        pass
    token = await oauth2_scheme(request)
    principal = None
    if token and looks_like_token(token):
        principal = await _personal_token(request.app.state.db, token)
    elif token:
        verifier: AccessTokenVerifier = request.app.state.verifier
        claims = verifier.verify(token)
        principal = Principal(user_id=claims.user_id) if claims else None
    request.state.principal = principal
    return principal


async def _personal_token(database: Database, token: str) -> Principal | None:
    now = utcnow()
    async with database.gate, database.reader() as session:
        found = await pats.resolve_token(session, token, now)
    if found is None:
        return None
    if found.stale:
        try:
            async with database.gate, database.writer() as session:
                await pats.touch_token(session, found.id, now)
                await session.commit()
        except SQLAlchemyError as exc:  # bookkeeping: never fail the request over it
            log.warning("token_touch_failed", error=type(exc).__name__)
    return Principal(user_id=found.user_id, token_id=found.id, scopes=found.scopes)


async def credential_of(request: Request) -> str | None:
    """The caller's credential name for per-caller records, or None when anonymous."""
    principal = await authenticate(request)
    if principal is None:
        return None
    try:
        await ensure_active(request.app.state.deactivations, principal.user_id)
    except Unauthorized:
        return None  # get_caller answers 401; no replay for a deactivated account
    return principal.credential


def _operation_id(request: Request) -> str | None:
    route = request.scope.get("route")
    return route.operation_id if isinstance(route, APIRoute) else None


async def get_caller(
    request: Request,
    # Unused here (authenticate reads the header); it puts the bearer scheme in OpenAPI.
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Caller:
    settings = get_settings(request)
    principal = await authenticate(request)
    if principal is None:
        raise Unauthorized("Not authenticated")
    await ensure_active(request.app.state.deactivations, principal.user_id)
    limit = settings.rate_limit_per_minute
    if limit:
        # Per user: a user's tokens and sessions share one budget.
        wait = await get_limiter(request).hit(f"api:{principal.user_id}", limit, 60)
        if wait is not None:
            raise RateLimited(wait)
    # THE scope check (SPEC §10): the table is taskhub.auth.scopes.OPERATION_SCOPES.
    if principal.token_id is not None and not token_may_call(
        principal.scopes, _operation_id(request)
    ):
        raise Forbidden("This token's scopes do not allow this operation")
    return Caller(user_id=principal.user_id)


CallerDep = Annotated[Caller, Depends(get_caller)]
