"""Field types shared by the domains' schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict


def _timestamp_text(value: Any) -> Any:
    # Lax pydantic would take 0 or 1.7e9 as a Unix time; the contract is RFC 3339 text.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string with an offset")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text)]
NotBlank = AfterValidator(_not_blank)


class InputModel(BaseModel):
    """Request bodies: unknown fields are an error (no mass assignment)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
