"""Project request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StrictStr, field_validator
from pydantic.json_schema import SkipJsonSchema

from taskhub.projects.models import Role
from taskhub.schemas import InputModel, NotBlank, OutputModel, Storable

ProjectName = Annotated[StrictStr, Field(min_length=1, max_length=100), NotBlank]
ProjectDescription = Annotated[StrictStr, Field(max_length=20_000), Storable]


class ProjectCreate(InputModel):
    name: ProjectName
    description: ProjectDescription = ""


class ProjectUpdate(InputModel):
    """Only the fields sent change; neither may be null."""

    name: ProjectName | SkipJsonSchema[None] = None
    description: ProjectDescription | SkipJsonSchema[None] = None

    @field_validator("name", "description")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Validators do not run on defaults, so this fires only for an explicit null.
        if value is None:
            raise ValueError("may not be null")
        return value


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
