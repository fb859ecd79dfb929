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

The environment overrides in `CeleryTuning.from_env` exist for tests (seconds instead
of minutes) and for isolating several deployments on one broker (the queue name).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init

from taskhub.db import Database
from taskhub.jobs import execute
from taskhub.jobs.maintenance import run_maintenance
from taskhub.settings import Settings, load_settings

RUN_JOB = "taskhub.run_job"
MAINTENANCE = "taskhub.maintenance"
HARD_TIME_LIMIT_SECONDS = 60
SOFT_TIME_LIMIT_SECONDS = 45
MAX_RETRIES = 5  # six attempts in all, as in embedded mode (execute.MAX_ATTEMPTS)
RETRY_BACKOFF_FACTOR_SECONDS = 2
MAINTENANCE_EVERY_SECONDS = 3600.0
PUBLISH_CONFIRM_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class CeleryTuning:
    """Broker and retry timings; the defaults are the production values."""

    queue: str = "taskhub"
    visibility_timeout: int = 120
    unacked_restore_interval: int = 10
    retry_backoff_max: int = 60

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CeleryTuning:
        """Read the `TASKHUB_CELERY_*` overrides (tests use seconds, not minutes)."""
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            queue=env.get("TASKHUB_CELERY_QUEUE") or default.queue,
            visibility_timeout=int(
                env.get("TASKHUB_CELERY_VISIBILITY_TIMEOUT", default.visibility_timeout)
            ),
            unacked_restore_interval=int(
                env.get("TASKHUB_CELERY_RESTORE_INTERVAL", default.unacked_restore_interval)
            ),
            retry_backoff_max=int(
                env.get("TASKHUB_CELERY_RETRY_BACKOFF_MAX", default.retry_backoff_max)
            ),
        )


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


def create_celery(settings: Settings, tuning: CeleryTuning | None = None) -> Celery:
    tuning = tuning or CeleryTuning.from_env()
    app = Celery("taskhub", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=tuning.queue,
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
            "visibility_timeout": tuning.visibility_timeout,
            "unacked_restore_interval": tuning.unacked_restore_interval,
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
    runtime.settings = settings

    @app.task(
        name=RUN_JOB,
        base=JobTask,
        bind=True,
        autoretry_for=(Exception,),
        retry_backoff=RETRY_BACKOFF_FACTOR_SECONDS,
        retry_backoff_max=tuning.retry_backoff_max,
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
