"""Task request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, StrictInt, StrictStr, field_validator

from taskhub.schemas import InputModel, NotBlank, OutputModel, Timestamp

MAX_POSITION = 2**53 - 1


def _dedupe(labels: list[str]) -> list[str]:
    return list(dict.fromkeys(labels))


Title = Annotated[StrictStr, Field(min_length=1, max_length=200), NotBlank]
Description = Annotated[StrictStr, Field(max_length=20_000)]
Priority = Annotated[StrictInt, Field(ge=0, le=4, description="0 none .. 4 urgent")]
Label = Annotated[StrictStr, Field(min_length=1, max_length=50)]
Labels = Annotated[list[Label], Field(max_length=20), AfterValidator(_dedupe)]
Position = Annotated[StrictInt, Field(ge=0, le=MAX_POSITION)]

TaskOrder = Literal[
    "created_at", "-created_at", "due_at", "-due_at", "priority", "-priority", "position"
]


class TaskCreate(InputModel):
    title: Title
    description: Description = ""
    done: StrictBool = False
    priority: Priority = 0
    due_at: Timestamp | None = None
    labels: Labels = Field(default_factory=list)
    project_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    position: Position | None = Field(default=None, description="Default: last")


class TaskUpdate(InputModel):
    """Only the fields sent change. `null` is accepted only where the field is nullable."""

    title: Title | None = None
    description: Description | None = None
    done: StrictBool | None = None
    priority: Priority | None = None
    due_at: Timestamp | None = None
    labels: Labels | None = None
    project_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    position: Position | None = None

    @field_validator("title", "description", "done", "priority", "labels", "position")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Validators do not run on defaults, so this fires only for an explicit null.
        if value is None:
            raise ValueError("may not be null")
        return value


class TaskOut(OutputModel):
    id: uuid.UUID
    title: str
    description: str
    done: bool
    priority: int
    due_at: datetime | None
    labels: list[str]
    project_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    position: int
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    version: int
