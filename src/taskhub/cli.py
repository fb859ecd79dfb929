"""The `taskhub` command: serve, migrate, createuser, worker."""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
import tempfile
from typing import Annotated

import typer
import uvicorn

from taskhub.settings import ConfigError, Settings, load_settings

app = typer.Typer(help="taskhub: a self-hostable multi-user task service.", no_args_is_help=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        typer.echo(f"taskhub: configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the latest revision."""
    from taskhub.migrate import upgrade

    settings = _settings()
    upgrade(settings)
    typer.echo("taskhub: database is at the latest revision")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    graceful_timeout: Annotated[int, typer.Option(help="Seconds to drain on SIGTERM")] = 30,
) -> None:
    """Serve the API (migrating the embedded database first)."""
    settings = _settings()
    if settings.is_embedded and settings.embedded_migrate:
        from taskhub.migrate import upgrade

        upgrade(settings)
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
            prefix="metrics-", dir=settings.data_dir
        )
    # Workers re-read the environment; the embedded secret is already persisted, so
    # every worker signs tokens with the same key.
    uvicorn.run(
        "taskhub.app:create_app_from_env",
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
    user_id = asyncio.run(_create_user(settings, data, superuser))
    typer.echo(f"taskhub: created user {user_id}")


async def _create_user(settings: Settings, data: object, superuser: bool) -> str:
    from taskhub.auth.passwords import PasswordHasher
    from taskhub.auth.schemas import UserCreate
    from taskhub.auth.service import create_user
    from taskhub.db import Database
    from taskhub.errors import Conflict

    assert isinstance(data, UserCreate)
    database = Database.open(settings)
    try:
        async with database.writer() as session:
            hasher = PasswordHasher(settings.argon2_time_cost, settings.argon2_memory_kib)
            try:
                user = await create_user(session, hasher, data, is_superuser=superuser)
            except Conflict as exc:
                typer.echo(f"taskhub: {exc.detail}", err=True)
                raise typer.Exit(1) from None
            await session.commit()
            return str(user.id)
    finally:
        await database.close()


@app.command()
def worker() -> None:
    """Run a background-job worker (Celery; needs TASKHUB_BROKER_URL)."""
    settings = _settings()
    if settings.broker_url is None:
        typer.echo(
            "taskhub: no broker configured (TASKHUB_BROKER_URL); in embedded mode "
            "jobs run inside `taskhub serve`",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo("taskhub: the Celery worker is not implemented yet", err=True)
    raise typer.Exit(1)


if __name__ == "__main__":
    app()
