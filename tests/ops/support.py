"""Helpers for the operations tests: the real `taskhub` command in a subprocess, fresh databases."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.app import CHEAP_ARGON2_ENV
from tests.support.databases import empty_database
from tests.support.env import BACKEND
from tests.support.ports import free_port

TASKHUB = str(Path(sys.executable).parent / "taskhub")
STARTUP_TIMEOUT_SECONDS = 30.0
TEST_SECRET = "cli-test-secret-" + "y" * 40


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def cli_env(data_dir: Path, **variables: str) -> dict[str, str]:
    """Only what the command needs: nothing leaks in from the developer's shell."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(data_dir.parent),
        "LANG": "C.UTF-8",
        "TASKHUB_DATA_DIR": str(data_dir),
        **CHEAP_ARGON2_ENV,
    }
    env.update(variables)
    return env


def database_env(database_url: str) -> dict[str, str]:
    """Variables pointing the command at an existing database (secret required off SQLite)."""
    return {"TASKHUB_DATABASE_URL": database_url, "TASKHUB_SECRET_KEY": TEST_SECRET}


async def run_cli(
    *args: str, env: dict[str, str], stdin: str | None = None, cwd: Path | None = None
) -> Result:
    # cwd: by default the data dir's parent, so that no .env file of the checkout is read.
    process = await asyncio.create_subprocess_exec(
        TASKHUB,
        *args,
        env=env,
        cwd=cwd or Path(env["TASKHUB_DATA_DIR"]).parent,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin is not None else None), timeout=60
    )
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


@dataclass
class Server:
    process: asyncio.subprocess.Process
    base_url: str
    log_path: Path

    def log_lines(self) -> list[str]:
        return [line for line in self.log_path.read_text().splitlines() if line.strip()]

    async def stop(self) -> int:
        """SIGTERM, then the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout=30)


@asynccontextmanager
async def served(env: dict[str, str], *args: str) -> AsyncIterator[Server]:
    """`taskhub serve` on a free port, answering /healthz; stopped (SIGTERM) on exit."""
    port = free_port()
    log_path = Path(env["TASKHUB_DATA_DIR"]).parent / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            TASKHUB,
            "serve",
            "--port",
            str(port),
            *args,
            env=env,
            cwd=log_path.parent,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        await _wait_until_healthy(server)
        yield server
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        while time.monotonic() < deadline:
            if server.process.returncode is not None:
                raise AssertionError(f"taskhub serve exited early:\n{server.log_path.read_text()}")
            try:
                if (await http.get("/healthz", timeout=1)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"taskhub serve did not answer in time:\n{server.log_path.read_text()}")


def dead_database_url(directory: Path) -> str:
    """A database URL of the backend under test that can never be reached."""
    if BACKEND == "sqlite":
        blocker = directory / "not-a-directory"
        blocker.write_text("a file where the database's folder should be")
        return f"sqlite+aiosqlite:///{blocker / 'taskhub.db'}"
    return "postgresql+asyncpg://postgres@127.0.0.1:1/unreachable"


__all__ = [
    "Result",
    "Server",
    "cli_env",
    "database_env",
    "dead_database_url",
    "empty_database",
    "run_cli",
    "served",
]
