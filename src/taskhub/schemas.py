"""Field types shared by the domains' schemas."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

# What str.strip() removes (str.isspace), spelled out: `\s` means another set in each
# regex dialect that reads the OpenAPI document (ECMA-262 adds U+FEFF, drops U+001C-1F).
SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Neither database stores NUL in text; PostgreSQL would turn it into a 500 at INSERT.
# (Lone surrogates never get this far: pydantic refuses them as invalid Unicode.)
NO_NUL = r"^[^\x00]*$"
# At least one character that is not a space, and no NUL. The leading class excludes
# what the next one matches, so a regex engine never backtracks (linear time).
NOT_BLANK = rf"^[{SPACE}]*[^\x00{SPACE}][^\x00]*$"


def _nul_or_blank(value: str) -> str:
    return "must not contain NUL characters" if "\x00" in value else "must not be blank"


@dataclass(frozen=True)
class TextRule:
    """A string rule enforced with a regex and published as that regex (JSON Schema
    `pattern`), so the server, generated clients and fuzzers agree by construction.
    """

    pattern: str
    explain: Callable[[str], str] = _nul_or_blank
    # Check text before the type parses it (a timestamp), rather than the parsed string.
    before: bool = False
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.pattern))

    def check(self, value: Any) -> Any:
        if isinstance(value, str) and self._regex.fullmatch(value) is None:
            raise ValueError(self.explain(value))
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        if self.before:
            return core_schema.no_info_before_validator_function(self.check, handler(source))
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


Storable = TextRule(NO_NUL)
NotBlank = TextRule(NOT_BLANK)  # implies Storable


def _timestamp_text(value: Any) -> Any:
    # Lax pydantic would take 0 or 1.7e9 as a Unix time; the contract is RFC 3339 text.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string with an offset")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text)]


class InputModel(BaseModel):
    """Request bodies: unknown fields are an error (no mass assignment)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
