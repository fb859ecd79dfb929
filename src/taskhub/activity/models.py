"""Task activity: who changed what, when. Written only by background jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from taskhub.db import Base, JSONList, UTCDateTime, new_id, utcnow


class TaskActivity(Base):
    __tablename__ = "task_activity"
    __table_args__ = (Index("ix_task_activity_task_id_created_at", "task_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    action: Mapped[str] = mapped_column(String(32))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONList, default=dict)
    # The outbox message that wrote this entry: unique, so a redelivered job cannot
    # write it twice even if the outbox row was already purged.
    source_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
