"""`taskhub export` and `taskhub import`, run for real in a subprocess."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest

from taskhub.settings import Settings, secret_of
from tests.ops.support import cli_env, run_cli
from tests.support.factories import MakeProject, MakeTask, MakeUser


@pytest.fixture
def backend_env(tmp_path: Path, settings: Settings) -> dict[str, str]:
    return cli_env(
        tmp_path / "data",
        TASKHUB_DATABASE_URL=settings.effective_database_url,
        TASKHUB_SECRET_KEY=secret_of(settings),
    )


async def test_cli_export_then_import_into_another_account(
    backend_env: dict[str, str],
    tmp_path: Path,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    make_task: MakeTask,
    make_project: MakeProject,
) -> None:
    alice, bob = await make_user(), await make_user()
    project = await make_project(alice, "Garden")
    parent = await make_task(alice, title="Plant", project_id=project["id"])
    await make_task(alice, title="Dig", project_id=project["id"], parent_id=parent["id"])
    await make_task(alice, title="Inbox item", labels=["x"])
    out = tmp_path / "alice.json"

    exported = await run_cli("export", alice.email.upper(), "-o", str(out), env=backend_env)
    loaded = await run_cli("import", bob.email, str(out), env=backend_env)
    again = await run_cli("import", bob.email, str(out), env=backend_env)

    assert exported.code == 0, exported.stderr
    assert "exported 3 tasks" in exported.stderr
    document = orjson.loads(out.read_bytes())
    assert document["format"] == "taskhub-export"
    assert loaded.code == 0, loaded.stderr
    assert "4 created, 0 already imported, 0 failed" in loaded.stdout
    assert "Importing alice.json" in loaded.stderr  # the progress bar
    assert again.code == 0, again.stderr
    assert "0 created, 4 already imported, 0 failed" in again.stdout
    bobs = await client.get("/api/v1/export", headers=bob.headers)
    tasks = {t["title"]: t for t in bobs.json()["tasks"]}
    assert set(tasks) == {"Plant", "Dig", "Inbox item"}
    assert tasks["Dig"]["parent_id"] == tasks["Plant"]["id"]


async def test_cli_import_reports_failures_with_a_non_zero_exit(
    backend_env: dict[str, str], tmp_path: Path, make_user: MakeUser
) -> None:
    alice = await make_user()
    bad_rows = tmp_path / "tasks.csv"
    bad_rows.write_text("title,priority\nFine,1\nWrong,7\n")
    not_export = tmp_path / "other.json"
    not_export.write_text('{"hello": "world"}')

    partial = await run_cli("import", alice.email, str(bad_rows), env=backend_env)
    nobody = await run_cli("import", "nobody@example.com", str(bad_rows), env=backend_env)
    missing = await run_cli("import", alice.email, str(tmp_path / "nope.csv"), env=backend_env)
    refused = await run_cli("import", alice.email, str(not_export), env=backend_env)

    assert partial.code == 1, partial.stderr
    assert "1 created, 0 already imported, 1 failed" in partial.stdout
    assert "line 3: priority must be 0..4" in partial.stderr
    assert nobody.code == 1
    assert "no user with email 'nobody@example.com'" in nobody.stderr
    assert missing.code == 1
    assert "no such file" in missing.stderr
    assert refused.code == 1
    assert "must be a taskhub export" in refused.stderr
