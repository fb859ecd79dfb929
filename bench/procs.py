"""Process control and /proc accounting: CPU time and RSS of process trees.

CPU is read from /proc/<pid>/stat (utime + stime) by a sampler thread rather than once
before and once after, because PostgreSQL backends and uvicorn workers may start or exit
during a run; a pid seen for the first time mid-run is counted from zero, and one that
exits keeps the CPU of its last sample (at most one interval is lost).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

# "postgres: 15/main: USER DB HOST(PORT) STATE" is how a client backend titles itself.
_PG_CLIENT_BACKEND = re.compile(r"^postgres: (?:[^:]+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    cpu_ticks: int
    rss_bytes: int


def read_stat(pid: int) -> ProcStat | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses; split after the last ')'.
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15, rss (pages) 24.
    return ProcStat(
        pid=pid,
        ppid=int(rest[1]),
        cpu_ticks=int(rest[11]) + int(rest[12]),
        rss_bytes=int(rest[21]) * PAGE_SIZE,
    )


def all_stats() -> dict[int, ProcStat]:
    stats: dict[int, ProcStat] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_stat(int(entry))
            if stat is not None:
                stats[stat.pid] = stat
    return stats


def descendants(root: int, stats: dict[int, ProcStat]) -> set[int]:
    """root and every process below it."""
    if root not in stats:
        return set()
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    found: set[int] = set()
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid not in found:
            found.add(pid)
            stack.extend(children.get(pid, []))
    return found


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def peak_rss_hwm(pids: set[int]) -> int:
    """Sum of VmHWM (each process's own peak RSS) - an upper bound of the tree's peak."""
    total = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024
    return total


@dataclass
class _Account:
    """CPU ticks per pid: the value when first seen in the window, and the latest value."""

    first: dict[int, int] = field(default_factory=dict)
    last: dict[int, int] = field(default_factory=dict)

    def observe(self, pid: int, ticks: int, *, baseline: bool) -> None:
        if pid not in self.first:
            self.first[pid] = ticks if baseline else 0
        self.last[pid] = ticks

    def cpu_seconds(self) -> float:
        return sum(self.last[p] - self.first[p] for p in self.last) / CLK_TCK


@dataclass(frozen=True)
class Usage:
    server_cpu_s: float
    pg_cpu_s: float
    server_peak_rss_bytes: int
    server_hwm_bytes: int
    server_pids: int
    pg_pids: int
    per_process_peak_mib: dict[str, float]  # "pid command" -> that process's peak RSS


class Sampler:
    """Samples the server tree and the PostgreSQL processes that serve the bench database.

    PostgreSQL's auxiliary processes (WAL writer, checkpointer, ...) are included because
    writes cost there too; client backends of other databases are excluded so that a test
    suite running against the same server does not show up in our numbers.
    """

    def __init__(
        self, server_root: int, postmaster: int | None, bench_db: str, interval: float = 0.25
    ) -> None:
        self.server_root = server_root
        self.postmaster = postmaster
        self.bench_db = bench_db
        self.interval = interval
        self._server = _Account()
        self._pg = _Account()
        self._peak_rss = 0
        self._proc_peak: dict[int, int] = {}
        self._server_pids: set[int] = set()
        self._pg_exclude: dict[int, bool] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _pg_counts(self, pid: int) -> bool:
        if pid not in self._pg_exclude:
            match = _PG_CLIENT_BACKEND.match(cmdline(pid))
            self._pg_exclude[pid] = bool(match and match.group(1) != self.bench_db)
        return not self._pg_exclude[pid]

    def _tick(self, *, baseline: bool) -> None:
        stats = all_stats()
        server = descendants(self.server_root, stats)
        self._server_pids |= server
        rss = 0
        for pid in server:
            self._server.observe(pid, stats[pid].cpu_ticks, baseline=baseline)
            rss += stats[pid].rss_bytes
            self._proc_peak[pid] = max(self._proc_peak.get(pid, 0), stats[pid].rss_bytes)
        self._peak_rss = max(self._peak_rss, rss)
        if self.postmaster is not None:
            for pid in descendants(self.postmaster, stats):
                if pid != self.postmaster and self._pg_counts(pid):
                    self._pg.observe(pid, stats[pid].cpu_ticks, baseline=baseline)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._tick(baseline=False)

    def start(self) -> None:
        self._tick(baseline=True)
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> Usage:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._tick(baseline=False)
        alive = {p for p in self._server_pids if Path(f"/proc/{p}").exists()}
        return Usage(
            server_cpu_s=self._server.cpu_seconds(),
            pg_cpu_s=self._pg.cpu_seconds(),
            server_peak_rss_bytes=self._peak_rss,
            server_hwm_bytes=peak_rss_hwm(alive),
            server_pids=len(alive),
            pg_pids=len(self._pg.last),
            per_process_peak_mib={
                f"{pid} {cmdline(pid)[:80]}": round(peak / 2**20, 1)
                for pid, peak in sorted(self._proc_peak.items())
            },
        )


def start_process(
    cmd: list[str], env: dict[str, str], log_path: Path, cwd: Path
) -> subprocess.Popen[bytes]:
    """Start in a new session so that teardown can signal the whole process group."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop_process(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM the group (uvicorn drains), then SIGKILL whatever is left."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    # Workers may outlive the master if it died first; the group id is still the master's pid.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def wait_http_ok(
    url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 90.0
) -> None:
    """Poll url until it answers 200; fail fast (with the log tail) if the server died."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {proc.returncode} before {url} was ready; "
                f"log {log_path}:\n{tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(
        f"{url} not ready after {timeout:.0f}s ({last}); log {log_path}:\n{tail(log_path)}"
    )


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
