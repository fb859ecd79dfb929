"""Job metrics: in-process counters plus the outbox's own counts, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge

from taskhub.db import Database
from taskhub.jobs import outbox
from taskhub.jobs.models import JobStatus

BACKLOG_STATUSES = (JobStatus.pending.value, JobStatus.running.value, JobStatus.dispatched.value)

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


async def refresh_outbox_gauges(database: Database, known_jobs: Iterable[str] = ()) -> None:
    """Read the outbox counts into the gauges (call it from the /metrics handler)."""
    async with database.reader() as session:
        counts = await outbox.counts(session)
    # Every known (job, status) pair gets a value, zero included: a series that vanished
    # would otherwise keep its last value in a multi-process (file-backed) registry.
    jobs = set(known_jobs) | {job for job, _ in counts}
    for job in sorted(jobs):
        for status in JobStatus:
            OUTBOX_MESSAGES.labels(job, status.value).set(counts.get((job, status.value), 0))
    OUTBOX_BACKLOG.set(sum(counts.get((job, s), 0) for job in jobs for s in BACKLOG_STATUSES))
