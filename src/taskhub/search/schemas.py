"""Search answers (SPEC §7). Tasks in them are exactly GET /api/v1/tasks/{id}'s JSON."""

from __future__ import annotations

from typing import Literal

from taskhub.schemas import OutputModel
from taskhub.tasks.schemas import TaskOut

SearchMode = Literal["hybrid", "semantic", "text"]


class SearchHit(OutputModel):
    task: TaskOut
    score: float


class SearchOut(OutputModel):
    mode: SearchMode
    items: list[SearchHit]
