"""`taskhub export EMAIL [-o FILE]` and `taskhub import EMAIL FILE`, with rich progress.

They run against the database directly (no server needed) through the same code as
the HTTP routes: `transfer.export` writes the document, `transfer.service` stages the
file and applies it slice by slice, here in the foreground. Exit status: 0 on success,
1 when the user or file is wrong, the database fails, or any row was not imported
(the rows that could be were), 2 for a configuration error.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

if TYPE_CHECKING:
    from rich.progress import Progress

    from taskhub.db import Database
    from taskhub.settings import Settings

MEDIA_TYPES = {".json": "application/json", ".csv": "text/csv"}
SHOWN_ERRORS = 20


def _fail(message: str) -> typer.Exit:
    typer.echo(f"taskhub: {message}", err=True)
    return typer.Exit(1)


def _progress() -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )


async def _user_id(database: Database, email: str) -> uuid.UUID:
    from taskhub.auth.service import find_user_by_email

    async with database.reader() as session:
        user = await find_user_by_email(session, email)
    if user is None:
        raise _fail(f"no user with email {email!r}")
    return user.id


async def _export(settings: Settings, email: str, out: BinaryIO, fmt: str) -> int:
    from taskhub.db import Database
    from taskhub.transfer.export import export_csv, export_json

    database = Database.open(settings)
    try:
        user_id = await _user_id(database, email)
        counted: list[int] = []
        with _progress() as progress:
            bar = progress.add_task(f"Exporting {email}", total=None)

            def advance(rows: int) -> None:
                counted.append(rows)
                progress.advance(bar, rows)

            write = export_csv if fmt == "csv" else export_json
            async for piece in write(database, user_id, on_batch=advance):
                out.write(piece)
            progress.update(bar, total=sum(counted))
        return sum(counted)
    finally:
        await database.close()


async def _import(settings: Settings, email: str, path: Path, size: int) -> int:
    from taskhub.db import Database
    from taskhub.transfer import service

    database = Database.open(settings)
    try:
        user_id = await _user_id(database, email)
        with path.open("rb") as upload:
            async with database.writer() as session:
                report = await service.create_import(
                    session,
                    user_id,
                    upload,
                    content_type=MEDIA_TYPES.get(path.suffix.lower()),
                    size=size,
                    run_in_background=False,
                )
                await session.commit()
        with _progress() as progress:
            bar = progress.add_task(f"Importing {path.name}", total=report.total)
            more = True
            while more:
                async with database.writer() as session:
                    more = await service.apply_slice(session, report.id)
                    await session.commit()
                async with database.reader() as session:
                    report = await service.get_import(session, user_id, report.id)
                progress.update(bar, completed=report.processed)
        typer.echo(
            f"taskhub: imported {path.name}: {report.created} created, "
            f"{report.skipped} already imported, {report.failed} failed"
        )
        for error in report.errors[:SHOWN_ERRORS]:
            typer.echo(f"  line {error['line']}: {error['reason']}", err=True)
        if report.failed > SHOWN_ERRORS:
            typer.echo(f"  ... and {report.failed - SHOWN_ERRORS} more", err=True)
        return report.failed
    finally:
        await database.close()


def register(app: typer.Typer, settings: Callable[[], Settings]) -> None:
    """Add the commands to the `taskhub` app (`settings` loads and validates them)."""

    @app.command("export")
    def export_command(
        email: str,
        output: Annotated[
            Path | None, typer.Option("-o", "--output", help="File to write (default: stdout)")
        ] = None,
        fmt: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    ) -> None:
        """Export a user's own projects and tasks (JSON document, or plain CSV)."""
        from taskhub.errors import DomainError

        if fmt not in ("json", "csv"):
            raise _fail("--format must be json or csv")
        loaded = settings()
        try:
            if output is None:
                count = asyncio.run(_export(loaded, email, sys.stdout.buffer, fmt))
            else:
                with output.open("wb") as out:
                    count = asyncio.run(_export(loaded, email, out, fmt))
        except (OSError, DomainError) as exc:
            raise _fail(f"export failed: {exc}") from None
        typer.echo(f"taskhub: exported {count} tasks", err=True)

    @app.command("import")
    def import_command(email: str, file: Path) -> None:
        """Import a taskhub export, a plain CSV or a Todoist CSV into a user's account."""
        from sqlalchemy.exc import DBAPIError

        from taskhub.errors import DomainError

        if not file.is_file():
            raise _fail(f"{file}: no such file")
        loaded = settings()
        try:
            failed = asyncio.run(_import(loaded, email, file, file.stat().st_size))
        except DomainError as exc:
            raise _fail(f"cannot import {file.name}: {exc.detail}") from None
        except (DBAPIError, OSError) as exc:
            raise _fail(f"import failed: {str(exc).splitlines()[0]}") from None
        if failed:
            raise typer.Exit(1)
