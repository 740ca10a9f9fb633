"""How good ``rmcal match`` is, and how fast: beside random pairing and a greedy matcher.

On generated organisations (``bench/org.py``) of 50, 500 and 5,000 people, in one run:

- **rmcal**: the real pipeline from the people file on disk (read, shared hours, rules, score,
  optimal assignment, reasons), timed whole;
- **random**: what chat bots do: shuffle the mentors and the mentees who take part and pair
  them off, one pair each, no rules;
- **greedy**: the usual hand-written matcher: every allowed pair by score, best first, kept
  while both people have a place left (same rules and score as rmcal, so its time includes
  computing them).

Each is judged the same way: pairs, total score (rmcal's formula), the share of pairs with at
least 2 shared hours a week in both windows at every session, and hard-rule violations counted
one pair at a time (too few shared hours or no slot, no shared language, a management chain
walked from the manager column, an earlier pair or avoid list, more pairs than places, the same
two twice). rmcal's pairs are also handed to the real slot finder (``rmcal.slots.find_slot``),
which must place every one of them. One core: BLAS threads are pinned to one.

    python -m bench.match                          # 50, 500, 5000 people
    python -m bench.match --sizes 200 --out /tmp/match.json
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402  (after pinning the BLAS threads)
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from bench.org import organisation, write_people  # noqa: E402
from rmcal.config import load_config  # noqa: E402
from rmcal.match.constraints import chains, hard_rules  # noqa: E402
from rmcal.match.history import history  # noqa: E402
from rmcal.match.people import Participant, People, read_people  # noqa: E402
from rmcal.match.run import _shared, match_people  # noqa: E402
from rmcal.match.scoring import terms  # noqa: E402
from rmcal.model import Cohort, Config, Pair, Person  # noqa: E402
from rmcal.slots import Slot, find_slot  # noqa: E402

NOW = datetime(2027, 6, 1, tzinfo=UTC)
CONFIG = """\
programme:
  name: Benchmark programme
  purpose: Juniors teach seniors.
  organizer: {email: rm@org.example}
  timezone: Europe/London
provider: {kind: local}
defaults: {cadence: every 2 weeks, sessions: 6, duration: 45m}
matching: {min_overlap: 1h}
cohorts:
  - id: bench
    start: 2027-09-06
    pairs_csv: ./pairs.csv
