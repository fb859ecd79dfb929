"""Turn a run's rows into JSON, a Markdown table, the issue-4 target checks and PNG plots."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

Row = dict[str, Any]

SCENARIO_ORDER = ["ceiling", "get", "list", "deep", "search", "create", "patch", "mix"]
SCENARIO_LABEL = {
    "ceiling": "bare ASGI (ceiling)",
    "get": "GET one task",
    "list": "list first page (20)",
    "deep": "list deep page (cursor)",
    "search": "word search q (20)",
    "create": "create",
    "patch": "patch",
    "mix": "mix 80/15/5",
}


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown_table(rows: list[Row]) -> str:
    header = (
        "| pass | scenario | conns | req/s | x ceiling | p50 ms | p90 ms | p99 ms | non-2xx "
        "| sock err | served (L) | srv CPU ms/req | PG CPU ms/req | SQL/req | xact/req "
        "| peak RSS MiB |"
    )
    lines = [header, "|" + "---|" * 16]
    for r in rows:
        non2xx = _fmt(r["non2xx"])
        if r.get("statuses"):
            non2xx += " (" + ", ".join(f"{k}x{v}" for k, v in sorted(r["statuses"].items())) + ")"
        lines.append(
            "| "
            + " | ".join(
                [
                    r["pass"],
                    str(SCENARIO_LABEL.get(r["scenario"], r["scenario"])),
                    str(r["connections"]),
                    _fmt(r["rps"], 0),
                    _fmt(r.get("ratio"), 3) if r["pass"] != "ceiling" else "1",
                    _fmt(r["p50_ms"]),
                    _fmt(r["p90_ms"]),
                    _fmt(r["p99_ms"]),
                    non2xx,
                    _fmt(r["socket_errors"]),
                    _fmt(r["served"], 1),
                    _fmt(r["server_cpu_ms"], 3),
                    _fmt(r["pg_cpu_ms"], 3),
                    _fmt(r.get("sql_per_req")),
                    _fmt(r.get("xact_per_req")),
                    _fmt(r["peak_rss_mib"], 1),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def sql_section(sql_counts: dict[str, Any]) -> str:
    if not sql_counts:
        return ""
    out = [
        f"### SQL per request ({sql_counts['source']})",
        "",
        sql_counts.get("note", ""),
        "",
    ]
    for scenario in SCENARIO_ORDER:
        data = sql_counts.get("scenarios", {}).get(scenario)
        if not data:
            continue
        out.append(
            f"- **{SCENARIO_LABEL[scenario]}** ({data['requests']} requests, "
            f"{data['failed']} failed): {data['statements_per_request']:.2f} statements, "
            f"{data['transactions_per_request']:.2f} transactions, "
            f"tx control {data['tx_control_per_request']}"
        )
        for sql, per_request in data["top"]:
            out.append(f"  - {per_request:.2f} x `{sql}`")
    return "\n".join(out)


def _row(rows: list[Row], pass_name: str, scenario: str, conns: int) -> Row | None:
    for r in rows:
        if (r["pass"], r["scenario"], r["connections"]) == (pass_name, scenario, conns):
            return r
    return None


def targets(result: dict[str, Any], other_scale: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The issue-4 targets as (name, measured, verdict) items; None verdict = not measurable."""
    rows: list[Row] = result["rows"]
    checks: list[dict[str, Any]] = []
    sql = result.get("sql_counts", {}).get("scenarios", {})

    def add(name: str, measured: str, ok: bool | None) -> None:
        checks.append({"target": name, "measured": measured, "ok": ok})

    base = "pg"

    def speed(scenario: str, cpu_label: str, cpu_ms: float, rps_label: str, rps: int) -> None:
        """The CPU-per-request and throughput targets of one scenario at 64 connections."""
        row = _row(rows, base, scenario, 64)
        if row:
            cpu = row["server_cpu_ms"]
            add(cpu_label, f"{cpu:.3f} ms", cpu <= cpu_ms)
            add(rps_label, f"{row['rps']:,.0f}", row["rps"] >= rps)

    speed(
        "get",
        "GET one: ≤ 0.35 ms server CPU/req",
        0.35,
        "GET one: ≥ 4,000 req/s (quiet machine)",
        4000,
    )
    if "get" in sql:
        stmts = sql["get"]["statements_per_request"]
        add(
            "GET one: exactly 1 SQL statement besides tx control",
            f"{stmts:.2f}",
            abs(stmts - 1) < 0.01,
        )
        auth = sum(p for s, p in sql["get"]["top"] if " users" in s.lower())
        add("GET one: no SQL for authentication (users table)", f"{auth:.2f}/req", auth == 0)
    speed("list", "list first page: ≤ 0.6 ms CPU/req", 0.6, "list first page: ≥ 2,500 req/s", 2500)
    if "list" in sql:
        data = sql["list"]
        counts = any("count(" in s.lower() for s, _ in data["top"])
        ok = abs(data["statements_per_request"] - 1) < 0.01 and not counts
        add(
            "list first page: one SELECT, no COUNT",
            f"{data['statements_per_request']:.2f} stmts",
            ok,
        )
    speed("create", "create: ≤ 0.6 ms CPU/req", 0.6, "create: ≥ 2,500 req/s", 2500)
    if "create" in sql:
        tx = sql["create"]["transactions_per_request"]
        add("create: one transaction", f"{tx:.2f} tx/req", abs(tx - 1) < 0.01)
    at256 = [r for r in rows if r["connections"] == 256 and r["pass"] != "ceiling"]
    if at256:
        worst_served = min(r["served"] / r["connections"] for r in at256)
        errors = sum(r["non2xx"] + r["socket_errors"] for r in at256)
        worst_p99 = max(r["p99_ms"] for r in at256)
        add(
            "256 conns: all served (L ≥ 90% of 256)", f"min {worst_served:.0%}", worst_served >= 0.9
        )
        add("256 conns: 0 errors", f"{errors:,}", errors == 0)
        add("256 conns: p99 < 150 ms", f"max {worst_p99:.1f} ms", worst_p99 < 150)
    app_rows = [r for r in rows if r["pass"] != "ceiling"]
    if app_rows:
        rss = max(r["peak_rss_mib"] for r in app_rows)
        add("peak RSS of 2 workers ≤ 200 MiB", f"{rss:.1f} MiB", rss <= 200)
    if other_scale is not None:
        small, large = sorted([result, other_scale], key=lambda x: x["meta"]["tasks_total"])
        for scenario in ("get", "list", "deep"):
            a = _row(small["rows"], base, scenario, 64)
            b = _row(large["rows"], base, scenario, 64)
            if a and b and a["p50_ms"] > 0:
                ratio = b["p50_ms"] / a["p50_ms"]
                add(f"scale: {scenario} p50 large/small ≤ 1.2", f"{ratio:.2f}", ratio <= 1.2)
    return checks


