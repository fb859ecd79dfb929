"""Imports: the job's state, its staged rows, and the per-user dedupe keys.

An upload is parsed once, when it arrives, into `import_rows` (one row per task,
project or note to create, in file order) so the background job can work through it
in short slices: each slice is one transaction that applies the next rows, advances
`imports.cursor` and enqueues the next slice, so any instance or Celery worker can pick
it up, and a slice that dies is simply run again. Staged rows are deleted when the
import finishes; the dedupe keys stay (a re-run of the same file creates nothing).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from taskhub.db import Base, JSONList, UTCDateTime, new_id, utcnow


class ImportStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"


class ImportFormat(enum.StrEnum):
    json = "json"  # taskhub's own export document
    csv = "csv"  # taskhub's plain CSV
    todoist = "todoist"  # Todoist's CSV export


class Import(Base):
    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_owner_id", "owner_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    format: Mapped[ImportFormat] = mapped_column(
        Enum(ImportFormat, name="import_format", native_enum=False, length=16)
    )
    status: Mapped[ImportStatus] = mapped_column(
        Enum(ImportStatus, name="import_status", native_enum=False, length=16),
        default=ImportStatus.queued,
    )
    size: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes uploaded
    total: Mapped[int] = mapped_column(Integer, default=0)  # staged rows to apply
    processed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)  # already imported (dedupe)
    failed: Mapped[int] = mapped_column(Integer, default=0)  # rows with an error
    # The first MAX_ERRORS row errors as {"line", "reason"}; `failed` counts them all.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONList, default=list)
    cursor: Mapped[int] = mapped_column(Integer, default=0)  # last staged seq applied
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class RowState(enum.StrEnum):
    pending = "pending"
    applied = "applied"  # created, or found already imported
    failed = "failed"


class ImportRow(Base):
    """One staged row. `ref`/`parent_ref` link subtasks (the file's line or export id)."""

    __tablename__ = "import_rows"
    __table_args__ = (Index("ix_import_rows_import_id_ref", "import_id", "ref"),)

    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    line: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # "project" or "task"
    ref: Mapped[str | None] = mapped_column(String(64), default=None)
    parent_ref: Mapped[str | None] = mapped_column(String(64), default=None)
    key: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONList)
    state: Mapped[RowState] = mapped_column(
        Enum(RowState, name="import_row_state", native_enum=False, length=16),
        default=RowState.pending,
    )
    target_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)  # task/project made


class ImportKey(Base):
    """A row this user imported before: its dedupe key and what it became."""

    __tablename__ = "import_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The task or project it became. No foreign key: a re-run checks that it still
    # exists, and creates it again if it was deleted since.
    target_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
