"""Publish the Idempotency-Key header and its answers on every POST the middleware serves."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from taskhub.idempotency.middleware import MAX_KEY_CHARS

PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Retry safely: the same key with the same request within 24 hours answers the "
        "first response again (with `Idempotent-Replayed: true`) and does nothing twice"
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS},
}
RESPONSES = {
    "409": "A request with this Idempotency-Key is still in progress",
    "422": "Validation error, or the Idempotency-Key was used for another request",
}
VALIDATION = {"$ref": "#/components/schemas/HTTPValidationError"}
ERROR = {"$ref": "#/components/schemas/ErrorOut"}


def with_idempotency(
    build: Callable[[], dict[str, Any]], prefix: str, anonymous: Collection[str]
) -> Callable[[], dict[str, Any]]:
    """Wrap FastAPI's `app.openapi` so the document states the header (built once)."""
    done: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if done:
            return done[0]
        schema = build()
        for path, item in schema["paths"].items():
            operation = item.get("post")
            if operation is None or not path.startswith(prefix + "/") or path in anonymous:
                continue
            operation.setdefault("parameters", []).append(PARAMETER)
            responses = operation.setdefault("responses", {})
            for status, text in RESPONSES.items():
                body = VALIDATION if status == "422" else ERROR
                responses.setdefault(
                    status, {"description": text, "content": {"application/json": {"schema": body}}}
                )
        done.append(schema)
        return schema

    return openapi
