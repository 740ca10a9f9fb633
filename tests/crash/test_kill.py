"""Issue 10, item 3: ``rmcal schedule`` and ``rmcal tick`` killed with SIGKILL and run again,
on the local provider and against the fake Graph and Google, end as if never interrupted.

CI runs a seeded sample of the crash points (each API request and each file write, before and
after, and a random moment) on small programmes; ``python -m bench.crash`` kills at every point
and at many random moments, with and without injected network faults (bench/README.md). What
is checked after each crash is in ``tests/crash/harness.py``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.crash.harness import CrashPoint, harness, sample, sweep
from tests.crash.worlds import World

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="kills by pid and forks a warm interpreter (Linux)"
)

POINTS = 9  # crash points per phase, drawn from every request and write, before and after
TIMERS = 1  # kills at a random moment, per phase


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """A folder in memory when there is one: a kill tests the process, not the disk, and the
    local provider's fsync per file would otherwise dominate the time."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="rmcal-crash-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize(
    ("name", "lookup"),
    [("local", False), ("microsoft", False), ("google", True)],
    ids=["local", "microsoft, resolved by hand", "google, sent mail lookup"],
)
def test_a_killed_run_leaves_no_duplicate_nothing_lost_and_doubt_only_in_flight(
    scratch: Path, name: str, lookup: bool
) -> None:
    with harness(name, scratch, pairs=2, lookup=lookup, phases=("schedule", "tick")) as made:
        tallies = {
            phase: sweep(made, sample(POINTS, timers=TIMERS, seed=10), phases=[phase])
            for phase in ("schedule", "tick")
        }
    for phase, tally in tallies.items():
        print(
            f"{name} {phase}: crashes {tally.crashes}, duplicates {tally.duplicates}, "
            f"lost {tally.lost}, uncertain {tally.uncertain}"
        )
        assert tally.problems == []
        assert (tally.duplicates, tally.lost) == (0, 0)
        assert tally.crashes >= POINTS  # the drawn points all kill; a timer may come too late


def test_the_harness_sees_a_second_copy_when_a_crash_loses_the_ledger(scratch: Path) -> None:
    """The checks can fail: a state file lost between the kill and the re-run (the ledger with
    it) makes the re-run send again what had gone out, and the harness counts each copy."""

    def lose_the_ledger(w: World) -> None:
        for part in w.folder.glob("state.db*"):
            part.unlink()

    with harness("microsoft", scratch, pairs=2, phases=("schedule", "tick")) as made:
        sends = [a.number for a in made.reference.arrivals["tick"] if made.w.send_key(a)]
        point = CrashPoint("http", sends[-1], after=True)  # the last send carried out
        outcome = made.crash("tick", point, tamper=lose_the_ledger)
    assert outcome.killed
    assert outcome.duplicates == len(sends)
    assert any("went out 2 times" in problem for problem in outcome.problems)
