"""Standard Webhooks signatures (https://www.standardwebhooks.com), via `standardwebhooks`.

A message is the exact body bytes sent; its id stays the same across retries so the
receiver can drop duplicates, and the signature covers `id.timestamp.body`.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
SECRET_BYTES = 32


def generate_secret() -> str:
    """A new signing secret, `whsec_` + base64 of 256 random bits (shown to its owner once)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_message_id() -> str:
    """A message id (`msg_…`): one per event and webhook, reused by every retry."""
    return f"msg_{uuid.uuid4().hex}"


def encode_event(event_type: str, data: Mapping[str, Any], at: datetime) -> bytes:
    """The JSON body SPEC §9 names: `{type, timestamp, data}`, timestamp in UTC."""
    if at.tzinfo is None:
        raise ValueError("event time must be timezone-aware")
    timestamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return orjson.dumps({"type": event_type, "timestamp": timestamp, "data": data})


def signature_headers(secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for `body` sent at `at` (aware)."""
    if at.tzinfo is None:
        raise ValueError("signing time must be timezone-aware")
    at_utc = at.astimezone(UTC)
    signature = Webhook(secret).sign(message_id, at_utc, body.decode("utf-8"))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at_utc.timestamp())),
        "webhook-signature": signature,
    }
