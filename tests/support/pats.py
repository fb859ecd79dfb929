"""Personal access tokens for tests: mint one through the API, use it as a bearer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx


async def mint_token(
    client: httpx.AsyncClient, headers: dict[str, str], scopes: Sequence[str], **fields: Any
) -> dict[str, Any]:
    """POST /api/v1/tokens with a session's `headers`; the 201 body (with `token`)."""
    body = {"name": fields.pop("name", "test token"), "scopes": list(scopes), **fields}
    response = await client.post("/api/v1/tokens", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
