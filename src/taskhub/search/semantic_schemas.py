"""Bodies of the similar / duplicates / ask routes (SPEC §7)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, StrictStr

from taskhub.schemas import InputModel, NotBlank, OutputModel, Storable
from taskhub.tasks.schemas import Description, TaskOut, Title


class Hit(OutputModel):
    task: TaskOut
    score: float


class HitsOut(OutputModel):
    items: list[Hit]


class DuplicatesIn(InputModel):
    """A task about to be created: which visible open tasks probably say the same?"""

    title: Title
    description: Description = ""
    project_id: uuid.UUID | None = None


class AskIn(InputModel):
    question: Annotated[StrictStr, Field(min_length=1, max_length=2000), NotBlank, Storable]
    project_id: uuid.UUID | None = None


class AskOut(OutputModel):
    answer: str
    citations: list[uuid.UUID] = Field(description="Ids of visible tasks the answer draws on")
