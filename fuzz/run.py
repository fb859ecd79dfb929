"""`make fuzz`: schemathesis against a live `taskhub serve`, on SQLite then PostgreSQL.

For each backend: a fresh database, the real server on a free loopback port, three
registered users (alice drives the run; bob is replayed on alice's objects by the
`object_level_authorization` check; carol is the member alice adds to her projects),
then `schemathesis run` with every check, every phase (examples, coverage, fuzzing,
stateful), a fixed seed and a bounded number of examples per operation. Exits non-zero
if any backend fails; the server is always stopped.

    .venv/bin/python -m fuzz.run [--backend sqlite|postgresql|all] [--max-examples N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from tests.support import servers
from tests.support.databases import fresh_postgres_database_sync
from tests.support.ports import free_port

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CONFIG = HERE / "schemathesis.toml"
PASSWORD = "fuzz-password-" + "x" * 16
USERS = ("alice", "bob")
# The user alice adds to and removes from her projects. Not bob: a member legitimately
# sees the project's tasks, which the object-level check would then report as a leak.
MEMBER = "carol"
SUMMARY = re.compile(r"^=+ .* in [\d.]+s =+$")
CASES = re.compile(r"^\d+ generated, ")


def server_env(data_dir: Path, database_url: str) -> dict[str, str]:
    return servers.server_env(data_dir, secrets.token_urlsafe(36)[:48], database_url)


@contextlib.contextmanager
def serving(env: dict[str, str], port: int, log_path: Path) -> Iterator[str]:
    """`taskhub serve` on `port` until the block ends, whatever happens in it."""
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "taskhub"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_up(base_url, proc)
            yield base_url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_until_up(base_url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"taskhub serve exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"taskhub serve did not become ready within {timeout}s")


def register(base_url: str, name: str) -> tuple[str, str]:
    """A new user's id and access token (valid for 15 minutes, longer than a run)."""
    email = f"{name}@fuzz.example.com"
    with httpx.Client(base_url=base_url, timeout=10) as client:
        created = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        created.raise_for_status()
        token = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        token.raise_for_status()
        return str(created.json()["id"]), str(token.json()["access_token"])


def write_wfc_auth(path: Path, tokens: dict[str, str]) -> None:
    """A Web Fuzzing Commons auth document: one fixed bearer header per user."""
    document = {
        "schemaVersion": "1.0.0",
        "auth": [
            {
                "name": name,
                "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}],
            }
            for name, token in tokens.items()
        ],
    }
    path.write_text(json.dumps(document, indent=2))


def run_schemathesis(
    base_url: str, workdir: Path, auth_file: Path, member_id: str, seed: int, max_examples: int
) -> tuple[int, str]:
    env = {
        **os.environ,
        "TASKHUB_FUZZ_MEMBER_ID": member_id,
        "TASKHUB_FUZZ_WFC_AUTH": str(auth_file),
        "TASKHUB_FUZZ_HOOKS": str(HERE / "hooks.py"),
        "NO_COLOR": "1",
    }
    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        str(seed),
        "--max-examples",
        str(max_examples),
        # One worker: concurrent stateful scenarios share alice's objects, so one could
        # delete the project another just created a task in and report it "not found".
        "--workers",
        "1",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(workdir / "report"),
    ]
    print("$", " ".join(command), flush=True)
    proc = subprocess.run(
        command, env=env, cwd=workdir, capture_output=True, text=True, check=False, timeout=900
    )
    output = proc.stdout + proc.stderr
    print(output, flush=True)
    lines = [line.strip() for line in output.splitlines()]
    summary = next(
        (line for line in reversed(lines) if SUMMARY.match(line)),
        f"(no summary line; schemathesis exited {proc.returncode})",
    )
    cases = next((line for line in lines if CASES.match(line)), "")
    return proc.returncode, f"{summary.strip('= ')}; {cases}" if cases else summary


def fuzz_backend(backend: str, seed: int, max_examples: int) -> tuple[int, str]:
    with tempfile.TemporaryDirectory(prefix=f"taskhub-fuzz-{backend}-") as tmp:
        workdir = Path(tmp)
        data_dir = workdir / "data"
        data_dir.mkdir()
        with contextlib.ExitStack() as stack:
            if backend == "postgresql":
                url = stack.enter_context(fresh_postgres_database_sync("taskhub_fuzz"))
            else:
                url = f"sqlite+aiosqlite:///{data_dir / 'taskhub.db'}"
            env = server_env(data_dir, url)
            # An explicit database URL is not "embedded": serve does not migrate it.
            subprocess.run([str(BIN / "taskhub"), "migrate"], env=env, check=True)
            log_path = workdir / "server.log"
            try:
                base_url = stack.enter_context(serving(env, free_port(), log_path))
                users = {name: register(base_url, name) for name in USERS}
                member_id, _ = register(base_url, MEMBER)
                auth_file = workdir / "wfc-auth.json"
                write_wfc_auth(auth_file, {name: token for name, (_, token) in users.items()})
                code, summary = run_schemathesis(
                    base_url, workdir, auth_file, member_id, seed, max_examples
                )
            finally:
                stack.close()
                server_log = log_path.read_text(errors="replace") if log_path.exists() else ""
                if "Traceback" in server_log or '"level": "error"' in server_log:
                    print(f"--- server log ({backend}) ---\n{server_log[-20_000:]}", flush=True)
            return code, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--max-examples", type=int, default=50)
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "all" else (args.backend,)
    results: list[tuple[str, int, str, float]] = []
    for backend in backends:
        started = time.monotonic()
        print(f"### schemathesis against taskhub on {backend}", flush=True)
        code, summary = fuzz_backend(backend, args.seed, args.max_examples)
        results.append((backend, code, summary, time.monotonic() - started))
    print()
    for backend, code, summary, elapsed in results:
        verdict = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"fuzz {backend}: {verdict} in {elapsed:.0f}s: {summary}")
    return 0 if all(code == 0 for _, code, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
