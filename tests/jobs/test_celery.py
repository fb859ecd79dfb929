"""Celery mode against real brokers: outages, killed workers, dead letters.

The API app runs in this process (its relay publishes to the broker); workers are real
`run_worker` subprocesses. Each test uses its own queue, so parallel runs never take
each other's messages, and the module uses a database of its own, so the embedded runner
of the suite's shared app cannot run these jobs itself.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from taskhub.app import create_app
from taskhub.auth.models import RefreshToken
from taskhub.db import Database, utcnow
from taskhub.jobs.celery_app import MAINTENANCE
from taskhub.jobs.commands import broker_ready
from taskhub.jobs.models import JobStatus, OutboxMessage
from taskhub.jobs.outbox import enqueue
from taskhub.settings import Settings
from tests.support.activity import activity_of
from tests.support.app import TABLES, build_settings, make_client, running
from tests.support.brokers import delete_queue
from tests.support.databases import fresh_postgres_database, migrate
from tests.support.env import BACKEND, IN_CI
from tests.support.factories import User
from tests.support.factories import register as register_user
from tests.support.jobs import ALWAYS_FAILS, MARKER_ENV, SLOW_SECONDS_ENV
from tests.support.processes import Workers
from tests.support.tcp_proxy import TcpProxy
from tests.support.tokens import expire_refresh_tokens

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="Celery workers share the database across processes: PostgreSQL pass only",
)

SECRET = "test-secret-" + "x" * 40
JOB_TIMEOUT = 30.0
# Seconds instead of minutes, so redelivery and retries fit in a test (see celery_app.py).
TEST_TUNING = {
    "TASKHUB_CELERY_VISIBILITY_TIMEOUT": "5",
    "TASKHUB_CELERY_RESTORE_INTERVAL": "1",
    "TASKHUB_CELERY_RETRY_BACKOFF_MAX": "1",
}


@dataclass(frozen=True)
class Broker:
    name: str
    host: str
    port: int
    template: str  # URL with {host} and {port}

    @property
    def url(self) -> str:
        return self.via(self.host, self.port)

    def via(self, host: str, port: int) -> str:
        return self.template.format(host=host, port=port)


BROKERS = {
    # Redis db 7: away from the cache/limits db of a developer's instance.
    "redis": Broker("redis", "127.0.0.1", 6379, "redis://{host}:{port}/7"),
    "amqp": Broker("amqp", "127.0.0.1", 5672, "amqp://guest:guest@{host}:{port}//"),
}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest) -> Broker:
    broker = BROKERS[request.param]
    if not _reachable(broker.host, broker.port):
        message = f"{broker.name} broker unreachable at {broker.host}:{broker.port}"
        if IN_CI:
            pytest.fail(f"{message}: CI requires it (.ci/run starts it)")
        pytest.skip(f"{message} (outside CI only)")
    return broker


@pytest.fixture(scope="module")
async def database_url_of_module(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    async with fresh_postgres_database("taskhub_celery") as url:
        await migrate(build_settings(url, tmp_path_factory.mktemp("celery-data")))
        yield url


@pytest.fixture
def queue(broker: Broker, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A queue for this test alone; the app in this process publishes to it too."""
    name = f"taskhub-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("TASKHUB_CELERY_QUEUE", name)
    for key, value in TEST_TUNING.items():
        monkeypatch.setenv(key, value)
    yield name
    delete_queue(broker.url, name)


@pytest.fixture
def workers(
    broker: Broker, queue: str, database_url_of_module: str, tmp_path: Path
) -> Iterator[Workers]:
    workers = Workers(
        env={
            "TASKHUB_DATABASE_URL": database_url_of_module,
            "TASKHUB_BROKER_URL": broker.url,
            "TASKHUB_SECRET_KEY": SECRET,
            "TASKHUB_CELERY_QUEUE": queue,
            "TASKHUB_DATA_DIR": str(tmp_path / "worker-data"),
            "TASKHUB_LOG_LEVEL": "info",
            **TEST_TUNING,
        },
        log_dir=tmp_path,
    )
    yield workers
    workers.kill_all()


