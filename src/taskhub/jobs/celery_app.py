"""Celery: the production job engine. Workers run the same `execute` as embedded mode.

Delivery guarantees come from three layers:
- the outbox (a job exists iff its cause committed; the relay re-sends until sent),
- Celery's `acks_late` + `reject_on_worker_lost` (a worker killed mid-job leaves the
  message unacknowledged, so the broker redelivers it),
- the done-mark committed with the job's effect (a redelivery is a no-op).

Redis broker settings chosen deliberately (see README "Background jobs"):
`visibility_timeout` is 120 s, above the 60 s hard time limit plus the 60 s longest
retry countdown, so a message held by a live worker is never redelivered early, while a
message whose worker was killed is redelivered within ~2 minutes instead of the default
hour. Unacked messages are restored when any worker starts or every
`visibility_timeout` while one runs.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

from celery import Celery, Task
from celery.signals import worker_process_init

from taskhub.db import Database
from taskhub.jobs import execute
from taskhub.jobs.maintenance import run_maintenance
from taskhub.settings import Settings, load_settings

QUEUE = "taskhub"
RUN_JOB = "taskhub.run_job"
MAINTENANCE = "taskhub.maintenance"
VISIBILITY_TIMEOUT_SECONDS = 120
HARD_TIME_LIMIT_SECONDS = 60
SOFT_TIME_LIMIT_SECONDS = 45
MAX_RETRIES = 5
RETRY_BACKOFF_MAX_SECONDS = 60

T = TypeVar("T")


class _WorkerRuntime:
    """One event loop and one engine per worker process, created after the fork.

    An engine inherited across fork would share sockets between processes; the pid check
    (and the worker_process_init hook) makes every child open its own.
    """

    def __init__(self) -> None:
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._database: Database | None = None
        self.settings: Settings | None = None

    def reset(self) -> None:
        self._pid = None
        self._loop = None
        self._database = None

    def _ensure(self) -> tuple[asyncio.AbstractEventLoop, Database]:
        if self._pid != os.getpid() or self._loop is None or self._database is None:
            self.settings = self.settings or load_settings()
            self._loop = asyncio.new_event_loop()
            self._database = Database.open(self.settings)
            self._pid = os.getpid()
        return self._loop, self._database

    def run(self, make: Any) -> Any:
        loop, database = self._ensure()
        coroutine: Coroutine[Any, Any, Any] = make(database)
        return loop.run_until_complete(coroutine)


runtime = _WorkerRuntime()


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    runtime.reset()


class JobTask(Task):  # type: ignore[misc]
    """Records retries and the final (dead-letter) failure on the outbox row."""

    def on_retry(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        runtime.run(lambda db: execute.record_failure(db, uuid.UUID(args[0]), exc, final=False))

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        runtime.run(lambda db: execute.record_failure(db, uuid.UUID(args[0]), exc, final=True))


def create_celery(settings: Settings) -> Celery:
    app = Celery("taskhub", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
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
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        broker_transport_options={
            "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        },
        beat_schedule={
            "maintenance-hourly": {"task": MAINTENANCE, "schedule": 3600.0},
        },
    )
    runtime.settings = settings

    @app.task(
        name=RUN_JOB,
        base=JobTask,
        bind=True,
        autoretry_for=(Exception,),
        retry_backoff=2,
        retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
        retry_jitter=True,
        max_retries=MAX_RETRIES,
    )
    def run_job(self: Task, message_id: str) -> str:
        outcome = runtime.run(lambda db: execute.execute(db, uuid.UUID(message_id)))
        return str(outcome)

    @app.task(name=MAINTENANCE)
    def maintenance() -> dict[str, int]:
        result: dict[str, int] = runtime.run(run_maintenance)
        return result

    return app


def sender(app: Celery) -> Any:
    """An async `(message_id, job) -> None` that publishes without retrying (the relay retries)."""

    async def send(message_id: str, _job: str) -> None:
        await asyncio.to_thread(app.send_task, RUN_JOB, args=[message_id], queue=QUEUE, retry=False)

    return send
