"""The fault scenarios. Each returns a Report; none raises for a finding about taskhub."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from faults.load import JobRows, Ledger, Outcome, Verdict, login, reader, verify, writer
from faults.procs import (
    ApiServer,
    PgCluster,
    activity_jobs,
    migrate,
    new_secret,
    poll_until,
    server_env,
    shared_pg_database,
)
from taskhub.jobs.execute import LEASE

Backend = Literal["sqlite", "postgresql"]
WRITERS = 12
READERS = 4
LOAD_SECONDS = 1.5  # of load before the fault
MIN_ACKS_BEFORE_FAULT = 20
OUTAGE_SECONDS = 2.0
LATENCY_BOUND = 5.0  # an answer during the outage must come this fast (no hanging)
RECOVERY_BOUND = 15.0  # the API must serve writes again this long after PostgreSQL is back
SETTLE_SECONDS = 0.5  # after recovery, a little slack before every answer must be 2xx
GRACEFUL_TIMEOUT = 15
SERVER_LOG = "server.log"


@dataclass
class Report:
    name: str
    log: Path
    verdict: Verdict = field(default_factory=Verdict)
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    def text(self) -> str:
        lines = [self.verdict.line(self.name)]
        lines += [f"    {note}" for note in self.verdict.notes + self.details]
        lines += [f"    PROBLEM: {problem}" for problem in self.verdict.problems[:25]]
        if len(self.verdict.problems) > 25:
            lines.append(f"    ... and {len(self.verdict.problems) - 25} more problems")
        if not self.ok:
            lines.append(f"    server log: {self.log}")
        return "\n".join(lines)


@asynccontextmanager
async def _database(backend: Backend) -> AsyncIterator[str | None]:
    """None: the embedded SQLite database in the data dir. Else a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield None
        return
    async with shared_pg_database() as url:
        yield url


async def _server(url: str | None, workdir: Path) -> ApiServer:
    env = server_env(url, workdir / "data", new_secret())
    log = workdir / SERVER_LOG
    if url is not None:
        await asyncio.to_thread(migrate, env, log)
    return ApiServer(env, log, graceful_timeout=GRACEFUL_TIMEOUT)


JOB_LEASE_SECONDS = int(LEASE.total_seconds())  # a claim by a killed process expires


def _jobs_of(url: str | None, workdir: Path) -> JobRows:
    return lambda: activity_jobs(url, workdir / "data")


class Load:
    """Writers (and optionally readers) running against one server until stopped."""

    def __init__(self, base_url: str, headers: dict[str, str], readers: int = 0) -> None:
        self.ledger = Ledger()
        self.stop_event = asyncio.Event()
        workers: list[Coroutine[Any, Any, None]] = [
            writer(base_url, headers, self.ledger, i, self.stop_event) for i in range(WRITERS)
        ]
        workers += [
            reader(base_url, headers, self.ledger, i, self.stop_event) for i in range(readers)
        ]
        self.tasks = [asyncio.create_task(w) for w in workers]

    async def warm_up(self) -> None:
        """Run LOAD_SECONDS, and at least until some writes were acknowledged."""
        await asyncio.sleep(LOAD_SECONDS)
        await poll_until(lambda: self.acked_after(0) >= MIN_ACKS_BEFORE_FAULT, within=30)

    def acked_after(self, moment: float) -> int:
        return sum(
            o.result == "acked" and o.kind != "read" and o.started >= moment
            for o in self.ledger.outcomes
        )

    async def stop(self) -> Ledger:
        self.stop_event.set()
        await asyncio.gather(*self.tasks)
        return self.ledger


def _server_errors(outcomes: list[Outcome], allowed: frozenset[int] = frozenset()) -> list[str]:
    bad = [o.status for o in outcomes if o.status is not None and o.status >= 500]
    bad = [status for status in bad if status not in allowed]
    return [f"{len(bad)} answers {sorted(set(bad))}"] if bad else []


async def _start_under_load(server: ApiServer, readers: int = 0) -> tuple[dict[str, str], Load]:
    """Start the API, sign in, and have the writers (and `readers`) running and acknowledged."""
    await server.start()
    headers = await login(server.base_url)
    load = Load(server.base_url, headers, readers=readers)
    await load.warm_up()
    return headers, load


