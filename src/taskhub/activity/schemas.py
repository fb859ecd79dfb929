"""Activity response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from taskhub.schemas import OutputModel


class ActivityOut(OutputModel):
    id: uuid.UUID
    task_id: uuid.UUID
    actor_id: uuid.UUID | None
    action: str
    changes: dict[str, Any]
    created_at: datetime
