"""Project request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StrictStr

from taskhub.projects.models import Role
from taskhub.schemas import InputModel, NotBlank, OutputModel

ProjectName = Annotated[StrictStr, Field(min_length=1, max_length=100), NotBlank]
ProjectDescription = Annotated[StrictStr, Field(max_length=20_000)]


class ProjectCreate(InputModel):
    name: ProjectName
    description: ProjectDescription = ""


class ProjectUpdate(InputModel):
    name: ProjectName | None = None
    description: ProjectDescription | None = None


class ProjectOut(OutputModel):
    id: uuid.UUID
    name: str
    description: str
    role: Role
    created_at: datetime
    updated_at: datetime


class MemberPut(InputModel):
    role: Role


class MemberOut(OutputModel):
    user_id: uuid.UUID
    email: str
    role: Role
