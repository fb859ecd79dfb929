"""Form values to the API's own schemas, and their validation errors back to fields.

The rules stay in the Pydantic schemas (tasks/schemas.py, auth/schemas.py...): a form
is only translated into the same payload a JSON client would send.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from taskhub.errors import Invalid

Errors = dict[str, str]


@dataclass(frozen=True, slots=True)
class Again:
    """A page shown again after a refused form: what was typed, what was wrong, and the
    status that says why. `values` None: show the stored object afresh (e.g. after a 409)."""

    values: Mapping[str, str] | None
    errors: Errors
    status_code: int = 422


# A page shown for the first time: stored values, no errors, 200.
FIRST = Again(None, {}, 200)
M = TypeVar("M", bound=BaseModel)

# Browsers' timezone offsets span UTC-12:00 .. UTC+14:00 (minutes east of UTC).
MAX_OFFSET_MINUTES = 14 * 60


class FormInvalid(Exception):
    def __init__(self, errors: Errors) -> None:
        super().__init__("invalid form")
        self.errors = errors


def field_errors(exc: ValidationError, fields: Mapping[str, str] | None = None) -> Errors:
    """Pydantic errors keyed by form field (`fields` renames schema fields), first wins."""
    errors: Errors = {}
    for error in exc.errors():
        loc = error.get("loc", ())
        name = str(loc[0]) if loc else "form"
        name = (fields or {}).get(name, name)
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        errors.setdefault(name, message)
    return errors


def invalid_errors(exc: Invalid, fields: Mapping[str, str] | None = None) -> Errors:
    """A service's 422 (a rule the schema cannot express) on its field."""
    name = exc.loc[-1] if len(exc.loc) > 1 else "form"
    name = (fields or {}).get(name, name)
    return {name: exc.detail.split(": ", 1)[-1]}


def validate(model: type[M], payload: dict[str, Any], fields: Mapping[str, str] | None = None) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise FormInvalid(field_errors(exc, fields)) from None


def labels_of(text: str) -> list[str]:
    """`a, b ,c` -> ["a", "b", "c"]; empty pieces are dropped."""
    return [piece.strip() for piece in text.split(",") if piece.strip()]


def priority_of(text: str) -> Any:
    """An int when the text is one; otherwise the text, for the schema to refuse."""
    stripped = text.strip()
    if stripped.lstrip("-").isdigit() and stripped.isascii():
        return int(stripped)
    return stripped or 0


def optional_id(text: str) -> uuid.UUID | str | None:
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return text  # the schema answers with its own message


def due_of(local: str, offset: str) -> str | None:
    """A `datetime-local` value plus the browser's offset -> an RFC 3339 timestamp.

    `offset` is minutes east of UTC at that date (app.js fills it in from the browser's
    timezone when the form is sent). Without script it is empty: the value is UTC, which
    is what the page shows then too. Anything malformed is passed on as typed, and the
    schema's RFC 3339 rule names the problem.
    """
    local = local.strip()
    if not local:
        return None
    try:
        minutes = int(offset) if offset.strip() else 0
        parsed = datetime.fromisoformat(local)
    except ValueError:
        return local
    if parsed.tzinfo is not None or not -MAX_OFFSET_MINUTES <= minutes <= MAX_OFFSET_MINUTES:
        return local
    zone = timezone(timedelta(minutes=minutes))
    return parsed.replace(tzinfo=zone).isoformat(timespec="seconds")


def local_input(value: datetime | None) -> str:
    """A UTC datetime as a `datetime-local` value (UTC; app.js shifts it to local time)."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%dT%H:%M")
