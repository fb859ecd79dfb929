"""`taskhub worker` and `taskhub beat`: the Celery processes, and the broker readiness probe."""

from __future__ import annotations

import asyncio

from taskhub.jobs.backend import Jobs
from taskhub.jobs.celery_app import create_celery, queue_of
from taskhub.jobs.registry import JobRegistry
from taskhub.ops.logging import configure_logging
from taskhub.settings import ConfigError, Settings

BROKER_READY_TIMEOUT_SECONDS = 2.0
BEAT_SCHEDULE_FILE = "celerybeat-schedule"


def _require_broker(settings: Settings) -> None:
    if not settings.broker_url:
        raise ConfigError(
            "TASKHUB_BROKER_URL: not set; in embedded mode jobs run inside `taskhub serve`"
        )


def run_worker(settings: Settings, jobs: JobRegistry, concurrency: int, loglevel: str) -> None:
    """Run a Celery worker (prefork) consuming the taskhub queue, until SIGTERM."""
    _require_broker(settings)
    configure_logging(loglevel)
    app = create_celery(settings, jobs)
    app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel.upper()}",
            f"--queues={queue_of(app)}",
            # Mingle and gossip only serve remote control and revokes, which we don't use;
            # without them a worker is ready in about a second.
            "--without-mingle",
            "--without-gossip",
        ]
    )


def run_beat(settings: Settings, loglevel: str) -> None:
    """Run Celery beat (the periodic maintenance job). Run exactly one per deployment."""
    _require_broker(settings)
    configure_logging(loglevel)
    app = create_celery(settings, JobRegistry())  # beat only sends; it runs no job body
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app.Beat(
        loglevel=loglevel.upper(),
        schedule=str(settings.data_dir / BEAT_SCHEDULE_FILE),
    ).run()


def _broker_answers(jobs: Jobs) -> None:
    assert jobs.celery is not None
    with jobs.celery.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=BROKER_READY_TIMEOUT_SECONDS)
        # The Redis transport connects lazily: make it talk to the server.
        connection.default_channel  # noqa: B018


async def broker_ready(jobs: Jobs) -> bool:
    """True if the broker answers within a short timeout (always True in embedded mode)."""
    if jobs.celery is None:
        return True
    try:
        async with asyncio.timeout(BROKER_READY_TIMEOUT_SECONDS + 0.5):
            await asyncio.to_thread(_broker_answers, jobs)
    except Exception:
        return False
    return True
