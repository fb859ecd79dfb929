"""One row per (caller, Idempotency-Key): in progress until the response is stored."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from taskhub.db import Base, UTCDateTime, new_id, utcnow


class IdempotencyKey(Base):
    """`status_code` NULL means the first request is still running (or died: see `lease_until`).

    `caller` names the credential, not only the user ("u:<user id>" for a session,
    "t:<token id>" for a personal token), so a narrow token can never replay what a wider
    credential of the same user did. No foreign key: rows live 24 hours at most and
    outlive nothing they refer to.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("caller", "key", name="uq_idempotency_keys_caller_key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    caller: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    lease: Mapped[str] = mapped_column(String(32))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    response_headers: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
