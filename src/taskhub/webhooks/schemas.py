"""Webhook request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictStr, field_validator
from pydantic.json_schema import SkipJsonSchema

from taskhub.schemas import InputModel, NotBlank, OutputModel
from taskhub.webhooks.models import DeliveryStatus
from taskhub.webhooks.ssrf import MAX_URL_LENGTH

# The events SPEC §9 names; `webhook.test` is only ever sent by POST /webhooks/{id}/test.
EventType = Literal[
    "task.created",
    "task.updated",
    "task.completed",
    "task.deleted",
    "task.reminder",
    "comment.created",
]
WebhookURL = Annotated[StrictStr, Field(min_length=1, max_length=MAX_URL_LENGTH), NotBlank]
EventList = Annotated[list[EventType], Field(min_length=1, max_length=6)]


def _distinct(events: list[EventType] | None) -> list[EventType] | None:
    if events is None:
        raise ValueError("may not be null")
    return sorted(set(events))


class WebhookCreate(InputModel):
    url: WebhookURL
    events: EventList
    project_id: uuid.UUID | None = None

    _events = field_validator("events")(_distinct)


class WebhookUpdate(InputModel):
    """Only the fields sent change. `enabled: true` re-enables a disabled webhook."""

    url: WebhookURL | SkipJsonSchema[None] = None
    events: EventList | SkipJsonSchema[None] = None
    enabled: StrictBool | SkipJsonSchema[None] = None

    _events = field_validator("events")(_distinct)

    @field_validator("url", "enabled")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class WebhookOut(OutputModel):
    id: uuid.UUID
    url: str
    events: list[str]
    project_id: uuid.UUID | None
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret (`whsec_…`), shown only in this answer")


class DeliveryOut(OutputModel):
    id: int
    message_id: str = Field(description="The `webhook-id` header, the same on every retry")
    event_type: str
    task_id: uuid.UUID | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    response_excerpt: str | None = Field(description="At most 1,024 characters")
    created_at: datetime
