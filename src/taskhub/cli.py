"""The `taskhub` command: serve, migrate, createuser, worker, beat."""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import sys
import tempfile
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from taskhub.search.cli import reindex
from taskhub.settings import ConfigError, Settings, load_settings
from taskhub.transfer import cli as transfer_cli

# Heavy imports (SQLAlchemy, uvicorn, the app) stay inside the commands: a bad setting
# or `--help` answers at once.

if TYPE_CHECKING:
    from taskhub.auth.schemas import UserCreate

app = typer.Typer(
    help="taskhub: a self-hostable multi-user task service.",
    no_args_is_help=True,
    # A traceback's local variables would print the settings, secret key included.
    pretty_exceptions_show_locals=False,
)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        typer.echo(f"taskhub: configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


def _reason(exc: BaseException) -> str:
    """The driver's first line, without SQLAlchemy's statement and background link."""
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]


def _upgrade(settings: Settings) -> None:
    """Migrate to head, or exit with one line when the database cannot be reached."""
    from sqlalchemy.exc import DBAPIError

    from taskhub.migrate import upgrade

    try:
        upgrade(settings)
    except (DBAPIError, OSError) as exc:
        typer.echo(f"taskhub: cannot migrate the database: {_reason(exc)}", err=True)
        raise typer.Exit(1) from None


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the latest revision."""
    settings = _settings()
    _upgrade(settings)
    typer.echo("taskhub: database is at the latest revision")


def _share_metrics_between_workers(settings: Settings) -> None:
    """Give the uvicorn workers one prometheus_client multi-process directory.

    The one place taskhub writes the environment: prometheus_client reads
    PROMETHEUS_MULTIPROC_DIR when its metrics are created, in every worker process,
    and has no other way to be told; the workers inherit it from this process.
    """
    if settings.metrics_multiproc_dir is not None:
        return  # the operator chose one
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    directory = tempfile.mkdtemp(prefix="metrics-", dir=settings.data_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    graceful_timeout: Annotated[int, typer.Option(help="Seconds to drain on SIGTERM")] = 30,
) -> None:
    """Serve the API (migrating the embedded database first)."""
    import uvicorn

    settings = _settings()
    if settings.is_embedded and settings.embedded_migrate:
        _upgrade(settings)
    if workers > 1:
        _share_metrics_between_workers(settings)
    # Uvicorn drains on SIGTERM, then raises the signal again so that the process dies
    # of it (exit -15). A drained stop is a clean one: exit 0, as supervisors expect.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    # Each worker loads its own Settings (uvicorn passes it nothing but the factory's
    # import string); the embedded secret is already persisted, so every worker signs
    # tokens with the same key.
    factory = "create_worker_app_from_env" if workers > 1 else "create_app_from_env"
    uvicorn.run(
        f"taskhub.app:{factory}",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop" if sys.platform != "win32" else "auto",
        http="httptools",
        server_header=False,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=graceful_timeout,
        proxy_headers=True,
    )


@app.command()
def createuser(
    email: str,
    superuser: Annotated[bool, typer.Option("--superuser", help="Grant admin rights")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Create an account (prompts for the password)."""
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError

    from taskhub.auth.schemas import UserCreate

    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            typer.echo("taskhub: passwords do not match", err=True)
            raise typer.Exit(1)
    try:
        data = UserCreate(email=email, password=password)
    except ValidationError as exc:
        first = exc.errors()[0]
        typer.echo(f"taskhub: {first['loc'][0]}: {first['msg']}", err=True)
        raise typer.Exit(1) from None
    if settings.is_embedded and settings.embedded_migrate:
        _upgrade(settings)  # a fresh laptop: createuser may well come before serve
    try:
        user_id = asyncio.run(_create_user(settings, data, superuser))
    except (DBAPIError, OSError) as exc:
        typer.echo(f"taskhub: cannot create the user: {_reason(exc)}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"taskhub: created user {user_id}")


async def _create_user(settings: Settings, data: UserCreate, superuser: bool) -> str:
    from taskhub.auth.passwords import PasswordHasher
    from taskhub.auth.service import create_user
    from taskhub.db import Database
    from taskhub.errors import Conflict

    database = Database.open(settings)
    try:
        async with database.writer() as session:
            hasher = PasswordHasher(settings.argon2_time_cost, settings.argon2_memory_kib)
            try:
                user = await create_user(session, hasher, data, is_superuser=superuser)
            except Conflict as exc:
                typer.echo(f"taskhub: cannot create {data.email}: {exc.detail}", err=True)
                raise typer.Exit(1) from None
            await session.commit()
            return str(user.id)
    finally:
        await database.close()


def _require_broker(settings: Settings) -> None:
    if settings.broker_url is None:
        typer.echo(
            "taskhub: no broker configured (TASKHUB_BROKER_URL); in embedded mode "
            "jobs run inside `taskhub serve`",
            err=True,
        )
        raise typer.Exit(1)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Job processes")] = 2,
) -> None:
    """Run a background-job worker (Celery; needs TASKHUB_BROKER_URL)."""
    settings = _settings()
    _require_broker(settings)
    from taskhub.events.broker import RedisBroker, open_broker
    from taskhub.jobs.commands import run_worker
    from taskhub.wiring import job_registry

    # Live events reach the API instances only through Redis; without it, none are sent.
    broker = open_broker(settings.redis_url)
    events = broker if isinstance(broker, RedisBroker) else None
    jobs = job_registry(settings, events)
    run_worker(settings, jobs, concurrency=concurrency, loglevel=settings.log_level)


@app.command()
def beat() -> None:
    """Schedule the periodic jobs (Celery beat; run exactly one per deployment)."""
    settings = _settings()
    _require_broker(settings)
    from taskhub.jobs.commands import run_beat

    run_beat(settings, loglevel=settings.log_level)


transfer_cli.register(app, _settings)  # export and import

if __name__ == "__main__":
    app()


app.command()(reindex)
