"""Real server processes for multi-instance tests: a throwaway redis-server and
`taskhub serve` instances, each on a free port, always stopped by their owner."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from tests.support.app import CHEAP_ARGON2_ENV
from tests.support.env import clean_environ, missing
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
TASKHUB = ROOT / ".venv" / "bin" / "taskhub"
START_TIMEOUT_SECONDS = 20.0


def redis_server_installed() -> bool:
    return shutil.which("redis-server") is not None


def server_env(
    data_dir: Path, secret: str, database_url: str | None = None, **extra: str
) -> dict[str, str]:
    """The environment of a `taskhub serve` that scripts drive hard (fuzz, faults): none
    of the caller's TASKHUB_*, no rate limit, cheap Argon2, no access log."""
    env = clean_environ(
        TASKHUB_SECRET_KEY=secret,
        TASKHUB_DATA_DIR=str(data_dir),
        TASKHUB_RATE_LIMIT_PER_MINUTE="0",
        TASKHUB_ACCESS_LOG="false",
        **CHEAP_ARGON2_ENV,
        **extra,
    )
    if database_url is not None:
        env["TASKHUB_DATABASE_URL"] = database_url
    return env


@dataclass
class RedisProcess:
    """A redis-server without persistence that a test may kill and start again on the
    same port (it comes back empty, as a restarted cache does)."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=1)

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.2)
        deadline = time.monotonic() + 5
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
        finally:
            client.close()

    def freeze(self) -> None:
        """Stop the process without closing its socket: Redis hangs instead of refusing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=5)
            self.process = None


@dataclass
class ApiProcess:
    """One `taskhub serve` process; `url` is its base URL once `wait_ready` returned."""

    name: str
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [str(TASKHUB), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        argv += ["--graceful-timeout", "1"]
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                argv,
                cwd=self.log.parent,  # not the checkout: its .env must not apply
                env=clean_environ(**self.env),
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited early:\n{self.output()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not ready after {timeout}s:\n{self.output()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self.process = None


def own_redis() -> Iterator[RedisProcess]:
    """A started redis-server of the caller's own (for fixtures); killed at teardown."""
    if not redis_server_installed():
        missing("redis-server is not installed")
    server = RedisProcess()
    server.start()
    try:
        yield server
    finally:
        server.kill()


def run_taskhub(
    *args: str, env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """One `taskhub` command as an operator runs it, with this environment; output captured."""
    return subprocess.run(
        [str(TASKHUB), *args],
        input=stdin,
        cwd=cwd,
        env=clean_environ(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_migrate(env: dict[str, str], cwd: Path) -> None:
    """`taskhub migrate` as an operator runs it, with this environment."""
    done = run_taskhub("migrate", env=env, cwd=cwd)
    assert done.returncode == 0, f"taskhub migrate failed:\n{done.stdout}\n{done.stderr}"


__all__ = [
    "ApiProcess",
    "RedisProcess",
    "clean_environ",
    "free_port",
    "own_redis",
    "redis_server_installed",
    "run_migrate",
    "server_env",
]
