"""taskhub against a Django REST Framework peer, interleaved A/B/A/B (issue 14).

Both sides run on the same PostgreSQL server, each in its own database, with the same
data (2 users x 1,000 tasks), 2 worker processes, no Redis and no broker:

- taskhub: `taskhub migrate` + `taskhub serve --workers 2`, seeded like `make bench`;
- DRF: bench/peers/drf (ModelSerializer, generic views, TokenAuthentication,
  IsAuthenticated, page-number pagination, DEBUG=False, CONN_MAX_AGE) under gunicorn
  with 2 sync workers, from its own venv (.venv/drf, `make bench-drf-deps`).

Every scenario (GET one task, list first 20, create) at every connection count runs
taskhub, DRF, taskhub, DRF with the same wrk command and Lua scripts; the table shows the
mean of the rounds. Nothing is asserted about speed; smoke mode runs one round at 64
connections and fails only if a request failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

from bench import procs, report
from bench.run import (
    BENCH_DIR,
    LIST_PATH,
    REPO,
    BenchRun,
    Config,
    Scale,
    http,
    log,
    port_free,
    sql,
)

PEER_DIR = BENCH_DIR / "peers" / "drf"
PEER_VENV = REPO / ".venv" / "drf"
SCENARIOS = ["get", "list", "create"]
LABEL = {"get": "GET one task", "list": "list first 20", "create": "create"}
PEER_SCALE = Scale(users=2, bench_tasks=1_000, other_tasks_total=1_000)
TASKHUB_PORT = 8771
DRF_PORT = 8772
TASKHUB_DB = "taskhub_bench_peer"
DRF_DB = "taskhub_bench_drf"


@dataclass
class PeerConfig(Config):
    """The harness's Config, pinned to the comparison's data set."""

    @property
    def scale(self) -> Scale:
        return PEER_SCALE


def _side_config(cfg: Config, db_name: str, port: int) -> PeerConfig:
    return PeerConfig(
        **{
            **{f: getattr(cfg, f) for f in Config.__dataclass_fields__},
            "db_name": db_name,
            "port": port,
            "redis": False,
            "keep_db": False,
        }
    )


class DrfPeer:
    """The peer's database, seed and gunicorn, driven through its own venv."""

    def __init__(self, side: BenchRun) -> None:
        self.side = side
        self.token = ""
        self.ids_file = side.log_dir / "drf_task_ids.txt"
        pg = side.cfg.pg
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "drfpeer.settings",
            "DRF_DB_NAME": side.cfg.db_name,
            "DRF_DB_USER": pg.username or "postgres",
            "DRF_DB_PASSWORD": pg.password or "",
            "DRF_DB_HOST": pg.hostname or "127.0.0.1",
            "DRF_DB_PORT": str(pg.port or 5432),
            "DRF_SECRET_KEY": side.secret,
        }

    def manage(self, *args: str) -> str:
        python = PEER_VENV / "bin" / "python"
        if not python.exists():
            raise RuntimeError(f"{python} is missing: run `make bench-drf-deps` first")
        out = subprocess.run(
            [str(python), "manage.py", *args],
            cwd=PEER_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)}:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def prepare(self) -> None:
        db = self.side.cfg.db_name
        log(f"DRF peer: creating database {db}, migrate, seed")
        sql(
            self.side.cfg.admin_dsn,
            f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)',
            f'CREATE DATABASE "{db}"',
        )
        self.side.state.db_created = True
        self.manage("migrate", "-v0")
        scale = PEER_SCALE
        per_user = scale.tasks_total // scale.users
        self.token = self.manage(
            "seed",
            "--users",
            str(scale.users),
            "--tasks",
            str(per_user),
            "--ids-file",
            str(self.ids_file),
        ).strip()
        sql(self.side.cfg.bench_dsn, "VACUUM ANALYZE")

    def start(self) -> subprocess.Popen[bytes]:
        cmd = [
            str(PEER_VENV / "bin" / "gunicorn"),
            "drfpeer.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{DRF_PORT}",
            "--chdir",
            str(PEER_DIR),
        ]
        log(f"starting the DRF peer: gunicorn {' '.join(cmd[1:])}")
        if not port_free(DRF_PORT):
            raise RuntimeError(f"port {DRF_PORT} is busy; stop whatever listens there first")
        log_path = self.side.log_dir / "drf.log"
        proc = procs.start_process(cmd, self.env, log_path, REPO)
        self.side.state.servers.append(proc)
        # Every endpoint needs a token, so readiness is the first authenticated 200.
        url = f"http://127.0.0.1:{DRF_PORT}{LIST_PATH}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {procs.tail(log_path)}")
            try:
                status, body = http("GET", url, token=self.token, timeout=2)
            except OSError as exc:
                status, body = 0, str(exc)
            if status == 200:
                return proc
            if time.monotonic() > deadline:
                raise RuntimeError(f"DRF peer not ready: HTTP {status} {body}")
            time.sleep(0.2)


@dataclass(frozen=True)
class Pair:
    scenario: str
    connections: int
    taskhub: list[report.Row]
    drf: list[report.Row]

    def avg(self, side: str, key: str) -> float | None:
        rows = self.taskhub if side == "taskhub" else self.drf
        values = [r[key] for r in rows if r.get(key) is not None]
        return mean(values) if values else None

    @property
    def ratio(self) -> float | None:
        ours, theirs = self.avg("taskhub", "rps"), self.avg("drf", "rps")
        return ours / theirs if ours and theirs else None


