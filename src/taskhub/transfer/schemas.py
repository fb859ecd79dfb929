"""Import and export response bodies."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from taskhub.schemas import OutputModel
from taskhub.transfer.models import ImportFormat, ImportStatus


class ImportAccepted(OutputModel):
    id: uuid.UUID


class RowErrorOut(BaseModel):
    line: int
    reason: str


class ImportOut(OutputModel):
    """`created` + `skipped` (already imported) + `failed` = `processed` of `total`."""

    id: uuid.UUID
    status: ImportStatus
    format: ImportFormat
    total: int
    processed: int
    created: int
    skipped: int
    failed: int
    errors: list[RowErrorOut]
