"""Small pieces every router uses: path ids and the documented error responses."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel

from taskhub.errors import NotFound

API_PREFIX = "/api/v1"
# SPEC §2: the only /api/v1 routes that answer a request without credentials.
ANONYMOUS_PATHS = frozenset(
    f"{API_PREFIX}/auth/{name}" for name in ("register", "token", "refresh", "logout")
)

# Path ids are taken as text so that a malformed one is answered exactly like an
# unknown one (404), as SPEC §2 requires, instead of FastAPI's 422.
PathId = Annotated[str, Path(description="Resource id (UUID)", examples=[str(uuid.UUID(int=1))])]

Responses = dict[int | str, dict[str, Any]]


class ErrorOut(BaseModel):
    """Every error except validation (422): `{"detail": "<message>"}`."""

    detail: str


ERROR_DESCRIPTIONS: dict[int, str] = {
    401: "Missing, invalid or expired credentials",
    403: "Visible to the caller, who may not change it",
    404: "Not found, or not visible to the caller",
    409: "Conflicts with the current state",
    412: "If-Match does not match the current version",
    413: "Request body over the size limit",
    429: "Rate limit exceeded (see Retry-After)",
    503: "Database unavailable (see Retry-After)",
}


def error_responses(*codes: int, **descriptions: str) -> Responses:
    """OpenAPI `responses` for the error statuses a route can answer.

    `descriptions` overrides a default text by status, e.g. `e409="Would leave no owner"`.
    """
    return {
        code: {
            "model": ErrorOut,
            "description": descriptions.get(f"e{code}", ERROR_DESCRIPTIONS[code]),
        }
        for code in sorted(codes)
    }


# Every authenticated route: no or a bad token, the per-user rate limit, a database outage.
UNAUTHORIZED = error_responses(401, 429, 503)
NOT_FOUND = error_responses(401, 404, 429, 503)
WRITE_ERRORS = error_responses(401, 403, 404, 429, 503)
# Any route that reads a request body.
BODY_ERRORS = error_responses(413)


def created_links(parameter: str, *operation_ids: str) -> Responses:
    """OpenAPI links from a 201 to the operations that take the new object's `id`.

    They document the create → read/update/delete flow, and schemathesis' stateful phase
    follows them.
    """
    return {
        201: {
            "links": {
                operation_id: {
                    "operationId": operation_id,
                    "parameters": {parameter: "$response.body#/id"},
                }
                for operation_id in operation_ids
            }
        }
    }


def parse_id(raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(what) from None
