"""`make bench`: seed taskhub, drive wrk against it and against a bare ASGI ceiling, report.

Run from the repository root as `python -m bench.run` (or `python bench/run.py`).
Every number is produced by this one process so that a run is reproducible from its
JSON: settings, versions and load average are recorded next to the measurements.
See bench/README.md for what each column means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # `python bench/run.py`: make `bench` importable as a package from the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from bench import procs, report
from bench.pgcount import CountingProxy

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
LUA_DIR = BENCH_DIR / "lua"

SCENARIOS = ["get", "list", "deep", "search", "create", "patch", "mix"]
SCENARIO_SCRIPT = {
    "ceiling": "static.lua",
    "get": "get.lua",
    "list": "static.lua",
    "deep": "static.lua",
    "search": "static.lua",
    "create": "create.lua",
    "patch": "patch.lua",
    "mix": "mix.lua",
}
MIX_WEIGHTS = {"get": 0.60, "list": 0.20, "create": 0.15, "patch": 0.05}  # as in lua/mix.lua
LIST_PATH = "/api/v1/tasks?limit=20"
# A word search (SPEC §4 `q`) for a word one of the bench user's tasks holds ("Seeded task
# 742") and, at the large scale, each other user's too: ~1,000 matches in the table.
SEARCH_PATH = "/api/v1/tasks?q=742&limit=20"
DEEP_PAGES = 50
WRK_TIMEOUT_S = 5
SQL_COUNT_REQUESTS = 100
BENCH_EMAIL_DOMAIN = "bench.taskhub.dev"


@dataclass(frozen=True)
class Scale:
    users: int
    bench_tasks: int
    other_tasks_total: int

    @property
    def tasks_total(self) -> int:
        return self.bench_tasks + self.other_tasks_total


# small: the other 9 users get 100 tasks each so the bench user's rows are not the whole table.
SCALES = {
    "small": Scale(users=10, bench_tasks=1_000, other_tasks_total=900),
    "large": Scale(users=1_000, bench_tasks=100_000, other_tasks_total=900_000),
}


@dataclass
class Config:
    scale_name: str
    duration: int
    smoke: bool
    connections: list[int]
    scenarios: list[str]
    redis: bool
    redis_url: str
    keep_db: bool
    admin_dsn: str
    db_name: str
    port: int
    ceiling_port: int
    count_port: int
    proxy_port: int
    results_dir: Path

    @property
    def scale(self) -> Scale:
        return SCALES[self.scale_name]

    @property
    def pg(self) -> urllib.parse.SplitResult:
        return urllib.parse.urlsplit(self.admin_dsn)

    def db_url(self, port: int | None = None) -> str:
        pg = self.pg
        user = pg.username or "postgres"
        auth = user if pg.password is None else f"{user}:{pg.password}"
        return f"postgresql+asyncpg://{auth}@{pg.hostname}:{port or pg.port or 5432}/{self.db_name}"

    @property
    def bench_dsn(self) -> str:
        return self.pg._replace(path=f"/{self.db_name}").geturl()


@dataclass
class Seeded:
    email: str
    password: str
    ids_file: Path
    deep_path: str
    deep_pages: int


@dataclass
class State:
    """Everything teardown must undo, filled in as the run goes."""

    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    proxy: CountingProxy | None = None
    db_created: bool = False


# --------------------------------------------------------------------------- helpers


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def http(
    method: str,
    url: str,
    *,
    json_body: Any = None,
    form: dict[str, str] | None = None,
    token: str | None = None,
    timeout: float = 30,
) -> tuple[int, Any]:
    data: bytes | None = None
    headers = {"Accept": "application/json"}
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        status = exc.code
    try:
        return status, json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return status, raw.decode(errors="replace")


def wrk_env(extra: dict[str, str]) -> dict[str, str]:
    """wrk's environment: the Lua scripts find common.lua through BENCH_LUA_DIR."""
    return dict(os.environ, BENCH_LUA_DIR=str(LUA_DIR), **extra)


