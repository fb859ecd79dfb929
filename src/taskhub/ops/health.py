"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from taskhub.db import Database

router = APIRouter(tags=["ops"])
READINESS_TIMEOUT_SECONDS = 2.0
PING_RETRY_SECONDS = 0.1


# What the probes need from app.state's Redis client and job engine. Protocols, so
# that ops (imported by everything for logging) imports neither kv nor jobs.
class Pings(Protocol):
    async def ping(self) -> bool: ...


class ReportsReadiness(Protocol):
    async def ready(self) -> bool: ...


@router.get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _database_answers(database: Database) -> bool:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS), database.reader() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


async def _redis_answers(redis: Pings | None) -> bool:
    if redis is None:  # not configured: in-process cache and limits
        return True
    # The client's timeouts are the request path's (a 0.25 s connect, then serve from
    # the database); one such attempt on a loaded host is no proof Redis is down, so the
    # probe keeps asking for its whole budget.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            while True:
                if await redis.ping():
                    return True
                await asyncio.sleep(PING_RETRY_SECONDS)
    return False


async def _broker_answers(jobs: ReportsReadiness) -> bool:
    return await jobs.ready()  # embedded mode: always; Celery: the broker answers


@router.get(
    "/readyz",
    operation_id="readyz",
    responses={503: {"description": "A dependency is not answering"}},
)
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks = {
        "database": _database_answers(state.db),
        "redis": _redis_answers(state.redis),
        "broker": _broker_answers(state.jobs),
    }
    # Concurrently: a readiness probe waits for the slowest check, not for their sum.
    answers = await asyncio.gather(*checks.values())
    failing = [name for name, ok in zip(checks, answers, strict=True) if not ok]
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
