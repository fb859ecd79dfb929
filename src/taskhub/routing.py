"""Small pieces every router uses: path ids and the documented error responses."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Path

from taskhub.errors import NotFound

# Path ids are taken as text so that a malformed one is answered exactly like an
# unknown one (404), as SPEC §2 requires, instead of FastAPI's 422.
PathId = Annotated[str, Path(description="Resource id (UUID)", examples=[str(uuid.UUID(int=1))])]

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid or expired access token"},
    429: {"description": "Rate limit exceeded"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **UNAUTHORIZED,
    404: {"description": "Not found, or not visible to the caller"},
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    403: {"description": "Visible to the caller, who may not change it"},
}


def parse_id(raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(what) from None
