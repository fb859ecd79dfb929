"""Auth request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import EmailStr, Field, StrictStr

from taskhub.schemas import InputModel, OutputModel


class UserCreate(InputModel):
    email: EmailStr = Field(max_length=320)
    password: StrictStr = Field(min_length=10, max_length=256)
    display_name: StrictStr = Field(default="", max_length=100)


class UserOut(OutputModel):
    id: uuid.UUID
    email: str
    display_name: str
    created_at: datetime


class RefreshRequest(InputModel):
    refresh_token: StrictStr = Field(min_length=1, max_length=512)


class TokenPair(OutputModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a token type, not a secret)
    expires_in: int
