"""/metrics: Prometheus text, request counts and latency by route template and status."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from taskhub.app import create_app
from tests.ops.support import dead_database_url
from tests.support.app import build_settings, make_client, running
from tests.support.factories import MakeTask, User

REQUESTS = "taskhub_http_requests"
LATENCY = "taskhub_http_request_duration_seconds"


Sample = tuple[str, dict[str, str], float]


async def _samples(client: httpx.AsyncClient, family: str) -> list[Sample]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return [
        (sample.name, sample.labels, sample.value)
        for metric in text_string_to_metric_families(response.text)
        if metric.name == family
        for sample in metric.samples
    ]


async def _count(client: httpx.AsyncClient, method: str, route: str, status: str) -> float:
    wanted = {"method": method, "route": route, "status": status}
    return sum(
        value
        for name, labels, value in await _samples(client, REQUESTS)
        if name == f"{REQUESTS}_total" and labels == wanted
    )


async def test_metrics_is_prometheus_text(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")

    response = await client.get("/metrics")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    families = {metric.name for metric in text_string_to_metric_families(response.text)}
    assert {REQUESTS, LATENCY} <= families


async def test_each_request_is_counted_by_route_and_status(client: httpx.AsyncClient) -> None:
    before = await _count(client, "GET", "/healthz", "200")

    await client.get("/healthz")
    await client.get("/healthz")

    assert await _count(client, "GET", "/healthz", "200") == before + 2


async def test_requests_are_labelled_by_route_template_not_concrete_id(
    client: httpx.AsyncClient, alice: User, make_task: MakeTask
) -> None:
    task = await make_task(alice)
    before = await _count(client, "GET", "/api/v1/tasks/{task_id}", "200")

    await client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers)

    assert await _count(client, "GET", "/api/v1/tasks/{task_id}", "200") == before + 1
    routes = {labels.get("route") for _, labels, _ in await _samples(client, REQUESTS)}
    assert not any(task["id"] in str(route) for route in routes)


async def test_error_statuses_are_counted_under_their_route(
    client: httpx.AsyncClient, alice: User
) -> None:
    before = await _count(client, "GET", "/api/v1/tasks/{task_id}", "404")

    await client.get(f"/api/v1/tasks/{uuid.uuid4()}", headers=alice.headers)

    assert await _count(client, "GET", "/api/v1/tasks/{task_id}", "404") == before + 1


async def test_unmatched_paths_share_one_label(client: httpx.AsyncClient) -> None:
    probe = f"/no-such-page-{uuid.uuid4().hex}"

    await client.get(probe)

    routes = {labels.get("route") for _, labels, _ in await _samples(client, REQUESTS)}
    assert not any(probe in str(route) for route in routes)


async def test_latency_histogram_is_recorded_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/readyz")

    buckets = [
        labels
        for name, labels, value in await _samples(client, LATENCY)
        if name == f"{LATENCY}_bucket"
        and labels.get("route") == "/readyz"
        and labels.get("status") == "200"
        and value > 0
    ]

    assert any(labels["le"] == "+Inf" for labels in buckets)
    assert len(buckets) > 1


async def test_metrics_include_job_outcomes_and_queue_depth(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")

    families = {metric.name: metric for metric in text_string_to_metric_families(response.text)}
    assert families["taskhub_jobs"].type == "counter"
    assert families["taskhub_outbox_backlog"].type == "gauge"
    assert [sample.value for sample in families["taskhub_outbox_backlog"].samples] == [0.0]


async def test_metrics_are_served_while_the_database_is_down(tmp_path: Path) -> None:
    settings = build_settings(dead_database_url(tmp_path), tmp_path)
    async with running(create_app(settings)) as app, make_client(app) as client:
        response = await client.get("/metrics")

    assert response.status_code == 200, response.text
    assert REQUESTS in {metric.name for metric in text_string_to_metric_families(response.text)}


LOOP_LAG = "taskhub_event_loop_lag_seconds"


async def _lag_counts(client: httpx.AsyncClient) -> tuple[float, float]:
    """(samples taken, samples of at most 0.25 s) of the loop-lag histogram."""
    samples = await _samples(client, LOOP_LAG)
    total = sum(v for name, _, v in samples if name == f"{LOOP_LAG}_count")
    quick = sum(
        v for name, labels, v in samples if name == f"{LOOP_LAG}_bucket" and labels["le"] == "0.25"
    )
    return total, quick


async def test_a_blocked_event_loop_shows_as_loop_lag(client: httpx.AsyncClient) -> None:
    total, quick = await _lag_counts(client)

    # Hold the loop the app runs on longer than the monitor's whole interval: whenever its
    # timer was due, it fires at least 0.35 s late.
    time.sleep(0.6)

    deadline = time.monotonic() + 10
    while (after := await _lag_counts(client))[0] == total and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert after[0] > total, "no loop-lag sample after the block"
    assert after[0] - total > after[1] - quick, "the block was not recorded as lag over 0.25 s"
