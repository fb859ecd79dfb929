"""The embedded default under write load: `taskhub serve` on SQLite, one process (issue 14).

The issue's targets for this shape are p99 < 50 ms and no request over 250 ms at 8
connections for create and for a 60/20/20 GET/list/create mix. Nothing here asserts a
speed; smoke mode only checks that traffic flowed without errors.

Run alone with `python -m bench.embedded [--duration 20]`; `make bench` runs it after the
PostgreSQL passes.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import procs
from bench.run import REPO, http, log, port_free, taskhub_bin, wrk_command, wrk_env

PORT = 8768
CONNECTIONS = 8
SEED_TASKS = 1_000
SCENARIOS = {"get": "get_tail.lua", "create": "create_tail.lua", "mix": "mix_rw.lua"}
LABEL = {"get": "GET one task", "create": "create", "mix": "60 % GET / 20 % list / 20 % create"}
TARGET_P99_MS = 50.0
TARGET_MAX_MS = 250.0


@dataclass(frozen=True)
class EmbeddedRow:
    scenario: str
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    over_ms: dict[str, int]
    non2xx: int
    statuses: dict[str, int]
    socket_errors: int

    @property
    def failures(self) -> list[str]:
        out = []
        if self.requests <= 0:
            out.append(f"embedded/{self.scenario}: zero throughput")
        if self.non2xx:
            out.append(f"embedded/{self.scenario}: {self.non2xx} non-2xx {self.statuses}")
        if self.socket_errors:
            out.append(f"embedded/{self.scenario}: {self.socket_errors} socket errors")
        return out


def _wrk(script: str, url: str, duration: int, env_extra: dict[str, str]) -> dict[str, Any]:
    env = wrk_env(env_extra)
    cmd = wrk_command(script, url, 1, CONNECTIONS, duration)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    found: dict[str, Any] = {}
    for line in out.stdout.splitlines():
        for key in ("BENCH_JSON", "BENCH_TAIL"):
            if line.startswith(key + " "):
                found[key] = json.loads(line[len(key) + 1 :])
    if out.returncode != 0 or len(found) != 2:
        raise RuntimeError(f"wrk failed ({out.returncode}): {' '.join(cmd)}\n{out.stdout}")
    return {**found["BENCH_JSON"], **found["BENCH_TAIL"]}


def _row(scenario: str, data: dict[str, Any]) -> EmbeddedRow:
    lat = data["latency_us"]
    errs = data["errors"]
    seconds = data["duration_us"] / 1e6
    return EmbeddedRow(
        scenario=scenario,
        requests=int(data["requests"]),
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=lat["p50"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000,
        max_ms=lat["max"] / 1000,
        over_ms={k: int(v) for k, v in data["over_ms"].items()},
        non2xx=int(data["non2xx"]),
        statuses=data["statuses"],
        socket_errors=errs["connect"] + errs["read"] + errs["write"] + errs["timeout"],
    )


def _seed(base: str, data_dir: Path, tasks: int) -> tuple[str, Path]:
    """One user with `tasks` tasks, created through the API; returns a token and ids."""
    email, password = "embedded@bench.taskhub.dev", secrets.token_urlsafe(18)
    body = {"email": email, "password": password, "display_name": "embedded"}
    status, answer = http("POST", f"{base}/api/v1/auth/register", json_body=body)
    if status != 201:
        raise RuntimeError(f"register: HTTP {status} {answer}")
    form = {"username": email, "password": password}
    status, answer = http("POST", f"{base}/api/v1/auth/token", form=form)
    if status != 200 or not isinstance(answer, dict):
        raise RuntimeError(f"login: HTTP {status} {answer}")
    token = str(answer["access_token"])
    for i in range(tasks):
        title = {"title": f"Seeded task {i}"}
        status, answer = http("POST", f"{base}/api/v1/tasks", json_body=title, token=token)
        if status != 201:
            raise RuntimeError(f"seed task {i}: HTTP {status} {answer}")
    with sqlite3.connect(data_dir / "taskhub.db") as db:
        # SQLite stores the UUIDs as 32 hex digits; the API's paths use the dashed form.
        ids = [str(uuid.UUID(str(r[0]))) for r in db.execute("SELECT id FROM tasks")]
    ids_file = data_dir / "task_ids.txt"
    ids_file.write_text("".join(f"{i}\n" for i in ids))
    return token, ids_file


def _drain_jobs(data_dir: Path, within: float = 120.0) -> None:
    """Wait for the outbox to empty, so a scenario does not pay for the previous one's jobs."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with sqlite3.connect(data_dir / "taskhub.db") as db:
            (left,) = db.execute(
                "SELECT count(*) FROM outbox WHERE status IN ('pending', 'running')"
            ).fetchone()
        if left == 0:
            return
        time.sleep(0.5)
    log(f"embedded: outbox not drained after {within:.0f}s; measuring anyway")


