"""What a programme costs at scale: one command that measures it and writes RESULTS.md.

    python -m bench.run              # microsoft, google, local at 10, 100 and 1,000 pairs
    python -m bench.run --full       # adds 5,000 pairs, the naive script at 1,000 on Google,
                                     # the 10,000-pair CPU scenarios and the local 10,000 run
    python -m bench.run --full --jobs 2   # the same, two units at a time (about an hour)

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
import multiprocessing
import os
import platform
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import report
from bench.child import ChildRun, run_child
from bench.cohort import DUE_NOW, QUIET_NOW, SCHEDULE_NOW, SESSIONS, write_config
from bench.floor import floor
from bench.world import Counters, World, world_for

ROOT = Path(__file__).resolve().parent.parent
SPAN_DAYS = (SESSIONS - 1) * 7 + 2  # first session to last, across the cohort's zones
DEFAULT_SIZES = (10, 100, 1000)
FULL_SIZES = (10, 100, 1000, 5000)
NAIVE_GOOGLE_MAX = 100  # the naive script's 1,000-pair Google run takes 7+ minutes: --full
LOCAL_FULL = 10_000  # --full also runs the local provider at 10,000 pairs (peak RSS target)


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
    load: float = 0.0  # the machine's 1-minute load average as the row's command started

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


def _measure(world: World, args: list[str], cwd: Path) -> tuple[ChildRun, Counters, float]:
    before = world.counters()
    load = os.getloadavg()[0]
    run = run_child(args, env={**world.env, "PYTHONPATH": str(ROOT)}, cwd=cwd)
    return run, world.counters().since(before), load


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
    world: World,
    scenario: str,
    pairs: int,
    run: ChildRun,
    cost: Counters,
    latency: float,
    load: float = 0.0,
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
        load=round(load, 2),
    )


def provider_rows(
    provider: str, pairs: int, latency: float, say: Callable[[str], None]
) -> Iterator[Row]:
    """The six scenarios in order on one fake server (each builds on the one before)."""
    with tempfile.TemporaryDirectory(prefix="rmcal-bench-") as scratch:
        folder = Path(scratch)
        with world_for(provider, folder, latency=latency, pairs=pairs) as world:
            config = str(write_config(folder, world.settings, pairs))
            for scenario, args in SCENARIOS:
                command = ["-m", "rmcal", args[0], "-c", config, *args[1:]]
                run, cost, load = _measure(world, command, folder)
                row = _row(world, scenario, pairs, run, cost, latency, load)
                say(report.progress_line(row))
                yield row


def naive_row(provider: str, pairs: int, latency: float, say: Callable[[str], None]) -> Row:
    with tempfile.TemporaryDirectory(prefix="rmcal-bench-naive-") as scratch:
        folder = Path(scratch)
        with world_for(provider, folder, latency=latency, pairs=pairs) as world:
            config = str(write_config(folder, world.settings, pairs))
            run, cost, load = _measure(world, ["-m", "bench.naive", config], folder)
            row = _row(world, "naive-schedule", pairs, run, cost, latency, load)
    say(report.progress_line(row))
    return row


def cpu_row(kind: str, pairs: int, say: Callable[[str], None]) -> Row:
    load = os.getloadavg()[0]
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
        load=round(load, 2),
    )
    say(report.progress_line(row))
    return row


@dataclass(frozen=True)
class Unit:
    """One independent piece of a benchmark run: a provider at one size on its own fake server
    (its six scenarios, then the naive script if asked), or one CPU scenario."""

    provider: str  # "microsoft", "google", "local", or "cpu"
    pairs: int
    naive: bool = False
    kind: str = ""  # for "cpu": "plan" or "health"

    @property
    def expected_seconds(self) -> float:
        """A rough duration, so that ``--jobs`` starts the longest units first."""
        if self.provider == "cpu":
            return self.pairs * (0.008 if self.kind == "plan" else 0.001)
        per_pair = {"google": 0.6, "microsoft": 0.12, "local": 0.08}[self.provider]
        return self.pairs * per_pair * (2 if self.naive else 1)


def units(providers: list[str], sizes: tuple[int, ...], *, full: bool, naive: bool) -> list[Unit]:
    """What a run measures, in the order a sequential run takes it."""
    found: list[Unit] = []
    for provider in providers:
        for pairs in sizes:
            naive_allowed = provider != "local" and (
                provider != "google" or pairs <= NAIVE_GOOGLE_MAX or full
            )
            found.append(Unit(provider, pairs, naive=naive_allowed and naive and pairs <= 1000))
        if provider == "local" and full:
            found.append(Unit(provider, LOCAL_FULL))  # the 10,000-pair memory target
    for pairs in (1000, 10_000) if full else (1000,):
        found += [Unit("cpu", pairs, kind="plan"), Unit("cpu", pairs, kind="health")]
    return found


def measure(unit: Unit, latency: float) -> list[Row]:
    """Run one unit and return its rows (each printed as it is measured)."""
    say: Callable[[str], None] = lambda line: print(line, flush=True)  # noqa: E731
    if unit.provider == "cpu":
        return [cpu_row(unit.kind, unit.pairs, say)]
    rows = list(provider_rows(unit.provider, unit.pairs, latency, say))
    if unit.naive:
        rows.append(naive_row(unit.provider, unit.pairs, latency, say))
    return rows


def run_units(todo: list[Unit], latency: float, jobs: int) -> list[Row]:
    """Every unit's rows; with ``jobs`` > 1, that many units at once in worker processes,
    longest first. Each unit has its own fake server and scratch folder, so units share
    nothing but the machine: a Google unit spends most of its time asleep under the quota,
    which is why running beside it costs the others little (each row records the load)."""
    if jobs <= 1:
        return [row for unit in todo for row in measure(unit, latency)]
    order = sorted(todo, key=lambda u: -u.expected_seconds)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {unit: pool.submit(measure, unit, latency) for unit in order}
        done = {unit: future.result() for unit, future in futures.items()}
    return [row for unit in todo for row in done[unit]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--full",
        action="store_true",
        help="add 5,000 pairs, local at 10,000, naive Google at 1,000, 10,000-pair CPU runs",
    )
    parser.add_argument("--sizes", help="comma-separated pair counts (default 10,100,1000)")
    parser.add_argument("--providers", default="microsoft,google,local")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per round trip")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive script")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="measure this many units (a provider at one size) at once, longest first",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    args = parser.parse_args(argv)
    sizes = (
        tuple(int(s) for s in args.sizes.split(","))
        if args.sizes
        else (FULL_SIZES if args.full else DEFAULT_SIZES)
    )
    todo = units(args.providers.split(","), sizes, full=args.full, naive=not args.no_naive)
    load_before = os.getloadavg()
    started = datetime.now(UTC)
    rows = run_units(todo, args.latency, args.jobs)
    command = "python -m bench.run" + (" --full" if args.full else "")
    if args.jobs > 1:
        command += f" --jobs {args.jobs}"
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "jobs": args.jobs,
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
