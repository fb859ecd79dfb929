"""Choosing the job engine at start-up: in-process runner, or relay to Celery."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from taskhub.db import Database
from taskhub.jobs.metrics import refresh_outbox_gauges
from taskhub.jobs.outbox import ON_COMMIT_KEY
from taskhub.jobs.registry import JobRegistry
from taskhub.jobs.runner import EmbeddedRunner, Relay
from taskhub.settings import Settings


@dataclass
class Jobs:
    loop: EmbeddedRunner | Relay
    registry: JobRegistry
    celery: Any | None = None

    @property
    def mode(self) -> str:
        return "celery" if self.celery is not None else "embedded"

    async def ready(self) -> bool:
        """True if jobs can be handed over: always in embedded mode, else the broker answers."""
        if self.celery is None:
            return True
        from taskhub.jobs.commands import broker_ready  # imports Celery: only when configured

        return await broker_ready(self)

    async def refresh_metrics(self) -> None:
        """Read the outbox counts into the /metrics gauges."""
        await refresh_outbox_gauges(self.loop.database, known_jobs=self.registry)

    async def stop(self) -> None:
        await self.loop.stop()
        if self.celery is not None:
            await asyncio.to_thread(self.celery.close)  # the publisher's broker connections


def start_jobs(settings: Settings, database: Database, registry: JobRegistry) -> Jobs:
    """Start the background loop and make committed outbox rows wake it at once."""
    if settings.broker_url:
        from taskhub.jobs.celery_app import create_celery, sender

        celery = create_celery(settings, registry)
        jobs = Jobs(loop=Relay(database, sender(celery)), registry=registry, celery=celery)
    else:
        jobs = Jobs(loop=EmbeddedRunner(database, registry), registry=registry)
    database.writer.configure(info={ON_COMMIT_KEY: jobs.loop.wake})
    jobs.loop.start()
    return jobs
