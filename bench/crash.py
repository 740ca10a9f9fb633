"""The crash harness's long run (issue 10, item 3): ``rmcal schedule`` and ``rmcal tick`` killed
with SIGKILL at every crash point and at random moments, on the local provider and against the
fake Graph and Google (by hand and with the sent-items lookup), with and without injected
network faults; each crash re-run and compared with an uninterrupted run.

    python -m bench.crash --crashes 500 --seed 1  # the long run (about 20 minutes on 2 cores)
    python -m bench.crash --providers local --crashes 0 --timers 2 --out /tmp/crash.json

Modes, per provider and variant and for each phase of the timeline (schedule, reschedule,
tick, agendas; ``tests/crash/harness.py``):

* **every point**: each API request and each file write of the command, killed before it and
  after it;
* **random moments**: ``--timers`` kills at a uniformly drawn moment of the command's run;
* **faults**: ``--fault-points`` random crash points and moments with the fake server also
  failing ``--fault-rate`` of all requests (429, 503, 500, stalls, dropped connections);
* **fresh interpreter**: ``--fresh-points`` random points on schedule and tick with every run
  in a new Python process instead of a fork of a warm one, to show the fork server changes
  nothing;
* then more **random moments**, until each provider has at least ``--crashes`` crashes.

Results go to ``bench/results/crash.json``; the table printed at the end is the one in
``bench/README.md``. The exit code is 1 when any crash left a problem, or when a provider had
fewer than ``--crashes`` crashes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from tests.crash.harness import CrashPoint, Harness, Tally, harness

PROVIDERS = ("local", "microsoft", "google")
TOP_UP_ROUNDS = 4


@dataclass
class Row:
    provider: str
    variant: str  # "by hand", "lookup"
    mode: str
    phase: str
    tally: Tally = field(default_factory=Tally)
    seconds: float = 0.0


@contextmanager
def scratch_folder() -> Iterator[Path]:
    """In memory where possible: a kill tests the process, not the disk."""
    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    folder = Path(tempfile.mkdtemp(prefix="rmcal-crash-bench-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def crash_all(
    made: Harness, rows: list[Row], *, variant: str, mode: str, points: Any, log: Any
) -> None:
    """Crash ``points(phase)`` for every phase, one row per phase."""
    for phase in made.phases:
        row = Row(made.w.name, variant, mode, phase.name)
        started = time.monotonic()
        for point in points(phase.name):
            row.tally.add(made.crash(phase.name, point))
        row.seconds = time.monotonic() - started
        rows.append(row)
        t = row.tally
        print(
            f"{row.provider:9} {variant:8} {mode:17} {phase.name:10} crashes {t.crashes:4}  "
            f"duplicates {t.duplicates}  lost {t.lost}  uncertain {t.uncertain:3}  "
            f"problems {len(t.problems)}  {row.seconds:6.1f} s",
            file=log,
            flush=True,
        )
        for problem in t.problems:
            print(f"    {problem[:500]}", file=log, flush=True)


def run_provider(provider: str, args: argparse.Namespace, rows: list[Row], log: Any) -> None:
    """Every mode for one provider: by hand and (cloud) with the lookup, then faults, then a
    few crashes in fresh interpreters, then random moments up to ``--crashes``."""
    first = len(rows)
    variants = [("by hand", False)] + ([("lookup", True)] if provider != "local" else [])
    for variant, lookup in variants:
        with (
            scratch_folder() as scratch,
            harness(provider, scratch, pairs=args.pairs, lookup=lookup) as made,
        ):
            rng = random.Random(f"{args.seed}/{provider}/{variant}")
            every = made.points
            crash_all(made, rows, variant=variant, mode="every point", points=every, log=log)
            if args.timers:
                moments = partial(made.timers, count=args.timers, rng=rng)
                crash_all(
                    made, rows, variant=variant, mode="random moments", points=moments, log=log
                )
        if provider == "local" or not args.fault_points:
            continue
        rate = args.fault_rate
        with (
            scratch_folder() as scratch,
            harness(
                provider, scratch, pairs=args.pairs, lookup=lookup, faults=rate, seed=args.seed
            ) as made,
        ):
            rng = random.Random(f"{args.seed}/{provider}/{variant}/faults")
            some = partial(drawn, made, args.fault_points, rng, timers=args.fault_points // 2)
            crash_all(made, rows, variant=variant, mode=f"faults {rate:.0%}", points=some, log=log)
    if args.fresh_points:
        with (
            scratch_folder() as scratch,
            harness(
                provider, scratch, pairs=args.pairs, fresh=True, phases=("schedule", "tick")
            ) as made,
        ):
            rng = random.Random(f"{args.seed}/{provider}/fresh")
            some = partial(drawn, made, args.fresh_points, rng)
            crash_all(made, rows, variant="by hand", mode="fresh interpreter", points=some, log=log)
    top_up(provider, args, rows[first:], rows, log)


def top_up(
    provider: str, args: argparse.Namespace, mine: list[Row], rows: list[Row], log: Any
) -> None:
    """More random moments until the provider has ``--crashes`` crashes (a moment drawn after
    the re-run's end kills nothing, so a round may fall short; a few rounds at most)."""
    variants = [("by hand", False)] + ([("lookup", True)] if provider != "local" else [])
    for round_ in range(1, TOP_UP_ROUNDS + 1):
        missing = args.crashes - sum(row.tally.crashes for row in mine)
        if missing <= 0:
            return
        # spread over the variants and the four phases, with a margin for moments that miss
        count = math.ceil(missing * 1.25 / (len(variants) * 4))
        for variant, lookup in variants:
            with (
                scratch_folder() as scratch,
                harness(provider, scratch, pairs=args.pairs, lookup=lookup) as made,
            ):
                rng = random.Random(f"{args.seed}/{provider}/{variant}/more/{round_}")
                moments = partial(made.timers, count=count, rng=rng)
                before = len(rows)
                crash_all(
                    made, rows, variant=variant, mode="random moments", points=moments, log=log
                )
                mine += rows[before:]


def drawn(
    made: Harness, count: int, rng: random.Random, phase: str, *, timers: int = 0
) -> list[CrashPoint]:
    """``count`` of the phase's crash points drawn at random, and ``timers`` random moments."""
    every = made.points(phase)
    return rng.sample(every, min(count, len(every))) + made.timers(phase, timers, rng)


COMMAND = {"schedule": "schedule", "reschedule": "schedule", "tick": "tick", "agendas": "tick"}


def _markdown(head: Sequence[str], grouped: dict[tuple[str, ...], Tally]) -> list[str]:
    """One Markdown table: the ``head`` columns, then the tally of each group and a total."""
    counts = ("crashes", "missed", "duplicates", "lost", "uncertain", "problems")
    lines = [
        "| " + " | ".join((*head, *counts)) + " |",
        "| " + " | ".join(["---"] * len(head) + ["---:"] * len(counts)) + " |",
    ]
    total = Tally()
    for key, t in grouped.items():
        total.merge(t)
        values = (t.crashes, t.missed, t.duplicates, t.lost, t.uncertain, len(t.problems))
        lines.append("| " + " | ".join([*key, *map(str, values)]) + " |")
    values = (total.crashes, total.missed, total.duplicates, total.lost, total.uncertain)
    bold = [f"**{v}**" for v in (*values, len(total.problems))]
    lines.append("| " + " | ".join(["**all**"] + [""] * (len(head) - 1) + bold) + " |")
    return lines


def table(rows: Sequence[Row]) -> str:
    """The results as Markdown: one table per provider and command (schedule's two phases,
    tick's two), then one per provider, way of settling sends and mode."""
    by_command: dict[tuple[str, ...], Tally] = {}
    by_mode: dict[tuple[str, ...], Tally] = {}
    for row in rows:
        key = (row.provider, COMMAND[row.phase])
        by_command.setdefault(key, Tally()).merge(row.tally)
        by_mode.setdefault((row.provider, row.variant, row.mode), Tally()).merge(row.tally)
    return "\n".join(
        [
            *_markdown(("provider", "command"), by_command),
            "",
            *_markdown(("provider", "sends settled", "mode"), by_mode),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", default=",".join(PROVIDERS))
    parser.add_argument("--pairs", type=int, default=3, help="pairs in the programme")
    parser.add_argument(
        "--crashes", type=int, default=500, help="at least this many crashes per provider"
    )
    parser.add_argument("--timers", type=int, default=10, help="random moments per phase")
    parser.add_argument("--fault-points", type=int, default=12, help="crashes per phase, faults")
    parser.add_argument("--fault-rate", type=float, default=0.2, help="share of requests failed")
    parser.add_argument("--fresh-points", type=int, default=6, help="per phase, new interpreter")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("bench/results/crash.json"))
    args = parser.parse_args(argv)
    if sys.platform != "linux":
        parser.error("the crash harness kills by pid and forks a warm interpreter: Linux only")
    rows: list[Row] = []
    started = time.monotonic()
    for provider in args.providers.split(","):
        if provider not in PROVIDERS:
            parser.error(f"unknown provider {provider!r}; choose from {', '.join(PROVIDERS)}")
        run_provider(provider, args, rows, sys.stdout)
    elapsed = time.monotonic() - started
    summary = table(rows)
    print()
    print(summary)
    total = Tally()
    for row in rows:
        total.merge(row.tally)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "settings": {k: str(v) for k, v in vars(args).items()},
        "seconds": round(elapsed, 1),
        "totals": {
            "crashes": total.crashes,
            "missed": total.missed,
            "runs": total.runs,
            "duplicates": total.duplicates,
            "lost": total.lost,
            "uncertain": total.uncertain,
            "problems": len(total.problems),
            "per_provider": per_provider(rows),
        },
        "rows": [
            {**{k: v for k, v in asdict(row).items() if k != "tally"}, **asdict(row.tally)}
            for row in rows
        ],
        "table": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{total.crashes} crashes in {elapsed / 60:.1f} min; results in {args.out}")
    short = [p for p, crashes in per_provider(rows).items() if crashes < args.crashes]
    if short:
        print(f"fewer than {args.crashes} crashes on {', '.join(short)}", file=sys.stderr)
    return 1 if total.problems or short else 0


def per_provider(rows: Sequence[Row]) -> dict[str, int]:
    crashes: dict[str, int] = {}
    for row in rows:
        crashes[row.provider] = crashes.get(row.provider, 0) + row.tally.crashes
    return crashes


if __name__ == "__main__":
    raise SystemExit(main())
