"""`make faults`: every fault scenario on SQLite and PostgreSQL; exit 1 on any finding.

python -m faults.run [--backend sqlite|postgresql|all] [--scenario kill9|sigterm|pgcrash]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

if __package__ in (None, ""):  # `python faults/run.py`: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faults.procs import FaultSetupError
from faults.scenarios import (
    Backend,
    Report,
    kill9_under_write_load,
    postgres_crash_under_load,
    sigterm_under_load,
)

Scenario = Callable[[Path], Awaitable[Report]]


def plan(backends: list[Backend], scenarios: set[str]) -> list[tuple[str, Scenario]]:
    steps: list[tuple[str, Scenario]] = []
    if "kill9" in scenarios:
        steps += [(f"kill9-{b}", partial(kill9_under_write_load, b)) for b in backends]
    if "pgcrash" in scenarios and "postgresql" in backends:
        steps.append(("pgcrash", postgres_crash_under_load))
    if "sigterm" in scenarios:
        steps += [(f"sigterm-{b}", partial(sigterm_under_load, b)) for b in backends]
    return steps


async def main(backends: list[Backend], scenarios: set[str]) -> int:
    failed = 0
    tmp = Path(tempfile.mkdtemp(prefix="taskhub-faults-"))
    for name, scenario in plan(backends, scenarios):
        workdir = tmp / name
        workdir.mkdir()
        started = time.monotonic()
        try:
            report = await scenario(workdir)
        except FaultSetupError as exc:
            print(f"{name}: could not run: {exc}", flush=True)
            failed += 1
            continue
        print(f"{report.text()}\n    ({time.monotonic() - started:.1f}s)", flush=True)
        failed += not report.ok
    if not failed:
        shutil.rmtree(tmp, ignore_errors=True)
        print("faults: all scenarios passed")
        return 0
    print(f"faults: {failed} scenario(s) FAILED; server logs kept in {tmp}")
    return 1


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument(
        "--scenario", choices=["kill9", "sigterm", "pgcrash"], action="append", default=None
    )
    args = parser.parse_args()
    backends: list[Backend] = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    scenarios = set(args.scenario or ["kill9", "sigterm", "pgcrash"])
    sys.exit(asyncio.run(main(backends, scenarios)))


if __name__ == "__main__":
    cli()
