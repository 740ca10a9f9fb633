"""Issue 10's crash harness: kill ``rmcal schedule`` and ``rmcal tick`` at every step, re-run,
and compare what people see with a run that was never interrupted.

A *timeline* is a programme's life in four phases: ``schedule`` (every pair's series created),
``reschedule`` (every series changed: longer sessions), ``tick`` (feedback and the lead's
digest are due) and ``agendas`` (the next sessions' agendas are due). Each phase is one command
(``tests/crash/timeline.py``; with the sent-items lookup on, each tick is followed by another
twenty minutes on, past the lookup's delay, and by more, twenty minutes apart, while a send
stays uncertain).

First the timeline runs uninterrupted, saving the world before each phase and recording what
it looks like after. Then, for one phase and one *crash point*, the world before the phase is
put back and the phase's command runs with a kill armed:

* ``http k before|after``: the fake server kills the child when API request k arrives, before
  carrying it out, or once it has carried it out and before the answer leaves
  (``tests/fakes/kill.py``);
* ``write k before|after``: the child kills itself at its k-th file write (an ``os.replace``
  or a SQLite ``COMMIT``; ``tests/crash/launch.py``), before or after it;
* ``timer s``: the harness kills it ``s`` seconds after it started (any moment at all).

Then the command is run again, uninterrupted, until it finishes, and so is the rest of the
phase; sends left *uncertain* are settled by hand as an admin would after looking in the
organizer's sent items (``rmcal outbox resolve KEY --sent`` when the fake holds the message,
``--resend`` when it does not). What must hold, each counted:

* **duplicates 0**: no pair with two series, no message (by ``X-Rmcal-Key``) that went out
  twice, no invitation or update the calendar service mailed more often than in the
  uninterrupted run;
* **lost 0**: every series and every message of the uninterrupted run exists;
* the series read the same as in the uninterrupted run, and the mail ledger ends the same;
* **uncertain = in flight**: the sends the re-run records uncertain are exactly those that were
  *in flight* at the kill: recorded ``sending`` in the ledger and seen arriving at the server.
  A message rmcal had queued but not yet handed to the network is no doubt at all, and must go
  out normally. The local provider dedupes by key and is never uncertain; with the sent-items
  lookup on, the next tick settles every uncertain send by itself;
* no traceback, no exit code other than 0 or 3 after the kill, no temporary file left behind.

With ``faults``, the fake servers also fail a share of requests (429, 503, 500, stalls, dropped
connections; ``tests/fakes/faults.py``) on every run of the crash, the uninterrupted reference
excepted; uncertain sends then only have to be ones that reached the server.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.crash.launch import Spec
from tests.crash.runner import Runner, Target
from tests.crash.timeline import PHASES, SETTLE, Command, later, timeline
from tests.crash.worlds import World, debris, world
from tests.fakes.faults import FaultPlan
from tests.fakes.kill import Arrival

RERUNS = 12  # runs allowed to finish what a kill (and faults) left undone


# -- what a crash is compared on -----------------------------------------------------------------


@dataclass(frozen=True)
class CrashPoint:
    kind: str  # "http", "write" or "timer"
    at: float  # request or write number (1-based), or seconds for a timer
    after: bool = False

    def __str__(self) -> str:
        if self.kind == "timer":
            return f"timer {self.at:.3f}s"
        return f"{self.kind} {int(self.at)} {'after' if self.after else 'before'}"


@dataclass(frozen=True)
class Seen:
    """What people would see, and what the ledger says."""

    series: dict[str, list[str]]
    mail: Counter[str]
    notices: Counter[str]
    ledger: dict[str, str]


def ledger(folder: Path) -> dict[str, str]:
    """Every mail ledger row's state (the state file as the next run would find it)."""
    path = folder / "state.db"
    if not path.exists():
        return {}
    with closing(sqlite3.connect(path)) as db:  # closed: the file is replaced under it later
        try:
            return dict(db.execute("SELECT key, status FROM mail").fetchall())
        except sqlite3.OperationalError:  # killed before the schema was committed
            return {}


def seen(w: World) -> Seen:
    return Seen(w.series(), w.mail(), w.notices(), ledger(w.folder))


@dataclass
class Reference:
    """The uninterrupted timeline: the world before each phase, and what each one left."""

    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Seen] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)  # API requests of the command
    arrivals: dict[str, list[Arrival]] = field(default_factory=dict)  # and those requests
    writes: dict[str, int] = field(default_factory=dict)  # file writes of the command
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of the command


