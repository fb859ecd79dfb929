"""Browser sessions of the web app (SPEC §8): one row per signed-in browser."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from taskhub.db import Base, UTCDateTime
from taskhub.secret_rows import HashedUserSecret


class WebSession(HashedUserSecret, Base):
    """The cookie value is the secret (HashedUserSecret): only its SHA-256 is stored."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        Index("ix_web_sessions_user_id", "user_id"),
        Index("ix_web_sessions_expires_at", "expires_at"),
    )

    # The synchronizer token every form of this session carries (SPEC §8 CSRF).
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
