"""Accounts, logins and refresh-token rotation. Never commits: the caller owns the transaction."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from taskhub.auth.models import RefreshToken, User
from taskhub.auth.passwords import PasswordHasher
from taskhub.auth.schemas import MAX_EMAIL_CHARS, TokenPair, UserCreate
from taskhub.auth.tokens import hash_refresh_token, issue_access_token, new_refresh_token
from taskhub.db import utcnow
from taskhub.errors import Conflict, RateLimited, Unauthorized
from taskhub.limits import RateLimiter
from taskhub.settings import Settings, secret_of

MAX_PASSWORD_CHARS = 256


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    session: AsyncSession,
    hasher: PasswordHasher,
    data: UserCreate,
    *,
    is_superuser: bool = False,
) -> User:
    email = normalize_email(data.email)
    exists = await session.scalar(select(User.id).where(User.email == email))
    if exists is not None:
        raise Conflict("Email already registered")
    user = User(
        email=email,
        password_hash=await hasher.hash(data.password),
        display_name=data.display_name,
        is_superuser=is_superuser,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent registration won the race for this email
        raise Conflict("Email already registered") from None
    return user


async def find_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The account with this email (any case), for commands that name users by email."""
    return await _user_by_email(session, normalize_email(email))


async def users_by_ids(
    session: AsyncSession, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, User]:
    """The accounts among `user_ids` that exist, by id (one statement)."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    users = await session.scalars(select(User).where(User.id.in_(wanted)))
    return {user.id: user for user in users}


class LoginGuard:
    """Failed-login limits per email and per client address (SPEC §3)."""

    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self._limiter = limiter
        self._window = settings.login_failure_window_seconds
        self._limits = {
            "email": settings.login_failures_per_email,
            "addr": settings.login_failures_per_address,
        }

    def _keys(self, email: str, address: str) -> dict[str, str]:
        # A digest keeps the key small whatever the client sent as a username.
        digest = hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()
        return {"email": f"login-fail:email:{digest}", "addr": f"login-fail:addr:{address}"}

    async def check(self, email: str, address: str) -> None:
        for kind, key in self._keys(email, address).items():
            wait = await self._limiter.blocked_for(key, self._limits[kind], self._window)
            if wait is not None:
                raise RateLimited(wait)

    async def failed(self, email: str, address: str) -> None:
        for key in self._keys(email, address).values():
            await self._limiter.record(key, self._window)


async def user_id_by_email(session: AsyncSession, email: str) -> uuid.UUID | None:
    """The id of the account with this e-mail (case-insensitive), if any: for the CLI."""
    user = await _user_by_email(session, email)
    return None if user is None else user.id


async def _user_by_email(session: AsyncSession, email: str) -> User | None:
    # No stored email is longer, or holds a NUL (which PostgreSQL refuses in a query).
    if len(email) > MAX_EMAIL_CHARS or "\x00" in email:
        return None
    return await session.scalar(select(User).where(User.email == email))


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    """The account registered under `email` (as typed: normalized here), if any."""
    return await _user_by_email(session, normalize_email(email))


async def authenticate(
    session: AsyncSession,
    hasher: PasswordHasher,
    guard: LoginGuard,
    *,
    email: str,
    password: str,
    address: str,
) -> User:
    email = normalize_email(email)
    await guard.check(email, address)
    user = await _user_by_email(session, email)
    ok = len(password) <= MAX_PASSWORD_CHARS and await hasher.verify(
        password, user.password_hash if user else None
    )
    # A deactivated account answers exactly like a wrong password.
    if not ok or user is None or not user.is_active:
        await guard.failed(email, address)
        raise Unauthorized("Incorrect email or password")
    return user


async def issue_tokens(
    session: AsyncSession,
    settings: Settings,
    user_id: uuid.UUID,
    family_id: uuid.UUID | None = None,
) -> TokenPair:
    refresh = new_refresh_token()
    session.add(
        RefreshToken(
            token_hash=hash_refresh_token(refresh),
            user_id=user_id,
            family_id=family_id or uuid.uuid4(),
            expires_at=utcnow() + timedelta(days=settings.refresh_token_ttl_days),
        )
    )
    await session.flush()
    ttl = settings.access_token_ttl_seconds
    return TokenPair(
        access_token=issue_access_token(user_id, secret_of(settings), ttl),
        refresh_token=refresh,
        expires_in=ttl,
    )


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def rotate_refresh_token(
    session: AsyncSession, settings: Settings, presented: str
) -> TokenPair | None:
    """Spend `presented` and issue its successor; None if it must be refused.

    A spent or revoked token coming back means it was copied: the family is revoked
    (pending in the session, which the caller must commit even though it answers 401).
    """
    token = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(presented))
    )
    if token is None:
        return None
    if token.spent_at is not None or token.revoked_at is not None:
        await revoke_family(session, token.family_id)
        return None
    now = utcnow()
    if token.expires_at <= now:
        return None
    spent = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == token.id,
            RefreshToken.spent_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(spent_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        # Two requests raced with the same token: that is re-use too.
        await revoke_family(session, token.family_id)
        return None
    return await issue_tokens(session, settings, token.user_id, token.family_id)


async def logout(session: AsyncSession, presented: str) -> None:
    family_id = await session.scalar(
        select(RefreshToken.family_id).where(
            RefreshToken.token_hash == hash_refresh_token(presented)
        )
    )
    if family_id is not None:
        await revoke_family(session, family_id)


async def purge_expired_refresh_tokens(session: AsyncSession, now: datetime) -> int:
    """Delete refresh tokens that expired before `now` (spent or not); how many went."""
    result = await session.execute(delete(RefreshToken).where(RefreshToken.expires_at < now))
    return int(result.rowcount)  # type: ignore[attr-defined]
