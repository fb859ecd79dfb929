"""Celery worker subprocesses for tests: started in their own process group, always killed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 20.0


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Wait for Celery's "ready." log line (the worker consumes from then on)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while " ready." not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.output()[-4000:]}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"worker not ready after {timeout}s:\n{self.output()[-4000:]}")
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


class Workers:
    """Starts workers with a common environment; `kill_all()` belongs in a fixture teardown."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.started: list[WorkerProcess] = []

    def start(self, **extra_env: str) -> WorkerProcess:
        log = self.log_dir / f"worker-{len(self.started)}.log"
        env = {**os.environ, **self.env, **extra_env}
        with log.open("wb") as handle:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.worker"],
                cwd=ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group, so kill() reaches the children
            )
        worker = WorkerProcess(process, log)
        self.started.append(worker)
        return worker

    def kill_all(self) -> None:
        for worker in self.started:
            worker.kill()

    def logs(self) -> Iterator[str]:
        for worker in self.started:
            yield f"--- {worker.log.name}\n{worker.output()[-3000:]}"
