"""Prometheus metrics. Multi-process aware when uvicorn runs several workers."""

from __future__ import annotations

import os

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "taskhub_http_requests_total",
    "HTTP requests by method, route template and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "taskhub_http_request_duration_seconds",
    "HTTP request latency by method and route template",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        # Several uvicorn workers: aggregate the per-process files, or each scrape would
        # see only the worker that happened to answer it.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
