"""Fixtures only: one real, migrated database per test session; every test through HTTP.

The suite runs once per backend: `TASKHUB_TEST_DATABASE=sqlite` (default) or
`postgresql`. On PostgreSQL a fresh database is created for the session and dropped
after it; tables are emptied between tests. Helpers live in `tests.support`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import hypothesis
import pytest
from fastapi import FastAPI

from taskhub.app import create_app
from taskhub.kv.memory_cache import InMemoryCache
from taskhub.limits.memory import InMemoryRateLimiter
from taskhub.settings import Settings
from taskhub.tasks.cache import TaskCache
from tests.support.app import build_settings, empty_tables, make_client, running
from tests.support.databases import fresh_postgres_database, migrate
from tests.support.env import BACKEND, IN_CI, PG_ADMIN_DSN
from tests.support.factories import Factories, User

# No per-example deadline: on a shared 2-core machine a slow example is not a failure
# (speed belongs in `make bench`), and a deadline hit there made property tests flaky.
hypothesis.settings.register_profile("taskhub", deadline=None)
hypothesis.settings.load_profile("taskhub")


# Modules that never touch the suite's database: pure functions, their own servers
# (the pgvector cluster, the browser's SQLite server), the embedding model. The
# PostgreSQL pass would run them a second time to the same effect, so only the SQLite
# pass (the default) runs them. Paths relative to the repository root.
BACKEND_INDEPENDENT = (
    "tests/auth/test_pat_format.py",
    "tests/browser/",
    "tests/recurrence/",
    "tests/transfer/test_cells.py",
    "tests/transfer/test_dedupe.py",
    "tests/transfer/test_plain_csv.py",
    "tests/transfer/test_todoist.py",
    "tests/webhooks/test_delivery.py",
    "tests/webhooks/test_retry.py",
    "tests/webhooks/test_signing.py",
    "tests/webhooks/test_ssrf.py",
    "tests/webhooks/test_tls.py",
    "tests/search/test_local_embedder.py",
    "tests/search/test_openai_embedder.py",
    "tests/search/test_pgvector.py",
    "tests/search/test_reference_vectors.py",
    "tests/search/test_sqlite_vectors.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BACKEND == "sqlite":
        return
    root = config.rootpath
    once: list[pytest.Item] = []
    kept: list[pytest.Item] = []
    for item in items:
        where = item.path.relative_to(root).as_posix()
        (once if where.startswith(BACKEND_INDEPENDENT) else kept).append(item)
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = kept


def pytest_report_header() -> str:
    return f"taskhub backend: {BACKEND}"


async def _pg_reachable() -> str | None:
    try:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    if BACKEND != "postgresql":
        return
    problem = asyncio.run(_pg_reachable())
    if problem is None:
        return
    banner = f"!!!!! PostgreSQL at {PG_ADMIN_DSN} is unreachable ({problem})"
    if IN_CI:
        pytest.exit(f"{banner}: failing, CI requires it", returncode=3)
    pytest.exit(
        f"{banner}: SKIPPING the whole PostgreSQL pass (outside CI only) !!!!!", returncode=0
    )


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    if BACKEND == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'taskhub.db'}"
        return
    async with fresh_postgres_database("taskhub_test") as url:
        yield url


@pytest.fixture(scope="session")
async def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = build_settings(database_url, tmp_path_factory.mktemp("data"))
    await migrate(settings)
    return settings


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running(create_app(settings)) as started:
        yield started


@pytest.fixture(autouse=True)
async def _clean_state(app: FastAPI) -> AsyncIterator[None]:
    app.state.limiter = InMemoryRateLimiter()
    app.state.cache = InMemoryCache()
    app.state.task_cache = TaskCache(app.state.cache)
    yield
    await empty_tables(app.state.db)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        yield c


@pytest.fixture
def factories(client: httpx.AsyncClient) -> Factories:
    return Factories(client)


# The factories as fixtures of their own, the names the tests use.
make_user = pytest.fixture(name="make_user")(lambda factories: factories.user)
make_task = pytest.fixture(name="make_task")(lambda factories: factories.task)
make_project = pytest.fixture(name="make_project")(lambda factories: factories.project)
share = pytest.fixture(name="share")(lambda factories: factories.share)
shared_project = pytest.fixture(name="shared_project")(lambda factories: factories.shared_project)


def _a_new_user(name: str) -> Any:
    """A fixture `name`: one freshly registered, logged-in user."""

    async def new_user(factories: Factories) -> User:
        return await factories.user()

    return pytest.fixture(name=name)(new_user)


alice, bob, carol, mallory = (_a_new_user(name) for name in ("alice", "bob", "carol", "mallory"))
