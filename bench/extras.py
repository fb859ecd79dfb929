"""The issue-14 sections of `make bench`: the embedded SQLite shape and the DRF peer.

Kept apart from bench/run.py, which calls `run_all` once its own passes are done.
BENCH_EMBEDDED=0 or BENCH_DRF=0 leaves a section out.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import drf_peer, embedded
from bench.run import Config, log

SMOKE_SEED_TASKS = 100


def _enabled(name: str) -> bool:
    return os.environ.get(name, "1") not in ("", "0")


def run_all(cfg: Config, log_dir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if _enabled("BENCH_EMBEDDED"):
        duration = cfg.duration if cfg.smoke else max(cfg.duration, 20)
        seed = SMOKE_SEED_TASKS if cfg.smoke else embedded.SEED_TASKS
        rows = embedded.run(duration, log_dir, seed_tasks=seed)
        out["embedded"] = {"duration_s": duration, "rows": [asdict(r) for r in rows]}
    if _enabled("BENCH_DRF"):
        out["drf_peer"] = drf_peer.run(cfg, log_dir)
    return out


def markdown(result: dict[str, Any]) -> str:
    parts = []
    if "embedded" in result:
        rows = [embedded.EmbeddedRow(**r) for r in result["embedded"]["rows"]]
        parts.append(embedded.markdown(rows, result["embedded"]["duration_s"]))
    if "drf_peer" in result:
        parts.append(drf_peer.markdown(result["drf_peer"]))
    return "\n\n".join(parts)


def failures(result: dict[str, Any]) -> list[str]:
    found: list[str] = []
    if "embedded" in result:
        for r in result["embedded"]["rows"]:
            found.extend(embedded.EmbeddedRow(**r).failures)
    if "drf_peer" in result:
        found.extend(drf_peer.failures(result["drf_peer"]))
    return found


def write(result: dict[str, Any], results_dir: Path, stamp: str) -> Path | None:
    text = markdown(result)
    if not text:
        return None
    path = results_dir / f"{stamp}-issue14.md"
    path.write_text(text + "\n")
    (results_dir / "latest-issue14.md").write_text(text + "\n")
    log(f"wrote {path}")
    return path
