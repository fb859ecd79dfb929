"""Auth request and response bodies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

import email_validator
from pydantic import AfterValidator, BaseModel, Field, StrictStr

from taskhub.schemas import InputModel, NotBlank, OutputModel, Storable, Timestamp

MAX_EMAIL_CHARS = 320


def _email(value: str) -> str:
    # JSON Schema's `format: email` allows the RFC 2606 `.test` domain (schemathesis sends
    # it); email-validator refuses it unless told it runs in a test environment. No DNS.
    try:
        info = email_validator.validate_email(
            value, check_deliverability=False, test_environment=True
        )
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from None
    return info.normalized


Email = Annotated[
    StrictStr,
    Field(max_length=MAX_EMAIL_CHARS, json_schema_extra={"format": "email"}),
    AfterValidator(_email),
]
DisplayName = Annotated[StrictStr, Field(max_length=100), Storable]


class UserCreate(InputModel):
    email: Email
    password: StrictStr = Field(min_length=10, max_length=256)
    display_name: DisplayName = ""


class UserOut(OutputModel):
    id: uuid.UUID
    email: str
    display_name: str
    created_at: datetime


class LoginForm(BaseModel):
    """OAuth2 password grant (RFC 6749 §4.3.2), as the /docs "Authorize" button sends it.

    FastAPI's OAuth2PasswordRequestForm documents `username` and `password` as any
    string, yet an empty form value counts as missing (422): say so (minLength 1).
    """

    grant_type: Annotated[str | None, Field(pattern="^password$")] = None
    username: Annotated[StrictStr, Field(min_length=1)]
    password: Annotated[StrictStr, Field(min_length=1, json_schema_extra={"format": "password"})]
    scope: StrictStr = ""
    client_id: StrictStr | None = None
    client_secret: Annotated[StrictStr | None, Field(json_schema_extra={"format": "password"})] = (
        None
    )


class RefreshRequest(InputModel):
    refresh_token: StrictStr = Field(min_length=1, max_length=512)


class TokenPair(OutputModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a token type, not a secret)
    expires_in: int


TokenName = Annotated[StrictStr, Field(min_length=1, max_length=100), NotBlank]
ScopeName = Literal["tasks:read", "tasks:write", "projects:read", "projects:write", "webhooks"]


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


class TokenCreate(InputModel):
    name: TokenName
    scopes: list[ScopeName] = Field(min_length=1, max_length=5)
    expires_at: Annotated[Timestamp, AfterValidator(_in_utc)] | None = Field(
        default=None, description="RFC 3339 with an offset; in the future. Omitted: no expiry"
    )


class TokenOut(OutputModel):
    """A token as listed: never the secret, only a hint to tell tokens apart."""

    id: uuid.UUID
    name: str
    scopes: list[str]
    hint: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret, shown only in this response")