def run(cfg: Config, log_dir: Path) -> dict[str, Any]:
    """Both servers up, every scenario A/B/A/B; returns the rows and the pairs."""
    rounds = 1 if cfg.smoke else 2
    connections = [64] if cfg.smoke else [64, 256]
    taskhub = BenchRun(_side_config(cfg, TASKHUB_DB, TASKHUB_PORT))
    drf = BenchRun(_side_config(cfg, DRF_DB, DRF_PORT))
    for side in (taskhub, drf):
        side.log_dir = log_dir / "drf-peer"
        side.log_dir.mkdir(parents=True, exist_ok=True)
    pairs: list[Pair] = []
    try:
        taskhub.create_database()
        drf.postmaster = taskhub.postmaster
        taskhub.migrate()
        th_proc = taskhub.start_taskhub("peer-taskhub", port=TASKHUB_PORT, workers=2, redis=False)
        base = f"http://127.0.0.1:{TASKHUB_PORT}"
        seeded = taskhub.seed(base)
        peer = DrfPeer(drf)
        peer.prepare()
        drf_proc = peer.start()
        for conns in connections:
            for scenario in SCENARIOS:
                pair = Pair(scenario, conns, [], [])
                for _ in range(rounds):
                    env = {
                        "BENCH_TOKEN": taskhub.login(base, seeded.email, seeded.password),
                        "BENCH_IDS_FILE": str(seeded.ids_file),
                        "BENCH_PATH": LIST_PATH,
                    }
                    taskhub.drain_jobs()
                    pair.taskhub.append(
                        taskhub.measure("taskhub", scenario, conns, base + "/", th_proc, env)
                    )
                    time.sleep(1)
                    env = {
                        "BENCH_TOKEN": peer.token,
                        "BENCH_IDS_FILE": str(peer.ids_file),
                        "BENCH_PATH": LIST_PATH,
                    }
                    drf_url = f"http://127.0.0.1:{DRF_PORT}/"
                    pair.drf.append(drf.measure("drf", scenario, conns, drf_url, drf_proc, env))
                    time.sleep(1)
                pairs.append(pair)
    finally:
        taskhub.teardown()
        drf.teardown()
    return {
        "rounds": rounds,
        "duration_s": cfg.duration,
        "wrk": f"wrk -t2 -cN -d{cfg.duration}s --latency --timeout 5s",
        "pairs": [
            {
                "scenario": p.scenario,
                "connections": p.connections,
                "taskhub_rps": p.avg("taskhub", "rps"),
                "drf_rps": p.avg("drf", "rps"),
                "ratio": p.ratio,
                "taskhub_p99_ms": p.avg("taskhub", "p99_ms"),
                "drf_p99_ms": p.avg("drf", "p99_ms"),
                "taskhub_cpu_ms": p.avg("taskhub", "server_cpu_ms"),
                "drf_cpu_ms": p.avg("drf", "server_cpu_ms"),
                "taskhub_pg_cpu_ms": p.avg("taskhub", "pg_cpu_ms"),
                "drf_pg_cpu_ms": p.avg("drf", "pg_cpu_ms"),
                "taskhub_socket_errors": sum(r["socket_errors"] for r in p.taskhub),
                "drf_socket_errors": sum(r["socket_errors"] for r in p.drf),
                "taskhub_peak_rss_mib": max(r["peak_rss_mib"] for r in p.taskhub),
                "drf_peak_rss_mib": max(r["peak_rss_mib"] for r in p.drf),
            }
            for p in pairs
        ],
        "rows": [r for p in pairs for r in (*p.taskhub, *p.drf)],
    }


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"### taskhub vs Django REST Framework ({result['wrk']}, mean of "
        f"{result['rounds']} interleaved rounds)",
        "",
        "Same PostgreSQL, same data (2 users x 1,000 tasks), 2 workers each, no Redis. "
        "CPU ms/req: the server's process tree; PG: that side's database backends.",
        "",
        "| scenario | conns | taskhub req/s | DRF req/s | ratio | taskhub p99 ms | DRF p99 ms "
        "| taskhub CPU ms/req | DRF CPU ms/req | taskhub PG ms/req | DRF PG ms/req "
        "| sock err (taskhub/DRF) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in result["pairs"]:
        lines.append(
            f"| {LABEL[p['scenario']]} | {p['connections']} | {_f(p['taskhub_rps'], ',.0f')} "
            f"| {_f(p['drf_rps'], ',.0f')} | {_f(p['ratio'], '.2f')}x "
            f"| {_f(p['taskhub_p99_ms'], '.1f')} | {_f(p['drf_p99_ms'], '.1f')} "
            f"| {_f(p['taskhub_cpu_ms'], '.3f')} | {_f(p['drf_cpu_ms'], '.3f')} "
            f"| {_f(p['taskhub_pg_cpu_ms'], '.3f')} | {_f(p['drf_pg_cpu_ms'], '.3f')} "
            f"| {p['taskhub_socket_errors']}/{p['drf_socket_errors']} |"
        )
    return "\n".join(lines)


def failures(result: dict[str, Any]) -> list[str]:
    out = []
    for r in result["rows"]:
        name = f"{r['pass']}/{r['scenario']}/c{r['connections']}"
        if r["requests"] <= 0:
            out.append(f"{name}: zero throughput")
        if r["non2xx"] or r["socket_errors"]:
            out.append(f"{name}: {r['non2xx']} non-2xx, {r['socket_errors']} socket errors")
    return out


def main(argv: list[str] | None = None) -> int:
    from bench.run import parse_args

    cfg = parse_args(argv)
    result = run(cfg, cfg.results_dir / "logs" / time.strftime("%Y%m%dT%H%M%SZ"))
    print(markdown(result))
    problems = failures(result)
    for problem in problems:
        log(problem)
    # Like bench.run: only smoke mode fails on errors; a full run reports them.
    return 1 if problems and cfg.smoke else 0


if __name__ == "__main__":
    sys.exit(main())