ApiFactory = Callable[[str], Any]


@pytest.fixture
async def module_database_url(database_url_of_module: str) -> str:
    """The module's database, emptied before each test."""
    connection = await asyncpg.connect(database_url_of_module.replace("+asyncpg", ""))
    try:
        await connection.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    finally:
        await connection.close()
    return database_url_of_module


@pytest.fixture
def api(module_database_url: str, queue: str, tmp_path: Path) -> ApiFactory:
    """`async with api(broker_url) as (app, client)`: an API instance publishing to a broker."""

    @asynccontextmanager
    async def start(broker_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        settings: Settings = build_settings(
            module_database_url, tmp_path / "api-data", broker_url=broker_url
        )
        async with running(create_app(settings)) as app, make_client(app) as client:
            yield app, client

    return start


async def complete_new_task(client: httpx.AsyncClient, user: User) -> tuple[str, int, int]:
    """Create a task and mark it done; returns (id, create status, complete status)."""
    created = await client.post("/api/v1/tasks", json={"title": "t"}, headers=user.headers)
    task_id = created.json()["id"]
    done = await client.patch(f"/api/v1/tasks/{task_id}", json={"done": True}, headers=user.headers)
    return task_id, created.status_code, done.status_code


async def outbox_rows(app: FastAPI) -> list[OutboxMessage]:
    async with app.state.db.reader() as session:
        return list((await session.scalars(select(OutboxMessage))).all())


async def wait_for(
    condition: Callable[[], Any], timeout: float = JOB_TIMEOUT, what: str = "condition"
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


async def test_tasks_completed_while_the_broker_is_down_get_their_activity_once_it_is_back(
    broker: Broker, api: ApiFactory, workers: Workers
) -> None:
    async with TcpProxy(broker.host, broker.port) as proxy:
        proxy.cut()
        async with api(broker.via(proxy.host, proxy.port)) as (app, client):
            alice = await register_user(client)
            completed = [await complete_new_task(client, alice) for _ in range(5)]
            assert {(created, done) for _, created, done in completed} == {(201, 200)}
            await asyncio.sleep(1.5)  # the relay has tried (woken by each commit) and failed
            # Each task: its creation and its completion.
            assert [m.status for m in await outbox_rows(app)] == [JobStatus.pending] * 10

            proxy.restore()
            workers.start()
            for task_id, _, _ in completed:
                await activity_of(client, alice, task_id, expected=2, timeout=JOB_TIMEOUT)
            await asyncio.sleep(1.0)  # a duplicate, if any, would show up by now

            for task_id, _, _ in completed:
                entries = await activity_of(client, alice, task_id, expected=2)
                assert [e["action"] for e in entries] == ["created", "completed"], "\n".join(
                    workers.logs()
                )
            assert {m.status for m in await outbox_rows(app)} == {JobStatus.done}


async def test_a_job_whose_worker_is_killed_mid_job_is_redelivered_and_takes_effect_once(
    broker: Broker, api: ApiFactory, workers: Workers, tmp_path: Path
) -> None:
    marker = tmp_path / "job-starts"
    marker.touch()
    doomed = workers.start(**{SLOW_SECONDS_ENV: "30", MARKER_ENV: str(marker)})
    await doomed.wait_ready()
    async with api(broker.url) as (app, client):
        alice = await register_user(client)
        task_id, _, done = await complete_new_task(client, alice)
        assert done == 200

        async def job_started() -> bool:
            return len(marker.read_text().splitlines()) >= 1

        await wait_for(job_started, what="the job to start on the first worker")
        doomed.kill()  # SIGKILL, mid-job: inside the job's open transaction
        workers.start(**{SLOW_SECONDS_ENV: "0", MARKER_ENV: str(marker)})

        entries = await activity_of(client, alice, task_id, expected=2, timeout=JOB_TIMEOUT)
        await asyncio.sleep(1.0)  # a duplicate, if any, would show up by now
        entries = await activity_of(client, alice, task_id, expected=2)

        assert [e["action"] for e in entries] == ["created", "completed"], "\n".join(workers.logs())
        started = [line.split()[1] for line in marker.read_text().splitlines()]
        killed = started[0]
        assert started.count(killed) == 2, started  # killed once, redelivered once
        assert all(started.count(m) <= 2 for m in started), started
        assert [m.status for m in await outbox_rows(app)] == [JobStatus.done] * 2


async def test_a_job_that_always_fails_ends_dead_with_its_error_recorded(
    broker: Broker, api: ApiFactory, workers: Workers
) -> None:
    workers.start()
    async with api(broker.url) as (app, _client):
        async with app.state.db.writer() as session:
            enqueued = enqueue(session, ALWAYS_FAILS, {})
            await session.commit()
        message_id = enqueued.id

        async def is_dead() -> bool:
            return [m.status for m in await outbox_rows(app)] == [JobStatus.dead]

        await wait_for(is_dead, what="the failing job to be dead")

        [message] = await outbox_rows(app)
        assert message.id == message_id
        assert message.attempts == 6  # the first run and five retries
        assert message.last_error == f"DeliberateFailure: job {message_id} fails on purpose"
        assert message.finished_at is not None


async def test_readiness_follows_the_broker(broker: Broker, api: ApiFactory) -> None:
    proxy = await TcpProxy(broker.host, broker.port).start()
    try:
        async with api(broker.via(proxy.host, proxy.port)) as (app, _client):
            assert await broker_ready(app.state.jobs) is True
            proxy.cut()
            assert await broker_ready(app.state.jobs) is False
            proxy.restore()
            assert await broker_ready(app.state.jobs) is True
    finally:
        await proxy.close()


@pytest.mark.parametrize("broker", ["redis"], indirect=True)  # the wiring, not the broker
async def test_the_scheduled_maintenance_task_runs_on_a_worker(
    broker: Broker, api: ApiFactory, workers: Workers
) -> None:
    workers.start()
    async with api(broker.url) as (app, client):
        alice = await register_user(client)
        await expire_refresh_tokens(app.state.db, alice.id)

        # What beat sends every hour.
        await asyncio.to_thread(app.state.jobs.celery.send_task, MAINTENANCE)

        async def tokens_purged() -> bool:
            async with app.state.db.reader() as session:
                left = await session.scalar(select(func.count(RefreshToken.id)))
                return bool(left == 0)

        await wait_for(tokens_purged, what="the worker to purge the expired refresh token")


@pytest.mark.parametrize("broker", ["redis"], indirect=True)  # the relay, not the broker
async def test_a_message_dispatched_long_ago_and_unfinished_is_resent_until_out_of_attempts(
    broker: Broker, api: ApiFactory, module_database_url: str, tmp_path: Path
) -> None:
    long_ago = utcnow() - timedelta(minutes=16)
    database = Database.open(build_settings(module_database_url, tmp_path))
    async with database.writer() as session:
        lost, hopeless = (
            OutboxMessage(
                job=ALWAYS_FAILS,
                payload={},
                status=JobStatus.dispatched,
                dispatched_at=long_ago,
                attempts=attempts,
            )
            for attempts in (1, 5)
        )
        session.add_all([lost, hopeless])
        await session.commit()
    await database.close()

    async with api(broker.url) as (app, _client):

        async def handled() -> bool:
            rows = {m.id: m for m in await outbox_rows(app)}
            return (
                rows[hopeless.id].status is JobStatus.dead
                and (rows[lost.id].dispatched_at or long_ago) > long_ago
            )

        await wait_for(handled, what="the relay to handle both stale messages")

        rows = {m.id: m for m in await outbox_rows(app)}
    assert (rows[lost.id].status, rows[lost.id].attempts) == (JobStatus.dispatched, 2)
    assert (rows[hopeless.id].status, rows[hopeless.id].attempts) == (JobStatus.dead, 6)
    last_error = rows[hopeless.id].last_error
    assert last_error is not None
    assert "not finished" in last_error