def _summary(ledger: Ledger) -> str:
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(ledger.statuses().items()))
    return f"{len(ledger.outcomes)} requests ({counts})"


async def kill9_under_write_load(backend: Backend, workdir: Path) -> Report:
    """kill -9 the API mid-load, restart it on the same data: no acknowledged write lost."""
    report = Report(f"[{backend}] kill -9 the API mid-load", workdir / SERVER_LOG)
    async with _database(backend) as url:
        server = await _server(url, workdir)
        jobs = _jobs_of(url, workdir)
        try:
            headers, load = await _start_under_load(server)
            await asyncio.to_thread(server.kill9)
            await asyncio.sleep(0.3)  # clients run into the dead server for a moment
            ledger = await load.stop()
            unfinished_at_kill = _unfinished(await jobs())
            await server.start()
            report.verdict = await verify(server.base_url, headers, ledger, jobs)
            still = await _wait_for_jobs(jobs, within=JOB_LEASE_SECONDS + 15)
        finally:
            await asyncio.to_thread(server.stop)
    report.details.append(_summary(ledger))
    report.details.append(
        f"jobs pending or mid-run at the kill: {unfinished_at_kill}; "
        f"still not done {JOB_LEASE_SECONDS + 15}s after the restart: {still}"
    )
    if still:
        report.verdict.problems.append(f"{still} jobs never ran after the restart")
    report.verdict.problems += [
        f"5xx before the kill: {e}" for e in _server_errors(ledger.outcomes)
    ]
    return report


def _unfinished(rows: list[tuple[str, str]]) -> int:
    return sum(1 for _, status in rows if status in ("pending", "running"))


async def _wait_for_jobs(jobs: JobRows, within: float) -> int:
    """Jobs still pending/running once `within` seconds pass (0 as soon as all are done)."""
    deadline = time.monotonic() + within
    while True:
        left = _unfinished(await jobs())
        if left == 0 or time.monotonic() > deadline:
            return left
        await asyncio.sleep(0.5)


async def sigterm_under_load(backend: Backend, workdir: Path) -> Report:
    """SIGTERM mid-load: in-flight requests finish, no 5xx, exit 0, nothing lost."""
    report = Report(f"[{backend}] SIGTERM the API mid-load", workdir / SERVER_LOG)
    problems: list[str] = []
    async with _database(backend) as url:
        server = await _server(url, workdir)
        jobs = _jobs_of(url, workdir)
        try:
            headers, load = await _start_under_load(server)
            term_at = time.monotonic()
            server.sigterm()
            status = await server.wait_exit(GRACEFUL_TIMEOUT + 10)
            exited_at = time.monotonic()
            ledger = await load.stop()
            if status != 0:
                problems.append(f"after SIGTERM the process exit status is {status}, not 0")
            await server.start()
            report.verdict = await verify(server.base_url, headers, ledger, jobs)
        finally:
            await asyncio.to_thread(server.stop)
    writes = [o for o in ledger.outcomes if o.kind != "read"]
    in_flight = [o for o in writes if o.started < term_at < o.ended]
    finished = [o for o in in_flight if o.result == "acked"]
    broken = [o for o in writes if o.result == "unknown"]
    report.details += [
        _summary(ledger),
        f"exit status {status} {exited_at - term_at:.2f}s after SIGTERM; "
        f"{len(finished)}/{len(in_flight)} requests in flight at SIGTERM answered 2xx",
    ]
    problems += [f"5xx during shutdown: {e}" for e in _server_errors(ledger.outcomes)]
    if not in_flight:
        problems.append("no request was in flight at SIGTERM: the scenario proved nothing")
    problems += [
        f"{o.kind} {o.key} in flight at SIGTERM: answered {o.status}"
        for o in in_flight
        if o.result == "rejected"
    ]
    if broken:
        report.details.append(
            f"{len(broken)} writes saw their connection closed without an answer "
            f"({len(report.verdict.unknown_applied)} of them applied)"
        )
    problems += [
        f"{what}: applied by the server but the client got no answer (connection closed)"
        for what in report.verdict.unknown_applied
    ]
    report.verdict.problems += problems
    return report


