"""The `taskhub` command, run for real in a subprocess with a controlled environment."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from taskhub.app import create_app
from taskhub.auth.models import User as UserRow
from taskhub.db import Database
from taskhub.settings import Settings, secret_of
from tests.ops.support import Server, cli_env, empty_database, run_cli, served
from tests.support.app import build_settings, make_client, running
from tests.support.env import BACKEND
from tests.support.factories import PASSWORD, MakeUser
from tests.support.http import expect


@pytest.fixture
def backend_env(tmp_path: Path, settings: Settings) -> dict[str, str]:
    """The command pointed at the test session's (migrated) database, with its secret."""
    return cli_env(
        tmp_path / "data",
        TASKHUB_DATABASE_URL=settings.effective_database_url,
        TASKHUB_SECRET_KEY=secret_of(settings),
    )


async def _is_superuser(app: FastAPI, email: str) -> bool | None:
    database: Database = app.state.db
    async with database.reader() as session:
        flag: bool | None = await session.scalar(
            select(UserRow.is_superuser).where(UserRow.email == email)
        )
        return flag


async def _register(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    expect(
        await http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}), 201
    )
    token = await http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.fixture
async def fresh_database(tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """An empty database and the environment naming it: embedded mode on SQLite."""
    data_dir = tmp_path / "data"
    if BACKEND == "sqlite":
        yield f"sqlite+aiosqlite:///{data_dir / 'taskhub.db'}", cli_env(data_dir)
        return
    async with empty_database(tmp_path) as url:
        yield url, cli_env(data_dir, TASKHUB_DATABASE_URL=url, TASKHUB_SECRET_KEY="s" * 40)


async def test_migrate_creates_the_schema_on_a_fresh_database(
    fresh_database: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = fresh_database

    result = await run_cli("migrate", env=env)

    assert result.code == 0, result.stderr
    async with running(create_app(build_settings(url, tmp_path))) as app, make_client(app) as http:
        await _register(http, "fresh@example.com")


async def test_createuser_creates_a_user_who_can_log_in(
    backend_env: dict[str, str], client: httpx.AsyncClient
) -> None:
    result = await run_cli(
        "createuser", "Admin@Example.com", "--password-stdin", env=backend_env, stdin=PASSWORD
    )

    assert result.code == 0, result.stderr
    expect(
        await client.post(
            "/api/v1/auth/token", data={"username": "admin@example.com", "password": PASSWORD}
        ),
        200,
    )


async def test_createuser_without_superuser_flag_creates_a_regular_user(
    backend_env: dict[str, str], app: FastAPI
) -> None:
    result = await run_cli(
        "createuser", "plain@example.com", "--password-stdin", env=backend_env, stdin=PASSWORD
    )

    assert result.code == 0, result.stderr
    assert await _is_superuser(app, "plain@example.com") is False


async def test_createuser_superuser_flag_makes_a_superuser(
    backend_env: dict[str, str], app: FastAPI
) -> None:
    result = await run_cli(
        "createuser",
        "root@example.com",
        "--superuser",
        "--password-stdin",
        env=backend_env,
        stdin=PASSWORD,
    )

    assert result.code == 0, result.stderr
    assert await _is_superuser(app, "root@example.com") is True


async def test_createuser_with_a_taken_email_fails_with_a_clear_message(
    backend_env: dict[str, str], make_user: MakeUser
) -> None:
    existing = await make_user("taken@example.com")

    result = await run_cli(
        "createuser", existing.email, "--password-stdin", env=backend_env, stdin=PASSWORD
    )

    assert result.code != 0
    assert result.stderr.strip().splitlines() == [
        "taskhub: cannot create taken@example.com: Email already registered"
    ]


async def test_createuser_with_a_short_password_fails_naming_the_password(
    backend_env: dict[str, str],
) -> None:
    result = await run_cli(
        "createuser", "short@example.com", "--password-stdin", env=backend_env, stdin="short"
    )

    assert result.code != 0
    assert "password" in result.stderr
    assert "Traceback" not in result.stderr


async def test_worker_without_a_broker_says_no_broker_configured(tmp_path: Path) -> None:
    result = await run_cli("worker", env=cli_env(tmp_path / "data"))

    assert result.code != 0
    assert "no broker configured" in result.stderr


@pytest.fixture(scope="module")
async def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    """`taskhub serve` with no database configured: SQLite in a fresh data dir."""
    async with served(cli_env(tmp_path_factory.mktemp("serve") / "data")) as server:
        yield server


async def test_serve_on_a_fresh_data_dir_migrates_and_serves(embedded_server: Server) -> None:
    async with httpx.AsyncClient(base_url=embedded_server.base_url) as http:
        headers = await _register(http, "first@example.com")
        created = await http.post("/api/v1/tasks", json={"title": "hello"}, headers=headers)

    assert created.status_code == 201, created.text


async def test_serve_sends_no_server_banner(embedded_server: Server) -> None:
    async with httpx.AsyncClient(base_url=embedded_server.base_url) as http:
        response = await http.get("/healthz")

    assert response.status_code == 200, response.text
    assert "server" not in response.headers


async def test_serve_drains_an_in_flight_write_then_exits_0_on_sigterm(
    backend_env: dict[str, str], client: httpx.AsyncClient
) -> None:
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b'{"title": '
        await release.wait()
        yield b'"written while draining"}'

    async with served(backend_env) as server, httpx.AsyncClient(base_url=server.base_url) as http:
        headers = await _register(http, "drain@example.com")
        in_flight = asyncio.create_task(
            http.post(
                "/api/v1/tasks",
                content=slow_body(),
                headers={**headers, "Content-Type": "application/json"},
                timeout=30,
            )
        )
        # Time for the server to read the headers and first chunk: a request it has not
        # started yet would be refused by the shutdown, not drained.
        await asyncio.sleep(1.0)
        server.process.send_signal(signal.SIGTERM)
        await _until_logged(server, "Shutting down")
        release.set()
        response = await in_flight
        code = await server.stop()

    assert response.status_code == 201, response.text
    assert code == 0
    assert (
        expect(await client.get(f"/api/v1/tasks/{response.json()['id']}", headers=headers), 200)[
            "title"
        ]
        == "written while draining"
    )


async def _until_logged(server: Server, text: str, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not any(text in line for line in server.log_lines()):
            await asyncio.sleep(0.05)


@asynccontextmanager
async def _two_workers(env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """`serve --workers 2`, and a client opening a new connection per request, so that
    the kernel hands requests to either worker."""
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with (
        served(env, "--workers", "2") as server,
        httpx.AsyncClient(base_url=server.base_url, limits=fresh) as http,
    ):
        yield http


async def _healthz_count(http: httpx.AsyncClient) -> float:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    wanted = {"method": "GET", "route": "/healthz", "status": "200"}
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        if family.name == "taskhub_http_requests"
        for sample in family.samples
        if sample.name == "taskhub_http_requests_total" and sample.labels == wanted
    )


async def test_serve_with_two_workers_and_no_redis_never_serves_a_stale_task(
    backend_env: dict[str, str],
) -> None:
    # A process-local cache would answer from whichever copy that worker last stored.
    async with _two_workers(backend_env) as http:
        headers = await _register(http, "two-workers@example.com")
        created = await http.post("/api/v1/tasks", json={"title": "v0"}, headers=headers)
        assert created.status_code == 201, created.text
        url = f"/api/v1/tasks/{created.json()['id']}"
        seen = []
        for version in range(1, 6):
            patched = await http.patch(url, json={"title": f"v{version}"}, headers=headers)
            assert patched.status_code == 200, patched.text
            for _ in range(4):
                read = await http.get(url, headers=headers)
                assert read.status_code == 200, read.text
                seen.append((f"v{version}", read.json()["title"]))

    assert all(wrote == read for wrote, read in seen), seen


async def test_serve_with_two_workers_counts_every_request_in_metrics(
    backend_env: dict[str, str],
) -> None:
    # Each scrape is answered by one worker; the counts must still cover both.
    async with _two_workers(backend_env) as http:
        before = await _healthz_count(http)
        for _ in range(10):
            response = await http.get("/healthz")
            assert response.status_code == 200, response.text
        after = await _healthz_count(http)

    assert after - before == 10
