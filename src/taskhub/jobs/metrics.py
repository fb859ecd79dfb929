"""Job metrics: in-process counters plus the outbox's own counts, read at scrape time."""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select

from taskhub.db import Database
from taskhub.jobs.models import OutboxMessage

JOBS_TOTAL = Counter(
    "taskhub_jobs_total", "Job executions in this process by job and outcome", ["job", "outcome"]
)
# The outbox is the source of truth across every process (API instances and Celery
# workers alike), so these gauges are read from it rather than summed from counters.
OUTBOX_MESSAGES = Gauge(
    "taskhub_outbox_messages",
    "Outbox messages by job and status",
    ["job", "status"],
    multiprocess_mode="mostrecent",
)
OUTBOX_BACKLOG = Gauge(
    "taskhub_outbox_backlog",
    "Outbox messages not yet done (pending, running or dispatched)",
    multiprocess_mode="mostrecent",
)


async def refresh_outbox_gauges(database: Database) -> None:
    async with database.reader() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.job, OutboxMessage.status, func.count()).group_by(
                    OutboxMessage.job, OutboxMessage.status
                )
            )
        ).all()
    backlog = 0
    OUTBOX_MESSAGES.clear()
    for job, status, count in rows:
        OUTBOX_MESSAGES.labels(job, str(status)).set(count)
        if status in ("pending", "running", "dispatched"):
            backlog += count
    OUTBOX_BACKLOG.set(backlog)
