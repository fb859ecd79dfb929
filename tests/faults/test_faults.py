"""Jepsen-style faults against a real `taskhub serve` process (issue 5, section 3).

Each test starts its own server subprocess on the backend of this pass (SQLite: the
embedded data dir; PostgreSQL: a fresh database on the test server, or a throwaway
cluster for the crash test), drives a concurrent write load with unique keys, injects
the fault, and checks the ledger of answers against what the server holds afterwards.
The same scenarios run standalone with `python -m faults.run` (`make faults`).
"""

from __future__ import annotations

from pathlib import Path

from faults.scenarios import (
    Report,
    kill9_under_write_load,
    postgres_crash_under_load,
    sigterm_under_load,
)

from tests.support.env import BACKEND


def _assert_clean(report: Report) -> None:
    print(report.text())  # the `acknowledged N, lost M` line, shown with -s or on failure
    assert report.verdict.lost == 0, report.text()
    assert report.verdict.problems == [], report.text()


async def test_kill9_mid_write_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    report = await kill9_under_write_load(BACKEND, tmp_path)  # type: ignore[arg-type]

    _assert_clean(report)


async def test_sigterm_mid_load_drains_in_flight_requests_and_exits_zero(tmp_path: Path) -> None:
    report = await sigterm_under_load(BACKEND, tmp_path)  # type: ignore[arg-type]

    _assert_clean(report)


if BACKEND == "postgresql":
    # Crashing PostgreSQL only means something on the PostgreSQL pass; it uses its own
    # throwaway cluster, never the shared server.

    async def test_postgres_crash_answers_503_then_recovers_without_losing_writes(
        tmp_path: Path,
    ) -> None:
        report = await postgres_crash_under_load(tmp_path)

        _assert_clean(report)
