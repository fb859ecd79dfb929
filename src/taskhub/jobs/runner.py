"""Background loops inside the API process.

Embedded mode (no broker): `EmbeddedRunner` executes outbox messages in-process. The
outbox row is the durable queue, so a job pending when the process is killed runs
after the restart.

Celery mode: `Relay` hands outbox messages to the broker. If the broker is down the
rows simply wait; once it is back they are sent. Messages dispatched long ago but
never finished (a broker that lost them on restart) are sent again, up to the attempt
limit; the job's done-mark makes the duplicate harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from taskhub.db import Database, utcnow
from taskhub.jobs import execute, outbox
from taskhub.jobs.maintenance import run_maintenance
from taskhub.jobs.registry import JobRegistry
from taskhub.ops.logging import get_logger

log = get_logger(__name__)

POLL_SECONDS = 1.0
BATCH = 50
# Jobs per transaction in the embedded runner. One commit per job cost more than the
# job; on SQLite a transaction holds the write lock, so batches stay short.
TRANSACTION_BATCH = 16
MAINTENANCE_EVERY = timedelta(hours=1)


class _Loop:
    """A background task woken by commits (or a timer) that survives its own errors."""

    name = "loop"
    runs_maintenance = False

    def __init__(self, database: Database) -> None:
        self.database = database
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_maintenance = utcnow() - MAINTENANCE_EVERY

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"taskhub-{self.name}")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=10)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                busy = await self.step()
                if self.runs_maintenance and utcnow() - self._last_maintenance >= MAINTENANCE_EVERY:
                    self._last_maintenance = utcnow()
                    await self.maintenance()
            except Exception as exc:  # the loop must outlive a database blip
                log.warning(f"{self.name}_error", error=f"{type(exc).__name__}: {exc}")
                busy = False
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_SECONDS)
            self._wake.clear()

    async def step(self) -> bool:
        """Do one batch of work; True if there may be more right away."""
        raise NotImplementedError

    async def maintenance(self) -> None:
        await run_maintenance(self.database)


class EmbeddedRunner(_Loop):
    name = "embedded_runner"
    runs_maintenance = True  # with a broker, `taskhub beat` schedules it instead

    def __init__(self, database: Database, jobs: JobRegistry) -> None:
        super().__init__(database)
        self.jobs = jobs

    async def step(self) -> bool:
        async with self.database.writer() as session:
            ids = await outbox.claim(session, BATCH, execute.LEASE)
            await session.commit()
        for start in range(0, len(ids), TRANSACTION_BATCH):
            await self.run_batch(ids[start : start + TRANSACTION_BATCH])
        return len(ids) == BATCH

    async def run_batch(self, ids: list[uuid.UUID]) -> None:
        """Batchable jobs in one transaction; the rest, or all after a failure, one by one."""
        try:
            ids = await execute.execute_batch(self.database, self.jobs, ids)
        except Exception as exc:
            log.info("job_batch_failed", jobs=len(ids), error=f"{type(exc).__name__}: {exc}")
        for message_id in ids:
            await self.run_one(message_id)

    async def run_one(self, message_id: uuid.UUID) -> None:
        try:
            await execute.execute(self.database, self.jobs, message_id)
        except Exception as exc:
            await execute.record_failure(self.database, message_id, exc, final=False)


Sender = Callable[[str, str], Awaitable[None]]  # (message id, job name) -> sent


class Relay(_Loop):
    name = "outbox_relay"
    REDISPATCH_AFTER = timedelta(minutes=15)
    STALE_CHECK_EVERY_SECONDS = 30.0

    def __init__(self, database: Database, send: Sender) -> None:
        super().__init__(database)
        self._send = send
        self._broker_down_since: float | None = None
        self._next_stale_check = 0.0

    async def step(self) -> bool:
        # Every commit wakes the relay; the stale scan need not run that often.
        now = asyncio.get_running_loop().time()
        if now >= self._next_stale_check:
            self._next_stale_check = now + self.STALE_CHECK_EVERY_SECONDS
            await self._requeue_stale()
        async with self.database.writer() as session:
            sent = []
            for message_id, job in await outbox.dispatchable(session, BATCH):
                try:
                    await self._send(str(message_id), job)
                except Exception as exc:
                    self._note_broker_down(exc)
                    break
                sent.append(message_id)
            await outbox.mark_dispatched(session, sent)
            await session.commit()
        if sent and self._broker_down_since is not None:
            log.info("broker_recovered")
            self._broker_down_since = None
        return len(sent) == BATCH

    def _note_broker_down(self, exc: Exception) -> None:
        if self._broker_down_since is None:
            self._broker_down_since = asyncio.get_running_loop().time()
            log.warning("broker_unreachable", error=f"{type(exc).__name__}: {exc}")

    async def _requeue_stale(self) -> None:
        """Send again what was dispatched long ago and never finished, a bounded number of times.

        The broker may have lost it (a Redis restart without persistence), or every
        worker that took it was killed by the hard time limit, which no Celery hook sees.
        """
        async with self.database.writer() as session:
            await outbox.redispatch_stale(
                session,
                self.REDISPATCH_AFTER,
                execute.MAX_ATTEMPTS,
                reason="not finished within 15 minutes of dispatch, 6 times",
            )
            await session.commit()