@dataclass
class Outcome:
    """One crash: where, whether the child died of it, and what was wrong afterwards."""

    world: str
    phase: str
    point: CrashPoint
    killed: bool = False
    duplicates: int = 0
    lost: int = 0
    uncertain: int = 0  # sends the re-run recorded uncertain (in flight at the kill)
    runs: int = 0
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.world} {self.phase} {self.point}: " + "; ".join(self.problems)


# -- the harness ---------------------------------------------------------------------------------


class Harness:
    """Kills one world's commands at chosen crash points and checks each outcome."""

    def __init__(
        self,
        w: World,
        runner: Runner,
        scratch: Path,
        *,
        faults: float = 0.0,
        seed: int = 0,
        phases: Sequence[str] = PHASES,
    ) -> None:
        self.w = w
        self.runner = runner
        self.scratch = scratch
        self.faults = faults
        self.seed = seed
        self.phases = timeline(w.config, lookup=w.lookup, phases=phases)
        self.reference = Reference()
        self._number = 0

    # -- one run ---------------------------------------------------------------------------

    def _spec(self, command: Command, *, kill_at: int | None = None, after: bool = False) -> Spec:
        self._number += 1
        logs = self.scratch / "logs"
        logs.mkdir(exist_ok=True)
        writes = logs / f"{self._number}.writes"
        writes.unlink(missing_ok=True)
        output = logs / f"{self._number}.out"
        output.write_bytes(b"")  # a child killed before it opened it still leaves one
        return Spec(
            args=list(command),
            cwd=str(self.w.folder),
            env={"HOME": str(self.scratch), "PATH": os.environ.get("PATH", ""), **self.w.env},
            output=str(output),
            writes=str(writes),
            kill_at=kill_at,
            after=after,
        )

    def _run(self, spec: Spec, target: Target | None = None) -> tuple[int, str]:
        target = target or Target()
        code = self.runner.run(spec, target)
        return code, Path(spec.output).read_text(errors="replace")

    def _finish(self, command: Command, outcome: Outcome | None, *, settle: bool = False) -> int:
        """Run ``command`` until it is done, as an operator would re-run it: until exit 0, or
        for a tick exit 3 with nothing left but uncertain sends. ``settle``: a tick after the
        lookup's delay, repeated while sends stay uncertain (a fault may fail the lookup, or
        leave the lookup's own re-send uncertain), each one ``SETTLE`` later as a cron runs
        them: a send left uncertain at one tick is looked up once the delay has passed."""
        code = -1
        for attempt in range(RERUNS):
            if settle and attempt:
                command = later(command, SETTLE)
            code, out = self._run(self._spec(command))
            if outcome is not None:
                outcome.runs += 1
                if "Traceback" in out:
                    outcome.problems.append(f"traceback in {command[0]}: {out[-400:]}")
                if code not in (0, 3):
                    outcome.problems.append(f"{command[0]} exit {code}: {out.strip()[-300:]}")
            elif code not in (0, 3) or "Traceback" in out:
                raise AssertionError(f"uninterrupted {command} exit {code}:\n{out}")
            states = set(ledger(self.w.folder).values())
            if settle and "uncertain" in states:
                continue
            if code == 0:
                return code
            if command[0] == "tick" and code == 3 and not states & {"failed", "sending"}:
                return code
        if outcome is not None:
            outcome.problems.append(f"{command[0]} still exit {code} after {RERUNS} runs")
        return code

    # -- the uninterrupted timeline --------------------------------------------------------

    def record(self) -> Reference:
        ref = self.reference
        for phase in self.phases:
            if phase.prepare is not None:
                phase.prepare(self.w.config)
            ref.before[phase.name] = self.w.snapshot(self.scratch / "saved" / phase.name)
            if self.w.switch is not None:
                self.w.switch.reset()
            spec = self._spec(phase.command)
            started = time.monotonic()
            code, out = self._run(spec)
            ref.seconds[phase.name] = time.monotonic() - started
            if code != 0:
                raise AssertionError(f"uninterrupted {phase.name} exit {code}:\n{out}")
            ref.arrivals[phase.name] = list(self.w.switch.arrivals) if self.w.switch else []
            ref.requests[phase.name] = len(ref.arrivals[phase.name])
            ref.writes[phase.name] = len(Path(spec.writes).read_text().splitlines())
            for command in phase.then:
                self._finish(command, None, settle=True)
            ref.after[phase.name] = seen(self.w)
        return ref

    def points(self, phase: str) -> list[CrashPoint]:
        """Every crash point of a phase's command: each request and each write, both moments."""
        found = [
            CrashPoint(kind, k, after)
            for kind, count in (
                ("http", self.reference.requests[phase]),
                ("write", self.reference.writes[phase]),
            )
            for k in range(1, count + 1)
            for after in (False, True)
        ]
        return found

    def timers(self, phase: str, count: int, rng: random.Random) -> list[CrashPoint]:
        """``count`` kills at random moments of the command's uninterrupted duration."""
        span = self.reference.seconds[phase]
        return [CrashPoint("timer", rng.uniform(0.0, span)) for _ in range(count)]

    # -- one crash -------------------------------------------------------------------------

    def crash(
        self, phase_name: str, point: CrashPoint, *, tamper: Callable[[World], None] | None = None
    ) -> Outcome:
        """Crash the phase's command at ``point``, finish the phase, compare with the reference.

        ``tamper`` changes the world between the kill and the re-run (the harness's own tests
        use it to show that a lost ledger is seen as duplicates).
        """
        phase = next(p for p in self.phases if p.name == phase_name)
        outcome = Outcome(self.w.name, phase.name, point)
        self.w.restore(self.reference.before[phase.name])
        switch = self.w.switch
        if self.faults:
            self._number += 1
            self.w.use_faults(FaultPlan(rate=self.faults, seed=self.seed * 100_003 + self._number))
        target = Target()
        if switch is not None:
            switch.reset(at=int(point.at) if point.kind == "http" else None, after=point.after)
            switch.kill = target.kill
        kill_at = int(point.at) if point.kind == "write" else None
        spec = self._spec(phase.command, kill_at=kill_at, after=point.after)
        timer = None
        if point.kind == "timer":
            timer = threading.Timer(point.at, target.kill)
            timer.start()
        code, _ = self._run(spec, target)
        if timer is not None:
            timer.cancel()
        outcome.killed = code == -signal.SIGKILL
        outcome.runs = 1
        at_kill = ledger(self.w.folder)
        arrivals = list(switch.arrivals) if switch is not None else []
        if switch is not None:
            switch.reset()
        if code not in (0, 3, -signal.SIGKILL):
            outcome.problems.append(f"the armed run exit {code}")
        if tamper is not None:
            tamper(self.w)
        self._finish(phase.command, outcome)
        if switch is not None:
            arrivals += switch.arrivals
            switch.reset()
        self._check_uncertain(outcome, at_kill, arrivals)
        for command in phase.then:
            self._finish(command, outcome, settle=True)
            if switch is not None:
                arrivals += switch.arrivals
                switch.reset()
        self._settle_by_hand(outcome)
        self._compare(outcome, self.reference.after[phase.name])
        if self.faults:
            self.w.use_faults(None)
        return outcome

    def _check_uncertain(self, outcome: Outcome, at_kill: dict[str, str], arrivals: list) -> None:
        """The sends the re-run left uncertain are those in flight at the kill, no more.

        In flight: recorded ``sending`` at the kill, and either seen arriving at the server or
        the one message about to go (recorded, its request not yet on the wire: a moment no
        client can close, since it cannot know whether its write reached the network).
        """
        rows = ledger(self.w.folder)
        uncertain = {key for key, state in rows.items() if state == "uncertain"}
        outcome.uncertain = len(uncertain)
        reached = {key for a in arrivals if (key := self.w.send_key(a))}
        sending = {key for key, state in at_kill.items() if state == "sending"}
        wrong: list[str] = []
        if self.w.name == "local" and uncertain:
            wrong.append("the local provider dedupes by key and is never uncertain")
        if self.faults:
            if stray := uncertain - sending - reached:
                wrong.append(f"{sorted(stray)} never went out")
        elif stray := uncertain - sending:
            wrong.append(f"{sorted(stray)} were not in flight at the kill")
        if len(unsent := uncertain - reached) > 1:
            wrong.append(f"{sorted(unsent)} never reached the server, yet are all in doubt")
        if (
            not self.w.lookup
            and self.w.name != "local"
            and (missed := sending & reached - uncertain)
        ):
            wrong.append(f"{sorted(missed)} reached the server in doubt, yet are not uncertain")
        if wrong:
            outcome.problems.append(
                "uncertain: " + "; ".join(wrong) + f" (uncertain {sorted(uncertain)}, sending "
                f"at the kill {sorted(sending)}, reached the server {sorted(reached)})"
            )

    def _settle_by_hand(self, outcome: Outcome) -> None:
        """Settle what is left uncertain as an admin would, after a look in the sent items."""
        rows = ledger(self.w.folder)
        uncertain = sorted(key for key, state in rows.items() if state == "uncertain")
        if uncertain and self.w.lookup:
            outcome.problems.append(f"still uncertain after the lookup: {uncertain}")
        if self.w.switch is not None:
            self.w.switch.reset()
        if self.faults:
            self.w.use_faults(None)  # the admin's own commands are not the point here
        went_out = self.w.mail()
        for key in uncertain:
            flag = "--sent" if went_out[key] else "--resend"
            command = ("outbox", "resolve", "-c", str(self.w.config), key, flag)
            code, out = self._run(self._spec(command))
            outcome.runs += 1
            if code != 0:
                outcome.problems.append(f"outbox resolve {key} {flag} exit {code}: {out[-300:]}")

    def _compare(self, outcome: Outcome, ref: Seen) -> None:
        now = seen(self.w)
        for pair, found in now.series.items():
            if len(found) > 1:
                outcome.duplicates += len(found) - 1
                outcome.problems.append(f"pair {pair} has {len(found)} series")
        for pair, wanted in ref.series.items():
            found = now.series.get(pair, [])
            if not found:
                outcome.lost += 1
                outcome.problems.append(f"pair {pair} lost its series")
            elif found[0] != wanted[0]:
                outcome.problems.append(f"pair {pair}'s series differs from the uninterrupted run")
        for key, copies in now.mail.items():
            if copies > 1:
                outcome.duplicates += copies - 1
                outcome.problems.append(f"{key} went out {copies} times")
        for key in ref.mail:
            if not now.mail[key]:
                outcome.lost += 1
                outcome.problems.append(f"{key} never went out")
        if extra := sorted(set(now.mail) - set(ref.mail)):
            outcome.problems.append(f"mail the uninterrupted run did not send: {extra}")
        for notice, count in (now.notices - ref.notices).items():
            outcome.duplicates += count
            outcome.problems.append(f"{notice}: {count} more invitation(s) than uninterrupted")
        for notice, count in (ref.notices - now.notices).items():
            outcome.lost += count
            outcome.problems.append(f"{notice}: {count} invitation(s) fewer than uninterrupted")
        if now.ledger != ref.ledger:
            drift = {
                key: (ref.ledger.get(key), now.ledger.get(key))
                for key in set(ref.ledger) | set(now.ledger)
                if ref.ledger.get(key) != now.ledger.get(key)
            }
            outcome.problems.append(f"ledger differs (uninterrupted, crashed): {drift}")
        if left := debris(self.w.folder):
            outcome.problems.append(f"temporary files left behind: {left}")


