"""Task request and response bodies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from taskhub.schemas import InputModel, NotBlank, OutputModel, Storable, TextRule, Timestamp

MAX_POSITION = 2**53 - 1

# RFC 3339 date-time (§5.6), with the space separator its note allows. Pydantic alone
# would also take "1893456000" as a Unix time.
RFC3339 = TextRule(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$",
    explain=lambda _: "must be an RFC 3339 timestamp with an offset",
    before=True,
)


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


def _dedupe(labels: list[str]) -> list[str]:
    return list(dict.fromkeys(labels))


UtcTimestamp = Annotated[Timestamp, RFC3339, AfterValidator(_in_utc)]
Title = Annotated[StrictStr, Field(min_length=1, max_length=200), NotBlank]
Description = Annotated[StrictStr, Field(max_length=20_000), Storable]


def _whole_number(value: Any) -> Any:
    # JSON has one number type, and JSON Schema's `integer` includes 4.0: accept it as 4.
    # 4.5, "4" and true are still refused by StrictInt.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = BeforeValidator(_whole_number)
Priority = Annotated[StrictInt, Field(ge=0, le=4, description="0 none .. 4 urgent"), WholeNumber]
Label = Annotated[StrictStr, Field(min_length=1, max_length=50), Storable]
Labels = Annotated[list[Label], Field(max_length=20), AfterValidator(_dedupe)]
Position = Annotated[StrictInt, Field(ge=0, le=MAX_POSITION), WholeNumber]
SearchText = Annotated[str, Storable]
# Syntax and meaning are checked against the merged task by `taskhub.recurrence`
# (a rule needs a due date, which a PATCH may send or leave as it was).
Recurrence = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=500,
        description="RFC 5545 RRULE value, e.g. FREQ=WEEKLY;BYDAY=MO (needs due_at)",
        examples=["FREQ=WEEKLY;BYDAY=MO"],
    ),
    Storable,
]
TimeZone = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=64,
        description="IANA time zone the recurrence is read in",
        examples=["Europe/Berlin"],
    ),
    Storable,
]

TaskOrder = Literal[
    "created_at", "-created_at", "due_at", "-due_at", "priority", "-priority", "position"
]


def _reject_null(value: object) -> object:
    # Validators do not run on defaults, so this fires only for an explicit null.
    if value is None:
        raise ValueError("may not be null")
    return value


class TaskCreate(InputModel):
    title: Title
    description: Description = ""
    done: StrictBool = False
    priority: Priority = 0
    due_at: UtcTimestamp | None = None
    labels: Labels = Field(default_factory=list)
    project_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    position: Position | SkipJsonSchema[None] = Field(default=None, description="Default: last")
    recurrence: Recurrence | None = None
    timezone: TimeZone = "UTC"
    remind_at: UtcTimestamp | None = None

    _position_not_null = field_validator("position", "timezone")(_reject_null)


class TaskUpdate(InputModel):
    """Only the fields sent change. `null` is accepted only where the field is nullable."""

    title: Title | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None
    done: StrictBool | SkipJsonSchema[None] = None
    priority: Priority | SkipJsonSchema[None] = None
    due_at: UtcTimestamp | None = None
    labels: Labels | SkipJsonSchema[None] = None
    project_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    position: Position | SkipJsonSchema[None] = None
    recurrence: Recurrence | None = None
    timezone: TimeZone | SkipJsonSchema[None] = None
    remind_at: UtcTimestamp | None = None

    _not_null = field_validator(
        "title", "description", "done", "priority", "labels", "position", "timezone"
    )(_reject_null)


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
    recurrence: str | None
    timezone: str
    remind_at: datetime | None
