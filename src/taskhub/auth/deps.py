"""Who is calling: the access-token dependency every authenticated route takes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from taskhub.auth.deactivation import ensure_active
from taskhub.auth.passwords import PasswordHasher
from taskhub.auth.tokens import AccessClaims, AccessTokenVerifier
from taskhub.deps import get_limiter, get_settings
from taskhub.errors import RateLimited, Unauthorized

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, as far as a valid access token says. No database lookup."""

    user_id: uuid.UUID


async def authenticate(request: Request) -> AccessClaims | None:
    """The claims of the request's valid bearer token, or None; verified once per request.

    `AuthenticateFirst` calls it before anything reads the body (SPEC §2); `get_caller`
    then finds the answer already in `request.state`.
    """
    try:
        claims: AccessClaims | None = request.state.access_claims
        return claims
    except AttributeError:
        pass
    token = await oauth2_scheme(request)
    verifier: AccessTokenVerifier = request.app.state.verifier
    claims = verifier.verify(token) if token else None
    request.state.access_claims = claims
    return claims


async def get_caller(
    request: Request,
    # Unused here (authenticate reads the header); it puts the bearer scheme in OpenAPI.
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Caller:
    settings = get_settings(request)
    claims = await authenticate(request)
    if claims is None:
        raise Unauthorized("Not authenticated")
    await ensure_active(request.app.state.deactivations, claims.user_id)
    limit = settings.rate_limit_per_minute
    if limit:
        wait = await get_limiter(request).hit(f"api:{claims.user_id}", limit, 60)
        if wait is not None:
            raise RateLimited(wait)
    return Caller(user_id=claims.user_id)


CallerDep = Annotated[Caller, Depends(get_caller)]
