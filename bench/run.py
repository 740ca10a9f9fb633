"""What a programme costs at scale: one command that measures it and writes RESULTS.md.

    python -m bench.run              # microsoft, google, local at 10, 100 and 1,000 pairs
    python -m bench.run --full       # adds 5,000 pairs, the naive script at 1,000 on Google,
                                     # the 10,000-pair CPU scenarios and the local 10,000 run

For each provider and size it runs, through the real CLI in a child process, against fake
servers that enforce the documented limits (``bench/world.py``) with a network latency:
``schedule-new``, ``re-run-unchanged``, ``tick-first-read`` (the first tick: a full read),
``tick-nothing-due``, ``status`` and ``tick-everything-due``; the naive one-request-per-step
script (``bench/naive.py``) schedules the same cohort against a fresh server; and the pure CPU
scenarios (``bench/cpu.py``) plan and judge large cohorts. Each figure has its floor
(``bench/floor.py``) and the ratio to it. Results: ``bench/results/latest.json``,
``bench/RESULTS.md`` and ``bench/results/cost.png``.

Speed is measured here, never asserted by a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import report
from bench.child import ChildRun, run_child
from bench.cohort import DUE_NOW, QUIET_NOW, SCHEDULE_NOW, SESSIONS, write_config
from bench.floor import floor
from bench.world import Counters, World, google_world, graph_world, local_world

ROOT = Path(__file__).resolve().parent.parent
SPAN_DAYS = (SESSIONS - 1) * 7 + 2  # first session to last, across the cohort's zones
DEFAULT_SIZES = (10, 100, 1000)
FULL_SIZES = (10, 100, 1000, 5000)
NAIVE_GOOGLE_MAX = 100  # the naive script's 1,000-pair Google run takes 7+ minutes: --full


@dataclass
class Row:
    provider: str
    scenario: str
    pairs: int
    wall: float
    cpu: float
    peak_rss_mb: float
    exit_code: int
    round_trips: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    server_cpu: float = 0.0
    floor_wall: float | None = None
    floor_round_trips: int | None = None
    sent: int = 0
    summary: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.floor_wall:
            return None
        return self.wall / self.floor_wall


def _later(moment: str, minutes: int) -> str:
    return (datetime.fromisoformat(moment) + timedelta(minutes=minutes)).isoformat()


SCENARIOS: tuple[tuple[str, list[str]], ...] = (
    ("schedule-new", ["schedule", "--now", SCHEDULE_NOW]),
    ("re-run-unchanged", ["schedule", "--now", SCHEDULE_NOW]),
    ("tick-first-read", ["tick", "--json", "--now", QUIET_NOW]),
    ("tick-nothing-due", ["tick", "--json", "--now", _later(QUIET_NOW, 10)]),
    ("status", ["status", "--json", "--now", _later(QUIET_NOW, 20)]),
    ("tick-everything-due", ["tick", "--json", "--now", DUE_NOW]),
)


def _world(provider: str, folder: Path, latency: float, pairs: int) -> AbstractContextManager[Any]:
    if provider == "microsoft":
        return graph_world(folder, latency=latency)
    if provider == "google":
        return google_world(folder, latency=latency, pairs=pairs)
    return local_world(folder)


def _measure(world: World, args: list[str], cwd: Path) -> tuple[ChildRun, Counters]:
    before = world.counters()
    run = run_child(args, env={**world.env, "PYTHONPATH": str(ROOT)}, cwd=cwd)
    return run, world.counters().since(before)


def _sent(run: ChildRun) -> int:
    try:
        start = run.output.index("{")
        return len(json.loads(run.output[start:]).get("sent") or [])
    except ValueError:
        return 0


def _summary(output: str, lines: list[str], sent: int) -> str:
    """The run's last line, or for a JSON answer what it amounts to."""
    if output.lstrip().startswith("{"):
        try:
            data = json.loads(output[output.index("{") :])
        except ValueError:
            return "(unreadable JSON)"
        if "pairs" in data:
            return f"{len(data['pairs'])} pairs read"
        return f"{sent} sent, {len(data.get('failed') or [])} failed"
    return lines[-1][:160] if lines else ""