def run(duration: int, log_dir: Path, seed_tasks: int = SEED_TASKS) -> list[EmbeddedRow]:
    """Start `taskhub serve` on a fresh SQLite file, seed it, run every scenario once."""
    if not port_free(PORT):
        raise RuntimeError(f"port {PORT} is busy; stop whatever listens there first")
    data_dir = Path(tempfile.mkdtemp(prefix="taskhub-embedded-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKHUB_")}
    env.update(
        TASKHUB_DATA_DIR=str(data_dir),
        TASKHUB_RATE_LIMIT_PER_MINUTE="0",
        TASKHUB_ACCESS_LOG="false",
        TASKHUB_LOG_LEVEL="warning",
    )
    cmd = [taskhub_bin(), "serve", "--host", "127.0.0.1", "--port", str(PORT)]
    log_path = log_dir / "embedded.log"
    log(f"embedded: {' '.join(cmd[1:])} on SQLite in {data_dir}")
    proc = procs.start_process(cmd, env, log_path, REPO)
    rows: list[EmbeddedRow] = []
    try:
        base = f"http://127.0.0.1:{PORT}"
        procs.wait_http_ok(f"{base}/readyz", proc, log_path)
        token, ids_file = _seed(base, data_dir, seed_tasks)
        extra = {"BENCH_TOKEN": token, "BENCH_IDS_FILE": str(ids_file)}
        for scenario, script in SCENARIOS.items():
            _drain_jobs(data_dir)
            row = _row(scenario, _wrk(script, base + "/", duration, extra))
            log(
                f"embedded  {scenario:7s} c={CONNECTIONS:<4d} {row.rps:9,.0f} req/s  "
                f"p99 {row.p99_ms:8.2f} ms  max {row.max_ms:8.2f} ms  "
                f">250ms {row.over_ms['250']}  non2xx {row.non2xx}"
            )
            rows.append(row)
    finally:
        procs.stop_process(proc)
        shutil.rmtree(data_dir, ignore_errors=True)
    return rows


def markdown(rows: list[EmbeddedRow], duration: int) -> str:
    lines = [
        f"### Embedded default (SQLite, `taskhub serve`, one process), "
        f"`wrk -t1 -c{CONNECTIONS} -d{duration}s`",
        "",
        f"Targets (issue 14): p99 < {TARGET_P99_MS:.0f} ms and nothing over "
        f"{TARGET_MAX_MS:.0f} ms for create and the mix.",
        "",
        "| workload | req/s | p50 ms | p90 ms | p99 ms | max ms | >50 ms | >250 ms "
        "| >2 s | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {LABEL[r.scenario]} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p90_ms:.1f} "
            f"| {r.p99_ms:.1f} | {r.max_ms:.1f} | {r.over_ms['50']} | {r.over_ms['250']} "
            f"| {r.over_ms['2000']} | {r.non2xx} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embedded", description=__doc__)
    parser.add_argument("--duration", type=int, default=20)
    args = parser.parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="taskhub-embedded-logs-"))
    rows = run(args.duration, log_dir)
    print(markdown(rows, args.duration))
    failures = [f for r in rows for f in r.failures]
    for failure in failures:
        log(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