def targets_section(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return ""
    out = ["### Issue-4 targets", "", "| target | measured | met |", "|---|---|---|"]
    for c in checks:
        verdict = "-" if c["ok"] is None else ("yes" if c["ok"] else "**no**")
        out.append(f"| {c['target']} | {c['measured']} | {verdict} |")
    return "\n".join(out)


def render_markdown(result: dict[str, Any], checks: list[dict[str, Any]], plots: list[str]) -> str:
    meta = result["meta"]
    parts = [
        f"## taskhub benchmark — {meta['timestamp']}",
        "",
        f"scale `{meta['scale']}` ({meta['users']:,} users, {meta['tasks_total']:,} tasks, "
        f"bench user {meta['tasks_bench_user']:,}), {meta['duration_s']} s per scenario, "
        f"`wrk -t2 -cN --latency --timeout {meta['wrk_timeout_s']}s`, uvicorn 2 workers "
        f"(uvloop, httptools), {meta['cpus']} cores shared by server, PostgreSQL and wrk. "
        f"Load average before: {meta['loadavg_before']}."
        + (" **Smoke run: checks the harness, not speed.**" if meta["smoke"] else ""),
        "",
        f"Passes: `pg` = PostgreSQL only; `pg+redis` = TASKHUB_REDIS_URL set. "
        f"SQL/req and xact/req come from {result.get('sql_counts', {}).get('source', 'n/a')}.",
        "",
        markdown_table(result["rows"]),
        "",
        targets_section(checks),
        "",
        sql_section(result.get("sql_counts", {})),
        "",
    ]
    parts += [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
    for note in meta.get("notes", []):
        parts.append(f"\n> {note}")
    return "\n".join(parts) + "\n"


def _plot_metric(result: dict[str, Any], key: str, ylabel: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on the bench machine
    import matplotlib.pyplot as plt

    rows = [r for r in result["rows"] if r["pass"] != "ceiling"]
    scenarios = [s for s in SCENARIO_ORDER if any(r["scenario"] == s for r in rows)]
    series = sorted({(r["pass"], r["connections"]) for r in rows})
    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(10, 4.8))
    for i, (pass_name, conns) in enumerate(series):
        values = []
        for s in scenarios:
            row = _row(rows, pass_name, s, conns)
            values.append(row[key] if row else 0)
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(scenarios))]
        ax.bar(xs, values, width, label=f"{pass_name}, {conns} conns")
    ceilings = [r for r in result["rows"] if r["pass"] == "ceiling"]
    if ceilings and key == "rps":
        text = ", ".join(f"{r['connections']} conns: {r['rps']:,.0f}" for r in ceilings)
        ax.set_title(f"taskhub throughput (bare ASGI ceiling {text} req/s)", fontsize=10)
    else:
        ax.set_title(f"taskhub {ylabel}", fontsize=10)
    ax.set_xticks(range(len(scenarios)))
    ax.set_xticklabels([SCENARIO_LABEL[s] for s in scenarios], fontsize=8)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_scale(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = sorted(results, key=lambda x: x["meta"]["tasks_total"])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [r["meta"]["tasks_total"] for r in results]
    for scenario in ("get", "list", "deep"):
        for pct in ("p50_ms", "p99_ms"):
            ys = []
            for res in results:
                row = _row(res["rows"], "pg", scenario, 64)
                ys.append(row[pct] if row else float("nan"))
            style = "-o" if pct == "p50_ms" else "--x"
            ax.plot(xs, ys, style, label=f"{SCENARIO_LABEL[scenario]} {pct[:3]}")
    ax.set_xscale("log")
    ax.set_xlabel("tasks in the table")
    ax.set_ylabel("latency ms (64 conns, pg pass)")
    ax.set_title("latency vs data-set size", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def latest_of_other_scale(results_dir: Path, scale: str) -> dict[str, Any] | None:
    """The newest full (non-smoke) result of the other scale, for the scale curve."""
    other = "large" if scale == "small" else "small"
    for path in sorted(results_dir.glob("*.json"), reverse=True):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        meta = data.get("meta", {})
        if meta.get("scale") == other and not meta.get("smoke"):
            found: dict[str, Any] = data
            return found
    return None


def write_all(result: dict[str, Any], results_dir: Path) -> tuple[Path, Path, list[dict[str, Any]]]:
    """Write <ts>.json, <ts>.md, latest.md and the plots; return (json, md, target checks)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = result["meta"]["timestamp"]
    other = (
        None
        if result["meta"]["smoke"]
        else latest_of_other_scale(results_dir, result["meta"]["scale"])
    )
    checks = targets(result, other)
    result["targets"] = checks
    plots: list[str] = []
    for key, label, name in (("rps", "req/s", "throughput"), ("p99_ms", "p99 latency (ms)", "p99")):
        path = results_dir / f"{stamp}-{name}.png"
        _plot_metric(result, key, label, path)
        shutil.copyfile(path, results_dir / f"latest-{name}.png")
        plots.append(str(path))
    if other is not None:
        path = results_dir / f"{stamp}-scale.png"
        _plot_scale([result, other], path)
        shutil.copyfile(path, results_dir / "latest-scale.png")
        plots.append(str(path))
    json_path = results_dir / f"{stamp}.json"
    json_path.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    md = render_markdown(result, checks, plots)
    md_path = results_dir / f"{stamp}.md"
    md_path.write_text(md)
    # latest.md links the latest-*.png copies so the README can embed one stable path.
    latest = md
    for p in plots:
        name = Path(p).name
        latest = latest.replace(f"]({name})", f"](latest-{name.split('-', 2)[-1]})")
    (results_dir / "latest.md").write_text(latest)
    return json_path, md_path, checks
