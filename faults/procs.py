"""The processes a fault scenario starts, signals and kills: the API and PostgreSQL.

Only processes started here are ever signalled, always by pid. The shared PostgreSQL
server is used for fresh databases at most; crashing PostgreSQL happens on a throwaway
cluster (initdb into a temporary directory), never on a server someone else uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from tests.support import servers
from tests.support.databases import admin_execute, asyncpg_dsn, fresh_postgres_database
from tests.support.env import PG_ADMIN_DSN
from tests.support.ports import free_port

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
START_TIMEOUT = 60.0
OUTBOX_QUERY = "SELECT payload, status FROM outbox WHERE job = 'task.activity'"


class FaultSetupError(RuntimeError):
    """The scenario could not be set up (not a finding about taskhub)."""


async def poll_until(condition: Callable[[], bool], within: float, every: float = 0.05) -> bool:
    """Wait until condition() holds or `within` seconds pass; report whether it held."""
    deadline = time.monotonic() + within
    for _ in iter(int, 1):  # until a return
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(every)
    raise AssertionError("unreachable")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def server_env(database_url: str | None, data_dir: Path, secret: str) -> dict[str, str]:
    """The environment of a fault-test server: ours only, none of the caller's TASKHUB_*."""
    return servers.server_env(data_dir, secret, database_url, PYTHONUNBUFFERED="1")


def new_secret() -> str:
    return secrets.token_urlsafe(36)  # 48 characters


def taskhub_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "taskhub.cli", *args]


def migrate(env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(
            taskhub_command("migrate"), env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    if done.returncode != 0:
        raise FaultSetupError(f"taskhub migrate failed ({done.returncode}):\n{tail(log)}")


class ApiServer:
    """One `taskhub serve` process on a fixed port, restartable on the same data."""

    def __init__(self, env: dict[str, str], log: Path, graceful_timeout: int = 15) -> None:
        self.env = env
        self.log = log
        self.port = free_port()
        self.graceful_timeout = graceful_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> None:
        await asyncio.to_thread(self._spawn)
        await self.wait_ready()

    def _spawn(self) -> None:
        cmd = taskhub_command(
            "serve", "--port", str(self.port), "--graceful-timeout", str(self.graceful_timeout)
        )
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    async def wait_ready(self, path: str = "/readyz") -> None:
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise FaultSetupError(
                        f"taskhub serve exited with {self.proc.returncode} before it was "
                        f"ready; log {self.log}:\n{tail(self.log)}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(path)).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise FaultSetupError(
            f"taskhub serve not ready after {START_TIMEOUT:.0f}s:\n{tail(self.log)}"
        )

    def kill9(self) -> None:
        self._signal(signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait(timeout=10)

    def sigterm(self) -> None:
        self._signal(signal.SIGTERM)

    async def wait_exit(self, within: float) -> int | None:
        """The exit status (negative: killed by that signal), or None if still running."""
        proc = self.proc
        assert proc is not None
        await poll_until(lambda: proc.poll() is not None, within)
        return proc.poll()

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, sig)

    def stop(self) -> None:
        """Teardown: whatever is left of the process group we started goes."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=self.graceful_timeout + 5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


@asynccontextmanager
async def shared_pg_database() -> AsyncIterator[str]:
    """A fresh database on the shared PostgreSQL server (dropped afterwards)."""
    try:
        await admin_execute("SELECT 1")
    except (OSError, asyncpg.PostgresError) as exc:
        raise FaultSetupError(f"shared PostgreSQL {PG_ADMIN_DSN} unreachable: {exc}") from exc
    async with fresh_postgres_database("taskhub_faults") as url:
        yield url


def _outbox_sqlite(path: Path) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return list(conn.execute(OUTBOX_QUERY).fetchall())


async def activity_jobs(database_url: str | None, data_dir: Path) -> list[tuple[str, str]]:
    """(payload JSON, status) of every task-activity outbox row, read from the database itself.

    The HTTP API shows activity only once its job ran; the outbox row is what must commit
    atomically with the task change, so it is checked directly.
    """
    if database_url is None:
        return await asyncio.to_thread(_outbox_sqlite, data_dir / "taskhub.db")
    conn = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
    try:
        return [(row[0], row[1]) for row in await conn.fetch(OUTBOX_QUERY)]
    finally:
        await conn.close()


def _pg_tool(name: str) -> str:
    for directory in PG_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        raise FaultSetupError(f"PostgreSQL server binary {name!r} not found (install postgresql)")
    return found


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass
class PgCluster:
    """A throwaway PostgreSQL cluster in a temporary directory: ours to crash."""

    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *cmd: str) -> None:
        # initdb refuses to run as root: run the server as the `postgres` OS user then.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, *cmd], capture_output=True, text=True, check=False, timeout=120
        )
        if done.returncode != 0:
            raise FaultSetupError(
                f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}\n"
                f"{tail(self.log)}"
            )

    @classmethod
    def create(cls) -> PgCluster:
        # Not under pytest's tmp_path: its 0700 parents would lock the `postgres` user out.
        root = Path(tempfile.mkdtemp(prefix="taskhub-faults-pg-"))
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        cluster = cls(root=root, port=free_port())
        cluster._run(
            _pg_tool("initdb"), "-D", str(cluster.data), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        return cluster

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            _pg_tool("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log),
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def crash(self) -> None:
        """kill -9 the postmaster and its backends: the whole server dies at once."""
        postmaster = self.postmaster_pid()
        backends = _children(postmaster)
        os.kill(postmaster, signal.SIGKILL)
        for pid in backends:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not any(Path(f"/proc/{pid}").exists() for pid in [postmaster, *backends]):
                return
            time.sleep(0.02)
        raise FaultSetupError("PostgreSQL processes survived SIGKILL for 10 s")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(FaultSetupError):
                self._run(_pg_tool("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
