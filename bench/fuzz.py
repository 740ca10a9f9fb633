"""The long fuzz run: ten thousand mutated configs and HR exports, and what rmcal did with them.

The normal suite runs a few hundred seeded cases (``tests/test_fuzz.py``); this runs the same
cases (``tests/fuzzing.py``) by the ten thousand, never stopping at the first problem, and
reports: cases tried, exit codes, tracebacks, hangs, files written after a rejection (and after
an acceptance: a validate or a dry run writes nothing either way), the worst CPU and wall time a
case (both commands) took against the two-second budget, and the first cases of each kind of
problem.

    python -m bench.fuzz --cases 10000                     # about fifteen minutes on two cores
    python -m bench.fuzz --cases 500 --seed 7 --out /tmp/fuzz.json

Exits 1 when any case shows a problem, so it can gate a release.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.fuzzing import BUDGET_SECONDS, Case, cases, run_case

RESULTS = Path(__file__).resolve().parent / "results" / "fuzz.json"


class Tally:
    """Everything the run saw, case by case."""

    def __init__(self) -> None:
        self.cases = 0
        self.exits: Counter[str] = Counter()
        self.problems: Counter[str] = Counter()
        self.samples: dict[str, list[dict[str, Any]]] = {}
        self.worst_cpu = 0.0
        self.worst_wall = 0.0
        self.slowest: dict[str, Any] = {}

    def add(self, case: Case, folder: Path) -> None:
        self.cases += 1
        outcomes = run_case(folder, case)
        cpu = sum(outcome.cpu for outcome in outcomes)
        if cpu > self.worst_cpu:
            self.worst_cpu = cpu
            self.slowest = {"cpu": round(cpu, 3), "steps": repr(case.steps)[:500]}
        self.worst_wall = max(self.worst_wall, sum(outcome.wall for outcome in outcomes))
        for outcome in outcomes:
            self.exits[f"{outcome.command}: exit {outcome.exit_code}"] += 1
            for problem in outcome.problems:
                kind = _kind(problem, outcome.exit_code)
                self.problems[kind] += 1
                examples = self.samples.setdefault(kind, [])
                if len(examples) < 3:
                    examples.append(
                        {
                            "command": outcome.command,
                            "problem": problem[:500],
                            "steps": repr(case.steps)[:800],
                            "output": outcome.output[:500],
                        }
                    )

    def report(self, *, seconds: float, seed_value: int) -> dict[str, Any]:
        counts = {
            "tracebacks": self.problems["traceback"],
            "hangs": self.problems["hang"],
            "writes after rejection": self.problems["wrote files after a rejection"],
            "writes after acceptance": self.problems["wrote files after an acceptance"],
            "rejections not in one line with file:line": self.problems["bad rejection line"],
            "unexpected exit codes": self.problems["unexpected exit code"],
            "over the CPU budget": self.problems["slow"],
        }
        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}",
            "seed": seed_value,
            "cases tried": self.cases,
            "commands per case": ["validate", "schedule --dry-run"],
            "seconds": round(seconds, 1),
            "exit codes": dict(sorted(self.exits.items())),
            **counts,
            "budget seconds (CPU per case, both commands)": BUDGET_SECONDS,
            "worst CPU seconds (per case)": round(self.worst_cpu, 3),
            "worst wall seconds (per case)": round(self.worst_wall, 3),
            "slowest case": self.slowest,
            "problem samples": self.samples,
        }


def _kind(problem: str, exit_code: int) -> str:
    if problem.startswith("traceback"):
        return "traceback"
    if problem == "hang":
        return "hang"
    if problem == "wrote files":
        return "wrote files after a rejection" if exit_code else "wrote files after an acceptance"
    if problem.startswith("slow"):
        return "slow"
    if problem.startswith("exit "):
        return "unexpected exit code"
    return "bad rejection line"


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


def run(total: int, seed_value: int) -> tuple[Tally, float]:
    tally = Tally()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="rmcal-fuzz-"))

    @seed(seed_value)
    @settings(
        max_examples=total,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases())
    def one(case: Case) -> None:
        with tempfile.TemporaryDirectory(dir=work) as folder:
            tally.add(case, Path(folder))
        if tally.cases % 500 == 0:
            found = sum(tally.problems.values())
            print(
                f"  {tally.cases:>6} cases, {found} problems, "
                f"worst {tally.worst_cpu:.2f} s CPU, {time.monotonic() - started:.0f} s",
                file=sys.stderr,
            )

    one()
    work.rmdir()
    return tally, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="how many cases to try")
    parser.add_argument("--seed", type=int, default=20261123, help="hypothesis seed")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON report")
    args = parser.parse_args()
    tally, seconds = run(args.cases, args.seed)
    report = tally.report(seconds=seconds, seed_value=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for key in (
        "cases tried",
        "seconds",
        "tracebacks",
        "hangs",
        "writes after rejection",
        "writes after acceptance",
        "rejections not in one line with file:line",
        "unexpected exit codes",
        "over the CPU budget",
        "worst CPU seconds (per case)",
        "worst wall seconds (per case)",
    ):
        print(f"{key}: {report[key]}")
    print(f"exit codes: {report['exit codes']}")
    print(f"report: {args.out}")
    return 1 if tally.problems else 0


if __name__ == "__main__":
    sys.exit(main())
