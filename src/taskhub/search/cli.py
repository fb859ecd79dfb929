"""`taskhub reindex [--user EMAIL]`: compute the missing or outdated task embeddings.

Resumable and safe to run twice: a task whose stored vector was computed from its
current text by the current model is skipped (content hash), so an interrupted run
continues where it stopped and a second run embeds nothing. Reads and the model's work
happen outside any transaction; each batch is written in one short write transaction.
A model change is detected first (the store is emptied and everything re-embedded).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Annotated

import typer

from taskhub.settings import ConfigError, Settings, load_settings

# SQLAlchemy, the model and rich load inside the command: `taskhub --help` stays instant.
if TYPE_CHECKING:
    from taskhub.db import Database
    from taskhub.search.semantic import Semantic


def reindex(
    user: Annotated[
        str | None, typer.Option("--user", help="Only the tasks this account (e-mail) owns")
    ] = None,
) -> None:
    """Compute the embeddings semantic search needs (a backfill; safe to re-run)."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        typer.echo(f"taskhub: configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    if settings.embeddings == "off":
        typer.echo("taskhub: TASKHUB_EMBEDDINGS=off: nothing to index", err=True)
        raise typer.Exit(1)
    from taskhub.search.embedders import EmbeddingError

    try:
        embedded, total = asyncio.run(_reindex(settings, user))
    except EmbeddingError as exc:
        typer.echo(f"taskhub: cannot embed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"taskhub: {total} tasks checked, {embedded} embedded")


async def _reindex(settings: Settings, email: str | None) -> tuple[int, int]:
    from taskhub.auth.service import user_id_by_email
    from taskhub.db import Database
    from taskhub.search import vectors
    from taskhub.search.embedders import make_embedder
    from taskhub.search.semantic import Semantic
    from taskhub.tasks.events import count_of

    database = Database.open(settings)
    semantic = Semantic(make_embedder(settings), database)
    try:
        owner_id = None
        async with database.reader() as session:
            problem = await vectors.available(session)
            if email is not None:
                owner_id = await user_id_by_email(session, email.strip().lower())
                if owner_id is None:
                    typer.echo(f"taskhub: no account {email}", err=True)
                    raise typer.Exit(1)
            total = int(await session.scalar(count_of(owner_id)) or 0)
        if problem is not None:
            typer.echo(f"taskhub: semantic search is unavailable: {problem}", err=True)
            raise typer.Exit(1)
        await semantic.embedder.embed(["taskhub"])  # load the model, learn the dimension
        async with database.writer() as session:
            await semantic.check_model(session)
            await session.commit()
        return await _batches(database, semantic, owner_id, total), total
    finally:
        await semantic.aclose()
        await database.close()


async def _batches(
    database: Database, semantic: Semantic, owner_id: uuid.UUID | None, total: int
) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from taskhub.search import vectors
    from taskhub.search.semantic import REINDEX_BATCH
    from taskhub.tasks.events import ids_after, texts_of

    embedded = 0
    after: uuid.UUID | None = None
    columns = (
        TextColumn("embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns) as progress:
        bar = progress.add_task("tasks", total=total)
        while True:
            async with database.reader() as session:
                ids = list((await session.scalars(ids_after(after, owner_id, REINDEX_BATCH))).all())
                todo = await semantic.stale(session, ids)
            rows = await semantic.compute(todo)
            if rows:
                async with database.writer() as session:
                    # A task deleted meanwhile: its vector would break the foreign key.
                    found = await session.execute(texts_of([row.task_id for row in rows]))
                    alive = {row.id for row in found}
                    await vectors.save(session, [r for r in rows if r.task_id in alive])
                    await session.commit()
            embedded += len(rows)
            progress.advance(bar, len(ids))
            if len(ids) < REINDEX_BATCH:
                return embedded
            after = ids[-1]
