"""/api/v1/auth and /api/v1/users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status

from taskhub.auth import service
from taskhub.auth.deps import CallerDep, HasherDep
from taskhub.auth.schemas import LoginForm, RefreshRequest, TokenPair, UserCreate, UserOut
from taskhub.deps import LimiterDep, ReaderDep, SessionDep, SettingsDep
from taskhub.errors import Unauthorized
from taskhub.routing import error_responses

router = APIRouter(prefix="/api/v1")


def _client_address(request: Request) -> str:
    # Behind a proxy, run uvicorn with --forwarded-allow-ips so this is the real client.
    return request.client.host if request.client else "unknown"


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    operation_id="register",
    tags=["auth"],
    responses=error_responses(409, 413, 503, e409="Email already registered"),
)
async def register(body: UserCreate, session: SessionDep, hasher: HasherDep) -> UserOut:
    user = await service.create_user(session, hasher, body)
    await session.commit()
    return UserOut.model_validate(user)


@router.post(
    "/auth/token",
    response_model=TokenPair,
    operation_id="login",
    tags=["auth"],
    responses=error_responses(
        401, 413, 429, 503, e401="Wrong email or password", e429="Too many failed logins"
    ),
)
async def login(
    form: Annotated[LoginForm, Form()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    hasher: HasherDep,
    limiter: LimiterDep,
) -> TokenPair:
    user = await service.authenticate(
        session,
        hasher,
        service.LoginGuard(limiter, settings),
        email=form.username,
        password=form.password,
        address=_client_address(request),
    )
    pair = await service.issue_tokens(session, settings, user.id)
    await session.commit()
    return pair


@router.post(
    "/auth/refresh",
    response_model=TokenPair,
    operation_id="refresh_token",
    tags=["auth"],
    responses=error_responses(401, 413, 503, e401="Invalid, expired or spent refresh token"),
)
async def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> TokenPair:
    pair = await service.rotate_refresh_token(session, settings, body.refresh_token)
    # Commit even on refusal: a detected re-use has just revoked the family.
    await session.commit()
    if pair is None:
        raise Unauthorized("Invalid refresh token")
    return pair


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="logout",
    tags=["auth"],
    responses=error_responses(413, 503),
)
async def logout(body: RefreshRequest, session: SessionDep) -> Response:
    await service.logout(session, body.refresh_token)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/users/me",
    response_model=UserOut,
    operation_id="get_me",
    tags=["users"],
    responses=error_responses(401, 429, 503),
)
async def me(caller: CallerDep, session: ReaderDep) -> UserOut:
    user = await service.find_user(session, caller.user_id)
    if user is None:
        # A validly signed token that outlived its account names nobody: not a 404.
        raise Unauthorized("Not authenticated")
    return UserOut.model_validate(user)
