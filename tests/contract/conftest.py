"""A Python client generated from the app's own OpenAPI document, once per session.

The generator (openapi-python-client) pins a typer older than ours, so it lives in its
own virtualenv (`make codegen` builds `.venv/codegen/`) and runs as a subprocess; the code it
generates needs only httpx and attrs, which the dev dependencies provide.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from fastapi import FastAPI

from tests.support.contract import GENERATED_CLIENT_PACKAGE

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = Path(
    os.environ.get(
        "TASKHUB_OPENAPI_CLIENT_GENERATOR",
        ROOT / ".venv" / "codegen" / "bin" / "openapi-python-client",
    )
)
PACKAGE = GENERATED_CLIENT_PACKAGE


def _generate(schema: Path, output: Path) -> None:
    if not GENERATOR.exists():
        pytest.fail(
            f"{GENERATOR} is missing: run `make codegen` (or set TASKHUB_OPENAPI_CLIENT_GENERATOR)"
        )
    # The generator formats its output with the ruff of its own virtualenv.
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(schema),
            "--output-path",
            str(output),
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, f"openapi-python-client failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="session")
async def generated_client(app: FastAPI, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The generated package, imported; its `api` and `models` modules load lazily."""
    root = tmp_path_factory.mktemp("generated")
    schema = root / "openapi.json"
    schema.write_text(json.dumps(app.openapi()))
    await asyncio.to_thread(_generate, schema, root / PACKAGE)
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