# -- a whole sweep -------------------------------------------------------------------------------


@dataclass
class Tally:
    """What a sweep injected and found, for the report."""

    crashes: int = 0  # runs that died of the kill
    missed: int = 0  # armed runs that ended before their crash point (nothing to kill)
    runs: int = 0
    duplicates: int = 0
    lost: int = 0
    uncertain: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.crashes += outcome.killed
        self.missed += not outcome.killed
        self.runs += outcome.runs
        self.duplicates += outcome.duplicates
        self.lost += outcome.lost
        self.uncertain += outcome.uncertain
        if outcome.problems:
            self.problems.append(outcome.describe())

    def merge(self, other: Tally) -> None:
        for name in ("crashes", "missed", "runs", "duplicates", "lost", "uncertain"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems += other.problems


Select = Callable[[Harness, str], Sequence[CrashPoint]]


def every_point(harness: Harness, phase: str) -> list[CrashPoint]:
    return harness.points(phase)


def sample(points: int, *, timers: int = 0, seed: int = 0) -> Select:
    """Up to ``points`` crash points per phase drawn at random (seeded), plus ``timers``."""

    def select(made: Harness, phase: str) -> list[CrashPoint]:
        rng = random.Random(f"{seed}/{made.w.name}/{phase}")
        every = made.points(phase)
        return rng.sample(every, min(points, len(every))) + made.timers(phase, timers, rng)

    return select


@contextmanager
def harness(
    name: str,
    scratch: Path,
    *,
    pairs: int,
    lookup: bool = False,
    faults: float = 0.0,
    seed: int = 0,
    fresh: bool = False,
    phases: Sequence[str] = PHASES,
) -> Iterator[Harness]:
    """A world with its uninterrupted timeline recorded, ready to crash."""
    scratch.mkdir(parents=True, exist_ok=True)
    runner = Runner(scratch, fresh=fresh)
    try:
        with world(name, scratch, pairs=pairs, lookup=lookup) as w:
            made = Harness(w, runner, scratch, faults=faults, seed=seed, phases=phases)
            made.record()
            yield made
    finally:
        runner.close()


def sweep(made: Harness, select: Select = every_point, phases: Sequence[str] = ()) -> Tally:
    """Crash each chosen point of each phase (all phases by default); one tally for all."""
    tally = Tally()
    for phase in phases or [p.name for p in made.phases]:
        for point in select(made, phase):
            tally.add(made.crash(phase, point))
    return tally