def wrk_command(script: str, url: str, threads: int, conns: int, seconds: int) -> list[str]:
    """One wrk run of lua/`script` against `url` (its done() prints BENCH_JSON)."""
    return [
        "wrk",
        f"-t{threads}",
        f"-c{conns}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        f"{WRK_TIMEOUT_S}s",
        "-s",
        str(LUA_DIR / script),
        url,
    ]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def redis_up(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


async def _sql(dsn: str, *statements: str) -> list[Any]:
    conn = await asyncpg.connect(dsn)
    try:
        return [await conn.fetch(stmt) for stmt in statements]
    finally:
        await conn.close()


def sql(dsn: str, *statements: str) -> list[Any]:
    return asyncio.run(_sql(dsn, *statements))


def taskhub_bin() -> str:
    candidate = Path(sys.executable).parent / "taskhub"
    found = str(candidate) if candidate.exists() else shutil.which("taskhub")
    if not found:
        raise SystemExit("bench: the `taskhub` command is not installed in this environment")
    return found


def wrk_version() -> str:
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else "?"


# --------------------------------------------------------------------------- the run


class BenchRun:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.state = State()
        self.stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.log_dir = cfg.results_dir / "logs" / self.stamp
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.secret = secrets.token_urlsafe(36)  # 48 characters
        self.pgss = False
        self.postmaster: int | None = None
        self.rows: list[report.Row] = []
        self.notes: list[str] = []
        self.seeded: Seeded | None = None

    # -- environment ------------------------------------------------------------------
    def app_env(self, *, redis: bool, db_port: int | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKHUB_")}
        env.update(
            TASKHUB_DATABASE_URL=self.cfg.db_url(db_port),
            TASKHUB_SECRET_KEY=self.secret,
            TASKHUB_RATE_LIMIT_PER_MINUTE="0",
            TASKHUB_ACCESS_LOG="false",
            TASKHUB_LOG_LEVEL="warning",
            TASKHUB_DATA_DIR=str(self.log_dir / "data"),
        )
        if redis:
            env["TASKHUB_REDIS_URL"] = self.cfg.redis_url
        if db_port is not None:
            # The counting pass measures the database path: a 1-worker server would
            # otherwise answer repeated GETs and first pages from its in-process cache.
            env["TASKHUB_LOCAL_CACHE"] = "false"
        return env

    # -- database ---------------------------------------------------------------------
    def create_database(self) -> None:
        db = self.cfg.db_name
        log(f"creating database {db}")
        sql(
            self.cfg.admin_dsn,
            f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)',
            f'CREATE DATABASE "{db}"',
        )
        self.state.db_created = True
        _pid, self.server_version, stat = asyncio.run(self._backend_probe())
        # PostgreSQL CPU can only be read when the server runs on this machine; the parent
        # of our own backend (read while it is still connected) is the postmaster.
        self.postmaster = stat.ppid if stat is not None else None
        if self.postmaster is None:
            self.notes.append("PostgreSQL is not a local process: PG CPU per request not measured.")
        try:
            sql(
                self.cfg.bench_dsn,
                "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
                "SELECT count(*) FROM pg_stat_statements",
            )
            self.pgss = True
        except asyncpg.PostgresError as exc:
            # Typically "pg_stat_statements must be loaded via shared_preload_libraries".
            self.pgss = False
            self.notes.append(
                "pg_stat_statements unavailable on this server "
                f"({type(exc).__name__}: {str(exc).splitlines()[0]}); SQL/req and xact/req "
                "come from the wire-protocol counting pass instead."
            )

    async def _backend_probe(self) -> tuple[int, str, procs.ProcStat | None]:
        conn = await asyncpg.connect(self.cfg.bench_dsn)
        try:
            pid = int(await conn.fetchval("SELECT pg_backend_pid()"))
            version = str(await conn.fetchval("SHOW server_version"))
            return pid, version, procs.read_stat(pid)
        finally:
            await conn.close()

    def drop_database(self) -> None:
        if self.state.db_created and not self.cfg.keep_db:
            sql(self.cfg.admin_dsn, f'DROP DATABASE IF EXISTS "{self.cfg.db_name}" WITH (FORCE)')
            self.state.db_created = False

    def migrate(self) -> None:
        log("taskhub migrate")
        out = subprocess.run(
            [taskhub_bin(), "migrate"],
            env=self.app_env(redis=False),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(
                f"taskhub migrate failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
            )

    # -- servers ----------------------------------------------------------------------
    def start(
        self, name: str, cmd: list[str], env: dict[str, str], port: int, probe: str
    ) -> subprocess.Popen[bytes]:
        if not port_free(port):
            raise RuntimeError(f"port {port} is busy; stop whatever listens there first")
        log_path = self.log_dir / f"{name}.log"
        proc = procs.start_process(cmd, env, log_path, REPO)
        self.state.servers.append(proc)
        procs.wait_http_ok(f"http://127.0.0.1:{port}{probe}", proc, log_path)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        procs.stop_process(proc)
        if proc in self.state.servers:
            self.state.servers.remove(proc)

    def start_taskhub(
        self, name: str, *, port: int, workers: int, redis: bool, db_port: int | None = None
    ) -> subprocess.Popen[bytes]:
        cmd = [
            taskhub_bin(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        log(f"starting taskhub ({name}): {' '.join(cmd[1:])}")
        return self.start(name, cmd, self.app_env(redis=redis, db_port=db_port), port, "/readyz")

    # -- seeding ----------------------------------------------------------------------
    def seed(self, base: str) -> Seeded:
        scale = self.cfg.scale
        password = secrets.token_urlsafe(18)
        emails = [f"bench{i}@{BENCH_EMAIL_DOMAIN}" for i in range(scale.users)]
        log(f"registering {scale.users} users through the API")

        def register(email: str) -> None:
            status, body = http(
                "POST",
                f"{base}/api/v1/auth/register",
                json_body={
                    "email": email,
                    "password": password,
                    "display_name": email.split("@")[0],
                },
            )
            if status != 201:
                raise RuntimeError(f"register {email}: HTTP {status} {body}")

        # Registration hashes with Argon2 (tens of ms): a few in parallel keep both workers busy.
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(register, emails))

        log(f"inserting {scale.tasks_total:,} tasks with SQL")
        start = time.monotonic()
        asyncio.run(self._insert_tasks(emails))
        log(f"seeded in {time.monotonic() - start:.1f}s; VACUUM ANALYZE")
        # VACUUM as well as ANALYZE: it sets the visibility map, so index-only scans behave
        # as they would on a table that has lived for a while rather than one just bulk-loaded.
        sql(self.cfg.bench_dsn, "VACUUM ANALYZE")
        ids = sql(
            self.cfg.bench_dsn,
            f"SELECT t.id::text AS id FROM tasks t JOIN users u ON u.id = t.owner_id "
            f"WHERE u.email = '{emails[0]}'",
        )[0]
        ids_file = self.log_dir / "task_ids.txt"
        ids_file.write_text("".join(f"{r['id']}\n" for r in ids))
        token = self.login(base, emails[0], password)
        deep_path, pages = self.deep_cursor(base, token)
        return Seeded(emails[0], password, ids_file, deep_path, pages)

    async def _insert_tasks(self, emails: list[str]) -> None:
        scale = self.cfg.scale
        conn = await asyncpg.connect(self.cfg.bench_dsn)
        try:
            users = {r["email"]: r["id"] for r in await conn.fetch("SELECT id, email FROM users")}
            missing = [e for e in emails if e not in users]
            if missing:
                raise RuntimeError(f"registered users not found in table users: {missing[:3]}")
            others = emails[1:]
            counts = [scale.bench_tasks] + [
                scale.other_tasks_total // len(others)
                + (1 if i < scale.other_tasks_total % len(others) else 0)
                for i in range(len(others))
            ]
            owner_ids = [users[e] for e in emails]
            # One statement for the whole data set: generate_series per owner. created_at is
            # spaced one second apart (ending a day ago) so orderings are total and new tasks
            # created during the run sort first; position is 1..n within the owner's inbox.
            await conn.execute(
                """
                INSERT INTO tasks (id, owner_id, project_id, parent_id, title, description, done,
                                   priority, due_at, labels, position, created_at, updated_at,
                                   completed_at, version)
                SELECT gen_random_uuid(), p.owner_id, NULL, NULL,
                       'Seeded task ' || g,
                       CASE WHEN g % 4 = 0 THEN 'Notes for seeded task ' || g ELSE '' END,
                       g % 5 = 0,
                       (g % 5)::smallint,
                       CASE WHEN g % 3 = 0 THEN base.t + (g % 90) * interval '1 day' END,
                       (ARRAY['[]', '["work"]', '["home", "errand"]',
                              '["work", "urgent"]'])[1 + g % 4]::jsonb,
                       g,
                       base.t - (p.n - g) * interval '1 second',
                       base.t - (p.n - g) * interval '1 second',
                       CASE WHEN g % 5 = 0 THEN base.t - (p.n - g) * interval '1 second' END,
                       1
                FROM unnest($1::uuid[], $2::int[]) AS p(owner_id, n)
                CROSS JOIN (SELECT now() - interval '1 day' AS t) AS base
                CROSS JOIN LATERAL generate_series(1, p.n) AS g
                """,
                owner_ids,
                counts,
            )
        finally:
            await conn.close()

    def login(self, base: str, email: str, password: str) -> str:
        status, body = http(
            "POST", f"{base}/api/v1/auth/token", form={"username": email, "password": password}
        )
        if status != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise RuntimeError(f"login failed: HTTP {status} {body}")
        return str(body["access_token"])

    def deep_cursor(self, base: str, token: str) -> tuple[str, int]:
        """Follow next_cursor to page ~50 (or the last page of a smaller data set)."""
        cursor: str | None = None
        pages = 1
        url = f"{base}{LIST_PATH}"
        for _ in range(DEEP_PAGES - 1):
            status, body = http("GET", url, token=token)
            if status != 200:
                raise RuntimeError(f"listing for the deep cursor: HTTP {status} {body}")
            nxt = body.get("next_cursor") if isinstance(body, dict) else None
            if not nxt:
                break
            cursor = nxt
            pages += 1
            url = f"{base}{LIST_PATH}&cursor={urllib.parse.quote(nxt, safe='')}"
        if cursor is None:
            raise RuntimeError("the bench user's list has a single page; no cursor to benchmark")
        return f"{LIST_PATH}&cursor={urllib.parse.quote(cursor, safe='')}", pages

    # -- wrk --------------------------------------------------------------------------
    def wrk(
        self, scenario: str, url: str, conns: int, env_extra: dict[str, str]
    ) -> tuple[dict[str, Any], float]:
        env = wrk_env(env_extra)
        cmd = wrk_command(SCENARIO_SCRIPT[scenario], url, 2, conns, self.cfg.duration)
        # One merged pipe read to EOF: a second pipe could fill up while we block on the first.
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        out = proc.stdout.read().decode(errors="replace")
        # wait4 rather than wait(): it also hands back wrk's own CPU time (load-generator cost).
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        lines = [ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {' '.join(cmd)}\n{out}")
        return json.loads(lines[-1][len("BENCH_JSON ") :]), usage.ru_utime + usage.ru_stime

    def pgss_reset(self) -> None:
        if self.pgss:
            sql(self.cfg.bench_dsn, "SELECT pg_stat_statements_reset()")

    def pgss_calls(self) -> int | None:
        if not self.pgss:
            return None
        rows = sql(
            self.cfg.bench_dsn,
            r"""SELECT coalesce(sum(s.calls), 0)::bigint AS calls FROM pg_stat_statements s
                JOIN pg_database d ON d.oid = s.dbid
                WHERE d.datname = current_database()
                  AND s.query !~* '^\s*(begin|start|commit|end|rollback|abort|savepoint|release)\M'
                  AND s.query NOT ILIKE '%pg_stat_statements%'""",
        )
        return int(rows[0][0]["calls"])

    def measure(
        self,
        pass_name: str,
        scenario: str,
        conns: int,
        url: str,
        server: subprocess.Popen[bytes],
        env_extra: dict[str, str],
    ) -> report.Row:
        self.pgss_reset()
        sampler = procs.Sampler(server.pid, self.postmaster, self.cfg.db_name)
        sampler.start()
        try:
            data, wrk_cpu = self.wrk(scenario, url, conns, env_extra)
        finally:
            usage = sampler.stop()
        calls = self.pgss_calls()
        requests = int(data["requests"])
        seconds = data["duration_us"] / 1e6
        lat = data["latency_us"]
        errs = data["errors"]
        rps = requests / seconds if seconds else 0.0
        per_req = (lambda x: x * 1000 / requests) if requests else (lambda _x: None)
        row: report.Row = {
            "pass": pass_name,
            "scenario": scenario,
            "connections": conns,
            "requests": requests,
            "duration_s": round(seconds, 3),
            "rps": rps,
            "p50_ms": lat["p50"] / 1000,
            "p90_ms": lat["p90"] / 1000,
            "p99_ms": lat["p99"] / 1000,
            "mean_ms": lat["mean"] / 1000,
            "max_ms": lat["max"] / 1000,
            "non2xx": int(data["non2xx"]),
            "statuses": data["statuses"],
            "socket_errors": errs["connect"] + errs["read"] + errs["write"] + errs["timeout"],
            "socket_error_detail": errs,
            # Little's law: requests in flight on average = throughput x mean latency.
            "served": rps * lat["mean"] / 1e6,
            "server_cpu_ms": per_req(usage.server_cpu_s),
            "pg_cpu_ms": per_req(usage.pg_cpu_s) if self.postmaster is not None else None,
            "wrk_cpu_ms": per_req(wrk_cpu),
            "sql_per_req": (calls / requests if requests else None) if calls is not None else None,
            "peak_rss_mib": usage.server_peak_rss_bytes / 2**20,
            "hwm_rss_mib": usage.server_hwm_bytes / 2**20,
            "server_processes": usage.server_pids,
            "pg_processes": usage.pg_pids,
            "rss_by_process_mib": usage.per_process_peak_mib,
        }
        log(
            f"{pass_name:9s} {scenario:7s} c={conns:<4d} {rps:9,.0f} req/s  "
            f"p99 {row['p99_ms']:8.2f} ms  "
            f"non2xx {row['non2xx']}  sockerr {row['socket_errors']}  "
            f"cpu {row['server_cpu_ms'] or 0:.3f} ms/req"
        )
        return row

    # -- passes -----------------------------------------------------------------------
    def ceiling_pass(self) -> None:
        port = self.cfg.ceiling_port
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.ceiling:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--no-server-header",
            "--log-level",
            "warning",
        ]
        log("starting the bare ASGI ceiling")
        proc = self.start("ceiling", cmd, dict(os.environ), port, "/")
        try:
            for conns in self.cfg.connections:
                self.rows.append(
                    self.measure(
                        "ceiling",
                        "ceiling",
                        conns,
                        f"http://127.0.0.1:{port}/",
                        proc,
                        {"BENCH_PATH": "/"},
                    )
                )
                time.sleep(1)
        finally:
            self.stop(proc)

    def app_pass(self, pass_name: str, *, redis: bool) -> None:
        port = self.cfg.port
        base = f"http://127.0.0.1:{port}"
        proc = self.start_taskhub(pass_name, port=port, workers=2, redis=redis)
        try:
            if self.seeded is None:
                self.seeded = self.seed(base)
            seeded = self.seeded
            for scenario in self.cfg.scenarios:
                for conns in self.cfg.connections:
                    # A fresh token per scenario: access tokens are short-lived by design.
                    env = {
                        "BENCH_TOKEN": self.login(base, seeded.email, seeded.password),
                        "BENCH_IDS_FILE": str(seeded.ids_file),
                        "BENCH_PATH": {"list": LIST_PATH, "search": SEARCH_PATH}.get(
                            scenario, seeded.deep_path
                        ),
                    }
                    self.drain_jobs()
                    self.rows.append(
                        self.measure(pass_name, scenario, conns, base + "/", proc, env)
                    )
                    time.sleep(1)  # let the server finish what wrk abandoned mid-flight
        finally:
            self.stop(proc)

    def drain_jobs(self, within: float = 180.0) -> None:
        """Wait until earlier writes' background jobs have run.

        Every PATCH queues an activity job that the in-process runner executes after the
        response; without this wait a scenario pays for the previous one's backlog (seen:
        the deep-page read after a patch run at a quarter of its throughput).
        """
        query = "SELECT count(*) FROM outbox WHERE status IN ('pending', 'running')"
        deadline = time.monotonic() + within
        while True:
            left = int(sql(self.cfg.bench_dsn, query)[0][0][0])
            if left == 0:
                return
            if time.monotonic() > deadline:
                log(f"outbox still has {left} jobs after {within:.0f}s; measuring anyway")
                return
            time.sleep(0.5)

    def sql_count_pass(self) -> dict[str, Any]:
        """Sequential requests through the counting proxy: exact statements per request.

        It runs before the load passes (and seeds the data set itself): the in-process job
        runner would otherwise drain the outbox backlog that thousands of wrk writes left,
        and its statements would be counted against whatever scenario runs meanwhile.
        """
        proxy = CountingProxy(
            self.cfg.proxy_port, self.cfg.pg.hostname or "127.0.0.1", self.cfg.pg.port or 5432
        )
        proxy.start()
        self.state.proxy = proxy
        port = self.cfg.count_port
        base = f"http://127.0.0.1:{port}"
        proc = self.start_taskhub(
            "sqlcount", port=port, workers=1, redis=False, db_port=self.cfg.proxy_port
        )
        if self.seeded is None:
            self.seeded = self.seed(base)
        seeded = self.seeded
        ids = seeded.ids_file.read_text().split()
        rng = random.Random(4)
        results: dict[str, Any] = {}
        try:
            token = self.login(base, seeded.email, seeded.password)

            def one(scenario: str, i: int) -> int:
                if scenario == "get":
                    return http("GET", f"{base}/api/v1/tasks/{rng.choice(ids)}", token=token)[0]
                if scenario == "list":
                    return http("GET", base + LIST_PATH, token=token)[0]
                if scenario == "deep":
                    return http("GET", base + seeded.deep_path, token=token)[0]
                if scenario == "search":
                    return http("GET", base + SEARCH_PATH, token=token)[0]
                if scenario == "create":
                    title = {"title": f"sqlcount task {i}"}
                    return http("POST", f"{base}/api/v1/tasks", json_body=title, token=token)[0]
                priority = {"priority": rng.randint(0, 4)}
                return http(
                    "PATCH",
                    f"{base}/api/v1/tasks/{rng.choice(ids)}",
                    json_body=priority,
                    token=token,
                )[0]

            for scenario in [s for s in SCENARIOS if s != "mix"]:
                for i in range(
                    10
                ):  # warm-up: statement caches, pool connections, type introspection
                    one(scenario, i)
                time.sleep(0.2)
                proxy.reset()
                failed = sum(
                    1 for i in range(SQL_COUNT_REQUESTS) if not 200 <= one(scenario, i) < 300
                )
                time.sleep(0.3)  # statements a handler issues after answering still belong to it
                counts = proxy.snapshot()
                n = SQL_COUNT_REQUESTS
                results[scenario] = {
                    "requests": n,
                    "failed": failed,
                    "statements_per_request": sum(counts.statements.values()) / n,
                    "transactions_per_request": counts.transactions / n,
                    "tx_control_per_request": {
                        k: v / n for k, v in sorted(counts.tx_control.items())
                    },
                    "top": [[s, c / n] for s, c in counts.statements.most_common(8)],
                }
            if all(s in results for s in MIX_WEIGHTS):
                mix_top: Counter[str] = Counter()
                for s, w in MIX_WEIGHTS.items():
                    for text, per in results[s]["top"]:
                        mix_top[text] += per * w
                results["mix"] = {
                    "requests": sum(results[s]["requests"] for s in MIX_WEIGHTS),
                    "failed": sum(results[s]["failed"] for s in MIX_WEIGHTS),
                    "statements_per_request": sum(
                        results[s]["statements_per_request"] * w for s, w in MIX_WEIGHTS.items()
                    ),
                    "transactions_per_request": sum(
                        results[s]["transactions_per_request"] * w for s, w in MIX_WEIGHTS.items()
                    ),
                    "tx_control_per_request": "weighted from the scenarios above",
                    "top": [[t, p] for t, p in mix_top.most_common(8)],
                }
        finally:
            self.stop(proc)
            proxy.stop()
            self.state.proxy = None
        return {
            "source": "pg_stat_statements under load"
            if self.pgss
            else "wire-protocol counting proxy",
            "note": (
                f"Counted by bench/pgcount.py on {SQL_COUNT_REQUESTS} sequential requests per "
                "scenario against a 1-worker server without Redis, after a warm-up; every Query "
                "and Execute message is one statement; BEGIN/COMMIT/ROLLBACK are listed apart. "
                "Transactions = BEGIN blocks + statements run in autocommit. The mix row is "
                "weighted 60/20/15/5 from the get/list/create/patch counts."
            ),
            "scenarios": results,
        }

    # -- orchestration ----------------------------------------------------------------
    def execute(self) -> dict[str, Any]:
        cfg = self.cfg
        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        self.create_database()
        self.migrate()
        self.ceiling_pass()
        sql_counts = self.sql_count_pass()
        self.app_pass("pg", redis=False)
        if cfg.redis:
            if redis_up(cfg.redis_url):
                self.app_pass("pg+redis", redis=True)
            elif cfg.smoke:
                self.notes.append(f"Redis not reachable at {cfg.redis_url}: pg+redis pass skipped.")
            else:
                raise RuntimeError(
                    f"Redis not reachable at {cfg.redis_url} (use --no-redis to skip that pass)"
                )
        for row in self.rows:
            if row["pass"] == "ceiling":
                row["sql_per_req"] = 0.0
                row["xact_per_req"] = 0.0
                continue
            ceiling = next(
                (
                    r
                    for r in self.rows
                    if r["pass"] == "ceiling" and r["connections"] == row["connections"]
                ),
                None,
            )
            row["ratio"] = row["rps"] / ceiling["rps"] if ceiling and ceiling["rps"] else None
            counted = sql_counts["scenarios"].get(row["scenario"])
            if counted is not None:
                row["xact_per_req"] = counted["transactions_per_request"]
                if row["sql_per_req"] is None:
                    row["sql_per_req"] = counted["statements_per_request"]
        scale = cfg.scale
        return {
            "meta": {
                "timestamp": self.stamp,
                "scale": cfg.scale_name,
                "users": scale.users,
                "tasks_total": scale.tasks_total,
                "tasks_bench_user": scale.bench_tasks,
                "duration_s": cfg.duration,
                "smoke": cfg.smoke,
                "connections": cfg.connections,
                "wrk_timeout_s": WRK_TIMEOUT_S,
                "deep_page": self.seeded.deep_pages if self.seeded else None,
                "cpus": os.cpu_count(),
                "loadavg_before": load_before,
                "loadavg_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
                "statement_source": sql_counts["source"],
                "versions": {
                    "python": platform.python_version(),
                    "taskhub": metadata.version("taskhub"),
                    "uvicorn": metadata.version("uvicorn"),
                    "fastapi": metadata.version("fastapi"),
                    "sqlalchemy": metadata.version("sqlalchemy"),
                    "postgresql": self.server_version,
                    "wrk": wrk_version(),
                },
                "notes": self.notes,
                "logs": str(self.log_dir),
            },
            "rows": self.rows,
            "sql_counts": sql_counts,
        }

    def teardown(self) -> None:
        for proc in list(self.state.servers):
            try:
                self.stop(proc)
            except Exception as exc:
                log(f"teardown: stopping {proc.pid}: {exc}")
        if self.state.proxy is not None:
            self.state.proxy.stop()
        try:
            self.drop_database()
        except Exception as exc:
            log(f"teardown: dropping {self.cfg.db_name}: {exc}")


# --------------------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None) -> Config:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--scale", choices=sorted(SCALES), default=env.get("BENCH_SCALE", "small"))
    parser.add_argument(
        "--duration",
        type=int,
        default=int(env.get("BENCH_DURATION", "10")),
        help="seconds per scenario (BENCH_DURATION, default 10)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        default=env.get("BENCH_SMOKE", "") not in ("", "0"),
        help="2 s, small, 64 connections; exit 1 unless every scenario served without errors",
    )
    parser.add_argument("--connections", default=env.get("BENCH_CONNECTIONS", "64,256"))
    parser.add_argument("--scenarios", default=env.get("BENCH_SCENARIOS", ",".join(SCENARIOS)))
    parser.add_argument(
        "--no-redis", action="store_true", help="skip the pass with TASKHUB_REDIS_URL"
    )
    parser.add_argument(
        "--redis-url", default=env.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the bench database")
    parser.add_argument(
        "--pg",
        default=env.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="admin DSN used to create and drop the bench database",
    )
    parser.add_argument("--db-name", default=env.get("BENCH_DB", "taskhub_bench"))
    parser.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.db_name.startswith("taskhub_bench"):
        # The harness drops this database; refuse names that could be someone's real data.
        parser.error("--db-name must start with taskhub_bench")
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {SCENARIOS}")
    connections = [int(c) for c in args.connections.split(",") if c]
    if args.smoke:
        args.scale, args.duration, connections = "small", 2, [64]
    results_dir = args.results_dir or (BENCH_DIR / "results" / ("smoke" if args.smoke else ""))
    return Config(
        scale_name=args.scale,
        duration=args.duration,
        smoke=args.smoke,
        connections=connections,
        scenarios=scenarios,
        redis=not args.no_redis,
        redis_url=args.redis_url,
        keep_db=args.keep_db,
        admin_dsn=args.pg,
        db_name=args.db_name,
        port=8765,
        ceiling_port=8766,
        count_port=8767,
        proxy_port=6543,
        results_dir=results_dir,
    )


def smoke_failures(result: dict[str, Any]) -> list[str]:
    """What smoke mode asserts: the harness measured something, and nothing failed."""
    failures = []
    for r in result["rows"]:
        name = f"{r['pass']}/{r['scenario']}/c{r['connections']}"
        if r["requests"] <= 0 or r["rps"] <= 0:
            failures.append(f"{name}: zero throughput")
        if r["non2xx"]:
            failures.append(f"{name}: {r['non2xx']} non-2xx answers {r['statuses']}")
        if r["socket_errors"]:
            failures.append(
                f"{name}: {r['socket_errors']} socket errors {r['socket_error_detail']}"
            )
    for scenario, data in result["sql_counts"]["scenarios"].items():
        if data["failed"]:
            failures.append(f"sqlcount/{scenario}: {data['failed']} failed requests")
    return failures


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    if shutil.which("wrk") is None:
        log("wrk is not installed (Debian: apt-get install -y wrk)")
        return 2
    # 256 connections plus uvicorn's own descriptors exceed a 256 soft limit on some machines.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard or (hard == resource.RLIM_INFINITY and soft < 4096):
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
    run = BenchRun(cfg)
    try:
        result = run.execute()
    except Exception as exc:
        log(f"FAILED: {exc}")
        return 1
    finally:
        run.teardown()
    from bench import extras  # issue 14: embedded SQLite and the DRF peer (own servers)

    try:
        result["issue14"] = extras.run_all(cfg, run.log_dir)
    except Exception as exc:
        log(f"FAILED (issue-14 sections): {exc}")
        return 1
    json_path, md_path, _checks = report.write_all(result, cfg.results_dir)
    print(md_path.read_text())
    print(extras.markdown(result["issue14"]))
    extras.write(result["issue14"], cfg.results_dir, result["meta"]["timestamp"])
    log(f"wrote {json_path} and {md_path}")
    if cfg.smoke:
        failures = smoke_failures(result) + extras.failures(result["issue14"])
        if failures:
            log("smoke FAILED:\n  " + "\n  ".join(failures))
            return 1
        log("smoke OK: every scenario served traffic without errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
