"""Celery: the production job engine. Workers run the same `execute` as embedded mode.

Delivery guarantees come from three layers:
- the outbox (a job exists iff its cause committed; the relay re-sends until sent),
- Celery's `acks_late` + `reject_on_worker_lost` (a worker killed mid-job leaves the
  message unacknowledged, so the broker redelivers it),
- the done-mark committed with the job's effect (a redelivery is a no-op).

Redis broker settings chosen deliberately (see README "Background jobs"):
- `visibility_timeout` 120 s: a message stays reserved by a live worker at most a
  retry's countdown (<= 32 s with the defaults below) plus the 60 s hard time limit,
  so it is never handed out twice while someone works on it, yet a message whose worker
  was killed comes back within ~2 minutes instead of kombu's default hour.
- the unacked-restore sweep runs every 10 s on every worker (`unacked_restore_interval`
  10, `unacked_restore_throttle` 1; kombu's defaults scan only every 100 s), so that
  comeback happens at most 10 s after the visibility timeout. A sweep is one ZRANGE.
On RabbitMQ none of this applies: a dropped connection requeues its unacked messages
at once.

The timings and the queue name are Settings (`TASKHUB_CELERY_*`): tests shorten them to
seconds, and several deployments can share one broker under different queue names.

Nothing here is module state: `create_celery` builds the app, its worker runtime and
its tasks from the Settings and the job registry it is given, so two apps (an API
process's publisher and a worker) never share anything by accident.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from celery import Celery, Task

from taskhub.db import Database
from taskhub.jobs import execute
from taskhub.jobs.maintenance import run_maintenance
from taskhub.jobs.registry import JobRegistry
from taskhub.settings import Settings

RUN_JOB = "taskhub.run_job"
MAINTENANCE = "taskhub.maintenance"
HARD_TIME_LIMIT_SECONDS = 60
SOFT_TIME_LIMIT_SECONDS = 45
MAX_RETRIES = 5  # six attempts in all, as in embedded mode (execute.MAX_ATTEMPTS)
RETRY_BACKOFF_FACTOR_SECONDS = 2
MAINTENANCE_EVERY_SECONDS = 3600.0
PUBLISH_CONFIRM_TIMEOUT_SECONDS = 5.0


class WorkerRuntime:
    """One event loop and one engine per worker process, created on first use.

    A worker forks its pool after the app is built; an engine inherited across fork
    would share sockets between processes, so a pid change means starting afresh.
    """

    def __init__(self, settings: Settings, jobs: JobRegistry) -> None:
        self.settings = settings
        self.jobs = jobs
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._database: Database | None = None

    def _ensure(self) -> tuple[asyncio.AbstractEventLoop, Database]:
        if self._pid != os.getpid() or self._loop is None or self._database is None:
            self._loop = asyncio.new_event_loop()
            self._database = Database.open(self.settings)
            self._pid = os.getpid()
        return self._loop, self._database

    def run(self, make: Callable[[Database], Coroutine[Any, Any, Any]]) -> Any:
        loop, database = self._ensure()
        return loop.run_until_complete(make(database))


def _job_task_base(runtime: WorkerRuntime) -> type[Task]:
    class JobTask(Task):  # type: ignore[misc]
        """Records retries and the final (dead-letter) failure on the outbox row."""

        def on_retry(
            self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
        ) -> None:
            message_id = uuid.UUID(args[0])
            runtime.run(lambda db: execute.record_failure(db, message_id, exc, final=False))

        def on_failure(
            self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
        ) -> None:
            message_id = uuid.UUID(args[0])
            runtime.run(lambda db: execute.record_failure(db, message_id, exc, final=True))

    return JobTask


def create_celery(settings: Settings, jobs: JobRegistry) -> Celery:
    """The Celery app for `settings`; its workers run the bodies in `jobs`."""
    app = Celery("taskhub", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.celery_queue,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_time_limit=HARD_TIME_LIMIT_SECONDS,
        task_soft_time_limit=SOFT_TIME_LIMIT_SECONDS,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_enable_remote_control=False,  # no pidbox queues: nothing here uses them
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        broker_transport_options={
            "visibility_timeout": settings.celery_visibility_timeout,
            "unacked_restore_interval": settings.celery_restore_interval,
            "unacked_restore_throttle": 1,
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
            # RabbitMQ: wait for the broker's ack. Without it a publish written into a
            # connection the broker has just dropped "succeeds" and the message is lost
            # (measured: the first publish after a broker outage).
            "confirm_publish": True,
        },
        beat_schedule={
            "maintenance-hourly": {"task": MAINTENANCE, "schedule": MAINTENANCE_EVERY_SECONDS},
        },
    )
    runtime = WorkerRuntime(settings, jobs)

    @app.task(
        name=RUN_JOB,
        base=_job_task_base(runtime),
        bind=True,
        autoretry_for=(Exception,),
        retry_backoff=RETRY_BACKOFF_FACTOR_SECONDS,
        retry_backoff_max=settings.celery_retry_backoff_max,
        retry_jitter=True,
        max_retries=MAX_RETRIES,
    )
    def run_job(self: Task, message_id: str) -> str:
        outcome = runtime.run(lambda db: execute.execute(db, jobs, uuid.UUID(message_id)))
        return str(outcome)

    @app.task(name=MAINTENANCE)
    def maintenance() -> dict[str, int]:
        result: dict[str, int] = runtime.run(run_maintenance)
        return result

    return app


def queue_of(app: Celery) -> str:
    return str(app.conf.task_default_queue)


def sender(app: Celery) -> Any:
    """An async `(message_id, job) -> None` that publishes without retrying (the relay retries).

    It returns only once the broker has the message (Redis replied to LPUSH, RabbitMQ
    confirmed it): the relay marks the row dispatched only after that.
    """
    queue = queue_of(app)

    def publish(message_id: str) -> None:
        app.send_task(
            RUN_JOB,
            args=[message_id],
            queue=queue,
            retry=False,
            confirm_timeout=PUBLISH_CONFIRM_TIMEOUT_SECONDS,
        )

    async def send(message_id: str, _job: str) -> None:
        await asyncio.to_thread(publish, message_id)

    return send
