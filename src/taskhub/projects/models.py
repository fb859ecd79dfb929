"""Projects and their members."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from taskhub.db import Base, UTCDateTime, new_id, utcnow


class Role(enum.StrEnum):
    viewer = "viewer"
    editor = "editor"
    owner = "owner"

    @property
    def can_write_tasks(self) -> bool:
        return self is not Role.viewer


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectMember(Base):
    __tablename__ = "project_members"
    # The primary key serves "members of a project"; this index serves "projects of a
    # user", which every visibility check asks.
    __table_args__ = (Index("ix_project_members_user_id_project_id", "user_id", "project_id"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="project_role", native_enum=False, length=16, validate_strings=True)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
