"""Comment request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StrictStr

from taskhub.schemas import InputModel, NotBlank, OutputModel

Body = Annotated[StrictStr, Field(min_length=1, max_length=10_000), NotBlank]


class CommentIn(InputModel):
    """POST and PATCH body: only the text; author and task come from the request."""

    body: Body


class CommentOut(OutputModel):
    id: uuid.UUID
    task_id: uuid.UUID
    author_id: uuid.UUID
    body: str
    created_at: datetime
    updated_at: datetime