async def _readyz(base_url: str) -> int | None:
    async with httpx.AsyncClient(base_url=base_url, timeout=LATENCY_BOUND) as client:
        try:
            return (await client.get("/readyz")).status_code
        except httpx.TransportError:
            return None


async def postgres_crash_under_load(workdir: Path) -> Report:
    """kill -9 PostgreSQL under read/write load: 503 fast while down, self-healing after."""
    report = Report("[postgresql] kill -9 PostgreSQL mid-load", workdir / SERVER_LOG)
    cluster = await asyncio.to_thread(PgCluster.create)
    try:
        await asyncio.to_thread(cluster.start)
        server = await _server(cluster.url, workdir)
        jobs = _jobs_of(cluster.url, workdir)
        try:
            headers, load = await _start_under_load(server, readers=READERS)
            crash_at = time.monotonic()
            await asyncio.to_thread(cluster.crash)
            await asyncio.sleep(OUTAGE_SECONDS)
            ready_down = await _readyz(server.base_url)
            restart_at = time.monotonic()
            await asyncio.to_thread(cluster.start)
            back_at = time.monotonic()
            await poll_until(lambda: load.acked_after(back_at) > 0, within=RECOVERY_BOUND)
            recovered_at = time.monotonic()
            await asyncio.sleep(1.0)  # load on the recovered database
            ledger = await load.stop()
            ready_up = await _readyz(server.base_url)
            alive = server.proc is not None and server.proc.poll() is None
            report.verdict = await verify(server.base_url, headers, ledger, jobs)
        finally:
            await asyncio.to_thread(server.stop)
    finally:
        await asyncio.to_thread(cluster.destroy)

    problems = report.verdict.problems
    outcomes = ledger.outcomes
    during = [o for o in outcomes if crash_at + 0.2 <= o.started and o.ended <= restart_at]
    after = [o for o in outcomes if o.started >= recovered_at + SETTLE_SECONDS]
    slow = [o for o in outcomes if o.latency > LATENCY_BOUND]
    report.details += [
        _summary(ledger),
        f"outage {restart_at - crash_at:.1f}s: {len(during)} answers "
        f"({', '.join(sorted({str(o.status or o.error) for o in during}))}), "
        f"max latency {max((o.latency for o in during), default=0):.3f}s; "
        f"/readyz {ready_down} while down, {ready_up} after",
        f"PostgreSQL restarted in {back_at - restart_at:.2f}s; first acknowledged write "
        f"{recovered_at - back_at:.2f}s later",
    ]
    problems += [
        f"answered 500-class other than 503: {e}"
        for e in _server_errors(outcomes, frozenset({503}))
    ]
    if not during:
        problems.append("no request completed during the outage: the scenario proved nothing")
    # A read may still be answered from the cache (hot tasks and first pages), which is
    # the point of having one; anything else must be an honest 503.
    cached_reads = [o for o in during if o.kind == "read" and o.status == 200]
    cached_ids = {id(o) for o in cached_reads}
    report.details.append(f"reads answered from the cache during the outage: {len(cached_reads)}")
    problems += [
        f"{o.kind} {o.key} during the outage: {o.status or o.error} (want 503)"
        for o in during
        if o.status != 503 and id(o) not in cached_ids
    ][:10]
    problems += [f"{o.kind} {o.key} took {o.latency:.1f}s (bound {LATENCY_BOUND}s)" for o in slow][
        :10
    ]
    problems += [
        f"{o.kind} {o.key}: {o.error} (the API process never died)"
        for o in outcomes
        if o.result in ("unknown", "unsent")
    ][:10]
    if load.acked_after(back_at) == 0:
        problems.append(f"no write acknowledged within {RECOVERY_BOUND}s of PostgreSQL's restart")
    problems += [
        f"{o.kind} {o.key} after recovery: {o.status or o.error}"
        for o in after
        if o.result != "acked"
    ][:10]
    if ready_down != 503:
        problems.append(f"/readyz answered {ready_down} while PostgreSQL was down (want 503)")
    if ready_up != 200:
        problems.append(f"/readyz answered {ready_up} after recovery (want 200)")
    if not alive:
        problems.append("the API process died during the outage")
    return report
