"""Opaque keyset cursors and the page envelope."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel

from taskhub.errors import Invalid

ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None


def fingerprint(**query: Any) -> str:
    """A short digest of the filters and order a cursor was issued for."""
    raw = orjson.dumps(query, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.blake2s(raw, digest_size=6).hexdigest()


def encode_cursor(fp: str, key: list[Any]) -> str:
    raw = orjson.dumps({"f": fp, "k": key}, default=str)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fp: str, arity: int) -> list[Any]:
    """The keyset values stored in `cursor`; 422 if it is malformed or for other filters."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError, orjson.JSONDecodeError):
        raise Invalid("Malformed cursor", loc=("query", "cursor")) from None
    if not isinstance(data, dict) or not isinstance(data.get("k"), list):
        raise Invalid("Malformed cursor", loc=("query", "cursor"))
    if data.get("f") != fp:
        raise Invalid("Cursor was issued for other filters or order", loc=("query", "cursor"))
    key: list[Any] = data["k"]
    if len(key) != arity:
        raise Invalid("Malformed cursor", loc=("query", "cursor"))
    return key


def decode_time_key(cursor: str, fp: str) -> tuple[datetime, uuid.UUID]:
    """A `(created_at, id)` keyset cursor; 422 if malformed, naive or out of range."""
    created_raw, id_raw = decode_cursor(cursor, fp, 2)
    # A cursor is client input: a naive or out-of-range time must be a 422, not a 500
    # when the database layer converts it to UTC.
    try:
        created = datetime.fromisoformat(str(created_raw))
        if created.tzinfo is None:
            raise ValueError("naive cursor time")
        return created.astimezone(UTC), uuid.UUID(str(id_raw))
    except (ValueError, OverflowError):
        raise Invalid("Malformed cursor", loc=("query", "cursor")) from None
