"""``bench/RESULTS.md`` and the chart, from the rows of one ``bench.run``.

Kept apart from the runner so that the page can be rewritten from ``results/latest.json``
without measuring again (``python -m bench.report``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ORDER = (
    "schedule-new",
    "naive-schedule",
    "re-run-unchanged",
    "tick-first-read",
    "tick-nothing-due",
    "status",
    "tick-everything-due",
)


def progress_line(row: Any) -> str:
    ratio = f"{row.ratio:5.1f}x" if row.ratio else "   - "
    return (
        f"{row.provider:9} {row.scenario:20} {row.pairs:6} pairs  wall {row.wall:8.2f} s  "
        f"trips {row.round_trips:5}  cpu {row.cpu:7.2f} s  rss {row.peak_rss_mb:6.0f} MB  "
        f"floor x {ratio}  exit {row.exit_code}"
    )


def _s(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def _load(row: dict[str, Any]) -> str:
    """The 1-minute load average as the row's command started ("–" in older results)."""
    return f"{row['load']:.2f}" if row.get("load") else "–"


def _calls(calls: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1])) or "–"


def table(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| provider | scenario | pairs | wall s | floor s | × floor | round trips | floor trips "
        "| throttled | rmcal CPU s | server CPU s | peak RSS MB | exit | load | calls by type |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | --- |",
    ]
    ranked = sorted(
        rows,
        key=lambda r: (
            ("microsoft", "google", "local").index(r["provider"]),
            ORDER.index(r["scenario"]),
            r["pairs"],
        ),
    )
    for r in ranked:
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") else "–"
        trips = r["floor_round_trips"]
        out.append(
            f"| {r['provider']} | {r['scenario']} | {r['pairs']:,} | {_s(r['wall'])} "
            f"| {_s(r['floor_wall'])} | {ratio} | {r['round_trips']:,} "
            f"| {'–' if trips is None else f'{trips:,}'} | {r['throttled']} | {_s(r['cpu'])} "
            f"| {_s(r['server_cpu'])} | {r['peak_rss_mb']:.0f} | {r['exit_code']} "
            f"| {_load(r)} | {_calls(r['calls'])} |"
        )
    return out


def cpu_table(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| scenario | pairs | measured CPU s | peak RSS MB | load | detail |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        out.append(
            f"| {r['scenario']} | {r['pairs']:,} | {_s(r['cpu'])} | {r['peak_rss_mb']:.0f} "
            f"| {_load(r)} | `{r['summary']}` |"
        )
    return out


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    """Wall time and round trips against pairs, for rmcal, the naive script and the floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    providers = [p for p in ("microsoft", "google") if any(r["provider"] == p for r in rows)]
    fig, axes = plt.subplots(len(providers), 2, figsize=(11, 4.2 * len(providers)), squeeze=False)
    for line, provider in enumerate(providers):
        mine = sorted(
            (r for r in rows if r["provider"] == provider and r["scenario"] == "schedule-new"),
            key=lambda r: r["pairs"],
        )
        naive = sorted(
            (r for r in rows if r["provider"] == provider and r["scenario"] == "naive-schedule"),
            key=lambda r: r["pairs"],
        )
        for column, (key, floor_key, label) in enumerate(
            (
                ("wall", "floor_wall", "wall time (s)"),
                ("round_trips", "floor_round_trips", "round trips"),
            )
        ):
            ax = axes[line][column]
            ax.plot([r["pairs"] for r in mine], [r[key] for r in mine], "o-", label="rmcal")
            if naive:
                ax.plot(
                    [r["pairs"] for r in naive],
                    [r[key] for r in naive],
                    "s--",
                    label="naive script",
                )
            ax.plot([r["pairs"] for r in mine], [r[floor_key] for r in mine], "k:", label="floor")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("pairs")
            ax.set_ylabel(label)
            ax.set_title(f"{provider}: schedule new pairs, {label}")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _jobs_text(meta: dict[str, Any]) -> str:
    jobs = int(meta.get("jobs") or 1)
    if jobs <= 1:
        return ""
    return (
        f" The run measured {jobs} units at once (`--jobs {jobs}`: a provider at one size, each "
        "on its own fake server); a row's *load* column is the machine's load average as its "
        "command started."
    )


def write(data: dict[str, Any], page: Path, picture: Path) -> None:
    meta, rows = data["meta"], data["rows"]
    api = [r for r in rows if not r["scenario"].startswith("cpu-")]
    cpu = [r for r in rows if r["scenario"].startswith("cpu-")]
    chart(api, picture)
    notes = (HERE / "RESULTS.notes.md").read_text(encoding="utf-8")
    head = [
        "# Cost at scale: measured results",
        "",
        f"Generated by `{meta['command']}` ({meta['started']} to {meta['finished']}, UTC) on "
        f"{meta['cpus']} CPUs, Python {meta['python']}, {meta['platform']}. Latency "
        f"{meta['latency'] * 1000:.0f} ms per round trip. Load average before "
        f"{meta['load_before']}, after {meta['load_after']} (`uptime`: other work shared the "
        "machine; wall and CPU seconds depend on it, round trips, calls, throttled answers and "
        "peak RSS do not). Regenerate this page and the chart with the same command; "
        "`python -m bench.report` rewrites them from `results/latest.json`." + _jobs_text(meta),
        "",
        f"![wall time and round trips against pairs]({picture.relative_to(page.parent)})",
        "",
        "## API scenarios",
        "",
        *table(api),
        "",
        "## CPU scenarios (no HTTP)",
        "",
        *cpu_table(cpu),
        "",
    ]
    page.write_text("\n".join(head) + "\n" + notes, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0]) if args else HERE / "results" / "latest.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    write(data, HERE / "RESULTS.md", HERE / "results" / "cost.png")


if __name__ == "__main__":
    main()
