"""Accounts and refresh-token families."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, String, Uuid, true
from sqlalchemy.orm import Mapped, mapped_column

from taskhub.db import Base, UTCDateTime, new_id, utcnow
from taskhub.secret_rows import HashedUserSecret


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    # False once a superuser deactivates the account (auth/deactivation.py).
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RefreshToken(HashedUserSecret, Base):
    """One issued refresh token; only its SHA-256 is stored.

    Tokens issued by rotation share a `family_id`. Presenting a spent token revokes
    the whole family (RFC 6819 §5.2.2.3): whoever holds the newer token loses it too.
    """

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        Index("ix_refresh_tokens_family_id", "family_id"),
        Index("ix_refresh_tokens_expires_at", "expires_at"),
    )

    family_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class PersonalToken(HashedUserSecret, Base):
    """A personal access token (SPEC §10); only its SHA-256 is stored.

    `scopes` is the space-separated list (the OAuth2 spelling). Revoking deletes the row,
    so a revoked token is as unknown as one never issued.
    """

    __tablename__ = "personal_tokens"
    __table_args__ = (Index("ix_personal_tokens_user_id", "user_id"),)

    name: Mapped[str] = mapped_column(String(100))
    hint: Mapped[str] = mapped_column(String(20))
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
