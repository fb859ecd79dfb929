"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from taskhub.db import Database
from taskhub.jobs.backend import Jobs
from taskhub.kv.redis_client import GuardedRedis

router = APIRouter(tags=["ops"])
READINESS_TIMEOUT_SECONDS = 2.0


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


async def _redis_answers(redis: GuardedRedis | None) -> bool:
    if redis is None:  # not configured: in-process cache and limits
        return True
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            return await redis.ping()
    except TimeoutError:
        return False


async def _broker_answers(jobs: Jobs) -> bool:
    if jobs.celery is None:  # embedded mode: jobs run in this process
        return True
    from taskhub.jobs.commands import broker_ready  # imports Celery: only when configured

    return await broker_ready(jobs)


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
