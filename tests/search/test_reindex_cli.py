"""`taskhub reindex`, run for real in a subprocess against the session's database."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import FastAPI

from taskhub.search import vectors
from taskhub.settings import Settings, secret_of
from tests.ops.support import cli_env, run_cli
from tests.support.env import BACKEND
from tests.support.factories import Factories


async def test_reindex_backfills_once_and_is_safe_to_rerun(
    app: FastAPI, settings: Settings, factories: Factories, tmp_path: Path
) -> None:
    alice, bob = await factories.user(), await factories.user()
    mine = [await factories.task(alice, title=t) for t in ("Buy milk", "Call mom")]
    theirs = await factories.task(bob, title="Walk the dog")
    env = cli_env(
        tmp_path / "data",
        TASKHUB_DATABASE_URL=settings.effective_database_url,
        TASKHUB_SECRET_KEY=secret_of(settings),
        TASKHUB_EMBEDDINGS="local",
    )

    first = await run_cli("reindex", "--user", alice.email.upper(), env=env)
    if BACKEND == "postgresql":
        # The shared server has no pgvector: a clear refusal, nothing half-done.
        assert first.code == 1, first.stderr
        assert "semantic search is unavailable" in first.stderr
        assert "pgvector" in first.stderr
        return
    assert first.code == 0, first.stderr
    assert "2 tasks checked, 2 embedded" in first.stdout
    async with app.state.db.reader() as session:
        stored = await vectors.stored(session, [uuid.UUID(t["id"]) for t in [*mine, theirs]])
    assert set(stored) == {uuid.UUID(t["id"]) for t in mine}  # --user: Alice's only

    again = await run_cli("reindex", env=env)
    assert again.code == 0, again.stderr
    assert "3 tasks checked, 1 embedded" in again.stdout  # only Bob's was missing
    unknown = await run_cli("reindex", "--user", "nobody@example.com", env=env)
    assert unknown.code == 1
    assert "no account nobody@example.com" in unknown.stderr
