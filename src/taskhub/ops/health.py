"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from taskhub.db import Database

router = APIRouter(tags=["ops"])
READINESS_TIMEOUT_SECONDS = 2.0


@router.get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readyz",
    responses={503: {"description": "A dependency is not answering"}},
)
async def readyz(request: Request) -> JSONResponse:
    database: Database = request.app.state.db
    failing: list[str] = []
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS), database.reader() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        failing.append("database")
    if failing:
        return JSONResponse(
            {
                "status": "unavailable",
                "failing": failing,
                "detail": f"Not ready: {', '.join(failing)} unreachable",
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok"})
