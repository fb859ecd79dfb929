"""The transactional outbox: a job is a row written in the same transaction as its cause."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from taskhub.db import Base, JSONList, UTCDateTime, new_id, utcnow


class JobStatus(enum.StrEnum):
    pending = "pending"  # waiting to run (embedded) or to be handed to the broker
    running = "running"  # claimed by the embedded runner until `claimed_until`
    dispatched = "dispatched"  # handed to Celery; the worker marks it done
    done = "done"
    dead = "dead"  # failed its last retry; kept for inspection


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_available_at", "status", "available_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    job: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONList)
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, name="job_status", native_enum=False, length=16, validate_strings=True),
        default=JobStatus.pending,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
