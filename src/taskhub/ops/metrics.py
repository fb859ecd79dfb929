"""Prometheus metrics. Multi-process aware when uvicorn runs several workers."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from taskhub.ops.logging import get_logger

REQUESTS = Counter(
    "taskhub_http_requests_total",
    "HTTP requests by method, route template and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "taskhub_http_request_duration_seconds",
    "HTTP request latency by method, route template and status",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

# Sampled by `LoopLagMonitor`: how late a timer fires is how long other callbacks held
# the event loop (CPU-bound work, a blocking call): every request waits that long too.
LOOP_LAG = Histogram(
    "taskhub_event_loop_lag_seconds",
    "How late the event loop ran a timer, sampled every 0.25 s",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

router = APIRouter()


class LoopLagMonitor:
    """A background task that sleeps `interval` at a time and records the overshoot.

    Costs one timer wake-up per interval; the overshoot is the loop's scheduling delay,
    the part of a request's tail no handler profile shows.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="taskhub-loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.interval)
            LOOP_LAG.observe(max(0.0, loop.time() - started - self.interval))


SCRAPE_TIMEOUT_SECONDS = 2.0
log = get_logger(__name__)


async def _refresh_job_gauges(request: Request) -> None:
    """Outbox counts (queue depth by job and status), read now; stale if the database is down."""
    try:
        async with asyncio.timeout(SCRAPE_TIMEOUT_SECONDS):
            await request.app.state.jobs.refresh_metrics()
    except Exception as exc:  # the request metrics are still worth serving
        log.warning("metrics_outbox_unavailable", error=type(exc).__name__)


@router.get(
    "/metrics",
    operation_id="metrics",
    tags=["ops"],
    response_class=Response,
    responses={200: {"description": "Prometheus text format", "content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    await _refresh_job_gauges(request)
    shared_dir = request.app.state.settings.metrics_multiproc_dir
    if shared_dir is not None:
        # Several uvicorn workers: aggregate the per-process files, or each scrape would
        # see only the worker that happened to answer it.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(shared_dir))  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
