"""Aging refresh tokens in the database, for the expiry and purge tests."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update

from taskhub.auth.models import RefreshToken
from taskhub.db import Database, utcnow


async def expire_refresh_tokens(database: Database, user_id: str) -> None:
    """Every refresh token of the user expired a second ago."""
    async with database.writer() as session:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == uuid.UUID(user_id))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()


__all__ = ["expire_refresh_tokens"]
