"""Schemathesis hooks for `make fuzz` (loaded through `hooks` in fuzz/schemathesis.toml)."""

from __future__ import annotations

import uuid
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


@schemathesis.hook
def before_call(ctx: schemathesis.HookContext, case: Any, **kwargs: Any) -> None:
    """Leave server-minted values out of the cases generated as valid."""
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
