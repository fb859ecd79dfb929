"""Time a new user's first five minutes: fresh clone -> `make run` -> first 201.

    python3 bench/first_201.py [REPO] [--workdir DIR]

Clones REPO (default: this checkout) into a new directory, runs `make run` there on a
free port, and as soon as the server answers registers a user, logs in and creates a
task. Prints the seconds from the start of the clone to each step. Standard library
only: it runs before any virtualenv exists. The server is stopped and the clone left
in place for inspection.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

EMAIL = "first@example.com"
PASSWORD = "first-run-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(
    url: str, body: bytes, content_type: str, token: str | None = None
) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def first_201(base: str, make: subprocess.Popen[bytes], deadline: float) -> dict[str, float]:
    """Register, log in, create a task; seconds since `started` at each success."""
    register = json.dumps({"email": EMAIL, "password": PASSWORD}).encode()
    while True:
        if make.poll() is not None:
            raise SystemExit(f"make run exited with {make.returncode} before serving")
        if time.monotonic() > deadline:
            raise SystemExit("no answer from make run in time")
        with contextlib.suppress(OSError):
            status, _ = call(f"{base}/api/v1/auth/register", register, "application/json")
            if status == 201:
                break
            raise SystemExit(f"register answered {status}")
        time.sleep(0.1)
    marks = {"registered": time.monotonic()}
    form = urllib.parse.urlencode({"username": EMAIL, "password": PASSWORD}).encode()
    status, tokens = call(f"{base}/api/v1/auth/token", form, "application/x-www-form-urlencoded")
    if status != 200:
        raise SystemExit(f"token answered {status}: {tokens}")
    marks["token"] = time.monotonic()
    task = json.dumps({"title": "my first task"}).encode()
    status, created = call(
        f"{base}/api/v1/tasks", task, "application/json", str(tokens["access_token"])
    )
    if status != 201:
        raise SystemExit(f"create task answered {status}: {created}")
    marks["first 201"] = time.monotonic()
    return marks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--port", type=int, default=0, help="the port make run serves on")
    args = parser.parse_args()
    parent = args.workdir or Path(tempfile.mkdtemp(prefix="taskhub-first-run-"))
    clone = parent / "taskhub"
    port = args.port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKHUB_")}

    started = time.monotonic()
    subprocess.run(["git", "clone", "-q", args.repo, str(clone)], check=True)
    cloned = time.monotonic()
    log = (parent / "make-run.log").open("wb")
    make = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        marks = first_201(f"http://127.0.0.1:{port}", make, started + args.timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGTERM)
        make.wait()
        log.close()
    print(f"clone:      {cloned - started:6.1f} s   ({clone})")
    for name, at in marks.items():
        print(f"{name + ':':11} {at - started:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
