"""Schemathesis hooks for `make fuzz` (loaded through `hooks` in fuzz/schemathesis.toml)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis

# Values only the server can mint: every string the schema allows is well-formed, yet
# almost none is one the server issued. A generated cursor is answered 422 (SPEC §2) and a
# generated If-Match 412 (SPEC §4), both by contract, so a "valid" case carrying one would
# never reach the logic behind it. Real cursors and ETags are exercised by tests/.
SERVER_MINTED = {"query": ("cursor",), "headers": ("if-match",)}
# A generated Idempotency-Key repeats across cases (hypothesis shrinks towards "0"), and
# the same key with another body is 422 by contract (SPEC §10). A valid case gets a key of
# its own; reuse, replays and conflicts are exercised by tests/test_idempotency.py.
IDEMPOTENCY_KEY = "idempotency-key"
# A token's expiry must lie in the future (422 otherwise, SPEC §10): a rule of the clock
# that JSON Schema cannot state. A valid case asks for a day.
EXPIRING = ("POST", "/api/v1/tokens", "expires_at")
# Task fields whose validity depends on a calendar and on the task's other fields (a
# rule needs a due date it occurs from; a zone must exist in the IANA database), which
# JSON Schema cannot state: a generated value is 422 by contract (SPEC §9).
# tests/tasks/test_recurrence.py covers them; the negative phase still sends them.
STATEFUL_BODY_FIELDS = ("recurrence", "timezone")
# A webhook URL must be http(s) and resolve to public addresses only (SPEC §9: SSRF),
# which JSON Schema cannot state and DNS decides: a valid case names a public address
# literally (no lookup). Deliveries to it fail in the background, which is fine here.
# tests/webhooks and tests/owasp/test_api07 cover the refusals.
PUBLIC_WEBHOOK_URL = "https://93.184.215.14/hook"


@schemathesis.hook
def before_call(ctx: schemathesis.HookContext, case: Any, **kwargs: Any) -> None:
    """Valid cases: no server-minted values, a fresh Idempotency-Key, a future expiry."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    for location, names in SERVER_MINTED.items():
        container = getattr(case, location)
        if not container:
            continue
        for key in [key for key in container if key.lower() in names]:
            del container[key]
    for key in [key for key in case.headers or {} if key.lower() == IDEMPOTENCY_KEY]:
        case.headers[key] = f"fuzz-{uuid.uuid4()}"
    method, path, field = EXPIRING
    body = case.body
    expiring = (case.method.upper(), case.path) == (method, path) and isinstance(body, dict)
    if expiring and body.get(field) is not None:
        body[field] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    if isinstance(case.body, dict) and "/webhooks" in case.path and "url" in case.body:
        case.body["url"] = PUBLIC_WEBHOOK_URL
    if isinstance(case.body, dict) and "/tasks" in case.path and "comments" not in case.path:
        for key in STATEFUL_BODY_FIELDS:
            case.body.pop(key, None)
