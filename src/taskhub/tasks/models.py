"""The task table."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from taskhub.db import Base, JSONList, UTCDateTime, new_id, utcnow


class Task(Base):
    __tablename__ = "tasks"
    # A task lives either in its owner's inbox (project_id IS NULL) or in a project.
    # Each list query reads one of these index ranges, never other users' rows.
    __table_args__ = (
        # Partial indexes: PostgreSQL cannot use `project_id IS NULL` as an equality
        # when ordering, so an (owner_id, project_id, created_at) index would still
        # need a sort of the whole inbox; these serve the ordered scan directly.
        Index(
            "ix_tasks_inbox_created",
            "owner_id",
            "created_at",
            "id",
            postgresql_where=text("project_id IS NULL"),
            sqlite_where=text("project_id IS NULL"),
        ),
        Index(
            "ix_tasks_inbox_position",
            "owner_id",
            "position",
            postgresql_where=text("project_id IS NULL"),
            sqlite_where=text("project_id IS NULL"),
        ),
        Index("ix_tasks_project_created", "project_id", "created_at", "id"),
        Index("ix_tasks_project_position", "project_id", "position"),
        Index("ix_tasks_parent_id", "parent_id"),
        Index("ix_tasks_owner_id", "owner_id"),  # ON DELETE CASCADE from users
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), default=None
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), default=None
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    labels: Mapped[list[str]] = mapped_column(JSONList, default=list)
    position: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    version: Mapped[int] = mapped_column(BigInteger, default=1)
    # SPEC §9: an RRULE value (validated by `taskhub.recurrence`) read on the wall clock
    # of `timezone`; completing the task moves `due_at` to the next occurrence.
    recurrence: Mapped[str | None] = mapped_column(String(500), default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class TaskReminder(Base):
    """A reminder that fired: one row per (task, remind_at), so it fires exactly once.

    The reminder job inserts this row in the transaction that emits `task.reminder`;
    a second job for the same instant (rescheduled to the same time, or redelivered)
    finds it and emits nothing.
    """

    __tablename__ = "task_reminders"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The Core table, for the single-statement INSERT/UPDATE ... RETURNING on the hot paths.
TASKS: Table = Task.__table__  # type: ignore[assignment]