def _row(
    world: World, scenario: str, pairs: int, run: ChildRun, cost: Counters, latency: float
) -> Row:
    sent = _sent(run) if scenario.startswith("tick") else 0
    kind = scenario if scenario != "naive-schedule" else "schedule-new"
    found = floor(
        world.provider, kind, pairs=pairs, span_days=SPAN_DAYS, sent=sent, latency=latency
    )
    lines = [line for line in run.output.splitlines() if line.strip()]
    return Row(
        provider=world.provider,
        scenario=scenario,
        pairs=pairs,
        wall=run.wall,
        cpu=run.cpu,
        peak_rss_mb=run.peak_rss_mb,
        exit_code=run.code,
        round_trips=cost.round_trips,
        calls=cost.calls,
        throttled=cost.throttled,
        server_cpu=cost.server_cpu,
        floor_wall=found.wall if found else None,
        floor_round_trips=found.round_trips if found else None,
        sent=sent,
        summary=_summary(run.output, lines, sent),
    )


def provider_rows(
    provider: str, pairs: int, latency: float, say: Callable[[str], None]
) -> Iterator[Row]:
    """The six scenarios in order on one fake server (each builds on the one before)."""
    with tempfile.TemporaryDirectory(prefix="rmcal-bench-") as scratch:
        folder = Path(scratch)
        with _world(provider, folder, latency, pairs) as world:
            config = str(write_config(folder, world.settings, pairs))
            for scenario, args in SCENARIOS:
                command = ["-m", "rmcal", args[0], "-c", config, *args[1:]]
                run, cost = _measure(world, command, folder)
                row = _row(world, scenario, pairs, run, cost, latency)
                say(report.progress_line(row))
                yield row


def naive_row(provider: str, pairs: int, latency: float, say: Callable[[str], None]) -> Row:
    with tempfile.TemporaryDirectory(prefix="rmcal-bench-naive-") as scratch:
        folder = Path(scratch)
        with _world(provider, folder, latency, pairs) as world:
            config = str(write_config(folder, world.settings, pairs))
            run, cost = _measure(world, ["-m", "bench.naive", config], folder)
            row = _row(world, "naive-schedule", pairs, run, cost, latency)
    say(report.progress_line(row))
    return row


def cpu_row(kind: str, pairs: int, say: Callable[[str], None]) -> Row:
    run = run_child(["-m", "bench.cpu", kind, str(pairs)], env={"PYTHONPATH": str(ROOT)}, cwd=ROOT)
    measured = json.loads(run.output.strip().splitlines()[-1]) if run.code == 0 else {}
    row = Row(
        provider="(none)",
        scenario=f"cpu-{kind}",
        pairs=pairs,
        wall=run.wall,
        cpu=float(measured.get("seconds", run.cpu)),
        peak_rss_mb=run.peak_rss_mb,
        exit_code=run.code,
        summary=json.dumps(measured) if measured else run.output[-300:],
    )
    say(report.progress_line(row))
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--full", action="store_true", help="add 5,000 pairs and 10,000-pair CPU runs"
    )
    parser.add_argument("--sizes", help="comma-separated pair counts (default 10,100,1000)")
    parser.add_argument("--providers", default="microsoft,google,local")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per round trip")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive script")
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    args = parser.parse_args(argv)
    sizes = (
        tuple(int(s) for s in args.sizes.split(","))
        if args.sizes
        else (FULL_SIZES if args.full else DEFAULT_SIZES)
    )
    say: Callable[[str], None] = lambda line: print(line, flush=True)  # noqa: E731
    load_before = os.getloadavg()
    started = datetime.now(UTC)
    rows: list[Row] = []
    for provider in args.providers.split(","):
        for pairs in sizes:
            rows.extend(provider_rows(provider, pairs, args.latency, say))
            naive_allowed = provider != "local" and (
                provider != "google" or pairs <= NAIVE_GOOGLE_MAX or args.full
            )
            if naive_allowed and not args.no_naive and pairs <= 1000:
                rows.append(naive_row(provider, pairs, args.latency, say))
    cpu_sizes = (1000, 10_000) if args.full else (1000,)
    for pairs in cpu_sizes:
        rows.append(cpu_row("plan", pairs, say))
        rows.append(cpu_row("health", pairs, say))
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench.run" + (" --full" if args.full else ""),
        "latency": args.latency,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    results = args.out / "results"
    results.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "rows": [asdict(r) | {"ratio": r.ratio} for r in rows]}
    (results / "latest.json").write_text(json.dumps(data, indent=1) + "\n")
    report.write(data, args.out / "RESULTS.md", results / "cost.png")
    print(f"written: {args.out / 'RESULTS.md'}, {results / 'cost.png'}")


if __name__ == "__main__":
    main()