"""
SLOT_CHECKS = 300  # rmcal pairs handed to the slot finder per size (all of them when fewer)


class Judge:
    """The rules and scores every method is judged by, for everyone who takes part."""

    def __init__(self, config: Config, cohort: Cohort, people: People) -> None:
        started = time.perf_counter()
        self.people = people
        past = history(config, cohort.id, people.rows)
        active = [p for p in people.rows if not p.opt_out and p.capacity > 0]
        self.mentors = sorted((p for p in active if p.role == "mentor"), key=lambda p: p.email)
        self.mentees = sorted((p for p in active if p.role == "mentee"), key=lambda p: p.email)
        self.hours, slot = _shared(self.mentors, self.mentees, cohort)
        self.rules = hard_rules(
            self.mentors,
            self.mentees,
            hours=self.hours,
            slot=slot,
            rules=config.matching,
            everyone=people.rows,
            earlier=past.earlier,
        )
        self.score = terms(self.mentors, self.mentees, hours=self.hours).score(
            config.matching.weights
        )
        self.seconds = time.perf_counter() - started
        self.above = chains(people.rows, config.matching.management_chain)
        self.index = {p.email: i for i, p in enumerate(self.mentors)}
        self.index.update({p.email: j for j, p in enumerate(self.mentees)})
        self.capacity = {p.email: p.capacity for p in [*self.mentors, *self.mentees]}

    def judge(self, pairs: list[tuple[int, int]], seconds: float) -> dict[str, Any]:
        violations: Counter[str] = Counter()
        places: Counter[str] = Counter()
        for i, j in pairs:
            mentor, mentee = self.mentors[i], self.mentees[j]
            places.update((mentor.email, mentee.email))
            if not self.rules.hours[i, j]:
                violations["hours"] += 1
            if not self.rules.language[i, j]:
                violations["language"] += 1
            if mentee.email in self.above[mentor.email] or mentor.email in self.above[mentee.email]:
                violations["chain"] += 1
            if not self.rules.history[i, j]:
                violations["repeat or avoid"] += 1
        for email, count in places.items():
            violations["places"] += max(0, count - self.capacity[email])
        violations["same two twice"] = len(pairs) - len(set(pairs))
        total = float(sum(self.score[i, j] for i, j in pairs))
        roomy = sum(1 for i, j in pairs if self.hours[i, j] >= 2)
        return {
            "pairs": len(pairs),
            "total_score": round(total, 1),
            "mean_score": round(total / len(pairs), 2) if pairs else 0.0,
            "share_2h": round(roomy / len(pairs), 3) if pairs else 0.0,
            "violations": sum(violations.values()),
            "violations_by_rule": {k: v for k, v in violations.items() if v},
            "seconds": round(seconds, 3),
        }


def chatbot(judge: Judge, seed: int) -> tuple[list[tuple[int, int]], float]:
    started = time.perf_counter()
    rng = random.Random(seed)
    mentors, mentees = list(range(len(judge.mentors))), list(range(len(judge.mentees)))
    rng.shuffle(mentors)
    rng.shuffle(mentees)
    return list(zip(mentors, mentees, strict=False)), time.perf_counter() - started


def greedy(judge: Judge) -> tuple[list[tuple[int, int]], float]:
    started = time.perf_counter()
    left = {("m", i): p.capacity for i, p in enumerate(judge.mentors)}
    left.update({("e", j): p.capacity for j, p in enumerate(judge.mentees)})
    rows, columns = judge.rules.allowed.nonzero()
    order = sorted(zip(rows.tolist(), columns.tolist(), strict=True), key=lambda e: -judge.score[e])
    pairs = []
    for i, j in order:
        if left[("m", i)] and left[("e", j)]:
            pairs.append((i, j))
            left[("m", i)] -= 1
            left[("e", j)] -= 1
    return pairs, time.perf_counter() - started + judge.seconds


def slot_check(cohort: Cohort, pairs: list[tuple[Participant, Participant]]) -> float:
    """The share of pairs the real slot finder places (windows only, as at match time)."""

    def person(p: Participant) -> Person:
        own = p.window if (p.days or p.hours) else None
        return Person(p.email, p.name, p.timezone, own)

    placed = 0
    for mentor, mentee in pairs:
        pair = Pair(cohort.id, person(mentor), person(mentee), cohort.settings)
        placed += isinstance(
            find_slot(pair, cohort.start, {}, programme_zone="Europe/London"), Slot
        )
    return placed / len(pairs) if pairs else 1.0


def measure(size: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="rmcal-match-bench-") as scratch:
        folder = Path(scratch)
        write_people(organisation(size), folder / "people.csv")
        (folder / "programme.yaml").write_text(CONFIG)
        config = load_config(folder / "programme.yaml", now=NOW, unread_pairs_csv="bench")
        cohort = config.cohort("bench")
        started = time.perf_counter()
        people = read_people(
            folder / "people.csv", shown="people.csv", cohort=cohort, programme_zone="Europe/London"
        )
        result = match_people(config, cohort, people)
        seconds = time.perf_counter() - started
    judge = Judge(config, cohort, people)
    ours = [(judge.index[p.mentor.email], judge.index[p.mentee.email]) for p in result.pairs]
    sample = random.Random(size).sample(result.pairs, min(SLOT_CHECKS, len(result.pairs)))
    rows = []
    for method, (pairs, elapsed) in (
        ("rmcal", (ours, seconds)),
        ("greedy", greedy(judge)),
        ("random", chatbot(judge, seed=size)),
    ):
        row = {"people": size, "method": method, **judge.judge(pairs, elapsed)}
        row["mentors"], row["mentees"] = len(judge.mentors), len(judge.mentees)
        if method == "rmcal":
            row["slot_finder_places"] = slot_check(cohort, [(p.mentor, p.mentee) for p in sample])
            row["slot_finder_checked"] = len(sample)
        rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| people | method | pairs | total score | mean score | pairs with >= 2 h/week | "
        "violations | wall time |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['people']:,} | {row['method']} | {row['pairs']:,} | {row['total_score']:,.1f} "
            f"| {row['mean_score']:.2f} | {row['share_2h']:.1%} | {row['violations']:,} "
            f"| {row['seconds']:.2f} s |"
        )
    return "\n".join(lines)


def main_cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,500,5000")
    parser.add_argument("--out", type=Path, default=Path("bench/results/match.json"))
    args = parser.parse_args(argv)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        measured = measure(size)
        rows.extend(measured)
        for row in measured:
            print(json.dumps(row), flush=True)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cores_used": 1,
        },
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(rows))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main_cli()
