"""Cadence health: does a pair keep its rhythm, and how did it finish?

Health judges cadence periods (``rmcal.periods``: a week for a weekly pair) and counts in them,
so that every number a person reads ("held 5 of 6 weeks") agrees with the heatmap beside it;
sessions are named inside their periods where they matter (a second session in one week, a
session moved into the next).

A pair's state, from the decided periods at ``now`` and ``thresholds``, first match wins:

* **ended early**: the whole series was cancelled in the calendar, or it ran fewer sessions
  than planned and its last session is behind us (and at least one period was held);
* **never started**: the series is over (or cancelled) without a single held period;
* **completed**: every period is decided and the series ran its planned length; the reading
  says how many of its periods were held ("held 6 of 8 weeks");
* **series declined**: every remaining session (at least two) is declined, by the mentor, the
  mentee or both: known as soon as the calendar says so, before any of those slots passes;
* **not started**: no series in the calendar, or no period decided yet;
* **off track** / **at risk**: the trailing run of missed periods reaches
  ``off_track_missed`` / ``at_risk_missed``;
* **on track** otherwise.

Held sessions that a lead should read twice, moved outside someone's hours or held by a
delegate (``rmcal.attendance``), still hold their period; they are counted and named in the
reading.

Everything here is a pure function of (pair, series, occurrences, now).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from rmcal.attendance import ROLES, Outcome, Session, classify_series
from rmcal.model import Pair
from rmcal.periods import Period, Unit, build_periods, planned_periods
from rmcal.provider import Occurrence, Series
from rmcal.recurrence import end_of_day, expand, with_until


class State(StrEnum):
    ON_TRACK = "on track"
    AT_RISK = "at risk"
    OFF_TRACK = "off track"
    DECLINED = "series declined"
    NOT_STARTED = "not started"
    COMPLETED = "completed"
    ENDED = "ended early"
    NEVER_STARTED = "never started"


# The order in summaries and tables: running pairs (the healthy first, then what needs
# attention), then pairs not yet started, then how the finished ones finished.
STATE_ORDER = (
    State.ON_TRACK,
    State.AT_RISK,
    State.OFF_TRACK,
    State.DECLINED,
    State.NOT_STARTED,
    State.COMPLETED,
    State.ENDED,
    State.NEVER_STARTED,
)
# A lead can still rescue these: the digest lists them under "needs attention".
NEEDS_ATTENTION = frozenset({State.AT_RISK, State.OFF_TRACK, State.DECLINED})
# The pair itself is nudged (once per missed run) in these.
NUDGED = frozenset({State.AT_RISK, State.OFF_TRACK})
FINISHED = frozenset({State.COMPLETED, State.ENDED, State.NEVER_STARTED})
WEEKLY = Unit("week", "weeks")


@dataclass(frozen=True)
class PairHealth:
    """One reading of a pair's cadence health at ``now``.

    Counts in periods (``unit`` names them) are what people read; counts in sessions stay for
    exports and for the sessions-in-a-period detail.
    """

    pair_id: str
    cohort_id: str
    series_key: str | None
    timezone: str
    state: State
    why: str  # one line for tables and the digest
    unit: Unit = WEEKLY
    sessions: tuple[Session, ...] = ()
    periods: tuple[Period, ...] = ()
    periods_held: int = 0
    periods_due: int = 0  # decided periods (held or missed)
    periods_planned: int | None = None  # periods the planned sessions fill (None: open-ended)
    sessions_held: int = 0
    sessions_due: int = 0  # sessions whose slot has passed (held or missed)
    sessions_confirmed: int = 0  # held sessions confirmed by measured attendance
    sessions_planned: int | None = None  # sessions the config plans (None: open-ended)
    held_outside_hours: int = 0  # held sessions whose time left someone's hours
    held_by_delegate: int = 0  # held sessions where a delegate stood in
    streak: int = 0  # trailing run of held periods
    longest_streak: int = 0
    missed_run: int = 0  # trailing run of missed periods
    last_held: datetime | None = None  # end of the last held session
    days_since_held: int | None = None
    next_session: Session | None = None  # the next session that, as things stand, goes ahead
    run_start: datetime | None = None  # start of the first period of the current missed run
    declined_by: tuple[str, ...] = ()  # who declined the whole rest of the series

    @classmethod
    def not_started(cls, pair: Pair, planned: int | None) -> PairHealth:
        """The reading of a pair the calendar holds no series for (yet, or any more)."""
        return cls(
            pair_id=pair.id,
            cohort_id=pair.cohort_id,
            series_key=None,
            timezone=pair.mentee.timezone,
            state=State.NOT_STARTED,
            why="no series in the calendar (run rmcal schedule)",
            sessions_planned=planned,
        )

    @property
    def last_miss(self) -> Session | None:
        missed = [s for s in self.sessions if s.missed]
        return missed[-1] if missed else None

    @property
    def needs_attention(self) -> bool:
        return self.state in NEEDS_ATTENTION

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def caveats(self) -> str:
        """``1 held outside hours; 1 held by delegate`` ("" when there is nothing to say)."""
        return _caveats(self.held_outside_hours, self.held_by_delegate)

    def snapshot(self) -> dict[str, Any]:
        """The reading as stored in the state file (JSON-friendly, stable keys)."""
        return {
            "cohort_id": self.cohort_id,
            "pair_id": self.pair_id,
            "series_key": self.series_key,
            "state": str(self.state),
            "held": self.sessions_held,
            "due": self.sessions_due,
            "planned": self.sessions_planned,
            "streak": self.streak,
            "missed_run": self.missed_run,
            "periods": "".join(_CELL[p.status] for p in self.periods),
            "last_held": _iso(self.last_held),
            "next_session": _iso(self.next_session.start if self.next_session else None),
        }


_CELL = {Outcome.HELD: "H", Outcome.MISSED: "M", Outcome.UPCOMING: "."}
# Snapshot fields whose change makes a new reading worth storing (not the day counter).
SNAPSHOT_FIELDS = ("state", "held", "due", "streak", "missed_run", "periods", "series_key")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def snapshot_changed(previous: dict[str, Any] | None, current: dict[str, Any]) -> bool:
    """True when ``current`` says something ``previous`` (the last stored reading) did not."""
    if previous is None:
        return True
    return any(previous.get(k) != current.get(k) for k in SNAPSHOT_FIELDS)


# -- the reading -----------------------------------------------------------------------------


def planned_sessions(pair: Pair, series: Series | None) -> int | None:
    """How many sessions the config plans for this pair (None: open-ended)."""
    settings = pair.settings
    if settings.sessions is not None:
        return settings.sessions
    if settings.end_date is not None and series is not None:
        zone = ZoneInfo(series.timezone)
        rule = with_until(series.rrule, end_of_day(settings.end_date, zone))
        return len(expand(rule, series.start))
    return None


def _runs(periods: Sequence[Period]) -> tuple[int, int, int, datetime | None]:
    """(trailing held run, longest held run, trailing missed run, start of the missed run)."""
    decided = [p for p in periods if p.decided]
    streak = longest = current = 0
    for period in decided:
        current = current + 1 if period.status is Outcome.HELD else 0
        longest = max(longest, current)
    for period in reversed(decided):
        if period.status is not Outcome.HELD:
            break
        streak += 1
    missed_run = 0
    run_start = None
    for period in reversed(decided):
        if period.status is not Outcome.MISSED:
            break
        missed_run += 1
        run_start = period.start
    return streak, longest, missed_run, run_start


def _held(periods: int, of: int, unit: Unit, sessions: int) -> str:
    text = f"held {periods} of {unit.count(of)}"
    if sessions != periods:
        text += f" ({sessions} session{'' if sessions == 1 else 's'})"
    return text


def _roles(roles: Sequence[str]) -> str:
    ordered = [r for r in ROLES if r in roles]
    return "mentor and mentee" if len(ordered) == 2 else ordered[0]


def _declined_series(sessions: Sequence[Session]) -> tuple[str, ...]:
    """Who declined every remaining session (at least two), or () when someone did not."""
    ahead = [s for s in sessions if s.upcoming and not s.occurrence.cancelled]
    if len(ahead) < 2 or not all(s.declined_by for s in ahead):
        return ()
    who = {role for s in ahead for role in s.declined_by}
    return tuple(r for r in ROLES if r in who)


def _misses(sessions: Sequence[Session]) -> str:
    """``declined by mentor: 8`` or ``cancelled: 2, declined by mentee: 1``."""
    counted = Counter(str(s.reason) for s in sessions if s.missed and s.reason)
    return ", ".join(f"{reason}: {n}" for reason, n in counted.items())


def _run_text(decided: Sequence[Period], missed_run: int, unit: Unit) -> str:
    run = decided[-missed_run:]
    counted = unit.count(missed_run) + (" in a row" if missed_run > 1 else "")
    return f"missed {counted}: " + "; ".join(p.reason or "" for p in run)


def _state(
    series: Series,
    sessions: Sequence[Session],
    periods: Sequence[Period],
    *,
    planned: int | None,
    periods_planned: int | None,
    unit: Unit,
    at_risk: int,
    off_track: int,
    missed_run: int,
) -> tuple[State, str, tuple[str, ...]]:
    """(state, why, who declined the series) by the rules in the module docstring."""
    zone = ZoneInfo(series.timezone)
    decided = [p for p in periods if p.decided]
    held = sum(1 for p in periods if p.status is Outcome.HELD)
    sessions_held = sum(1 for s in sessions if s.held)
    if series.cancelled:
        if held:
            why = "the series was cancelled in the calendar; "
            return State.ENDED, why + _held(held, len(decided), unit, sessions_held), ()
        return State.NEVER_STARTED, "the series was cancelled in the calendar", ()
    if periods and len(decided) == len(periods):
        if not held:
            why = f"no session held in {unit.count(len(periods))}"
            misses = _misses(sessions)
            return State.NEVER_STARTED, why + (f" ({misses})" if misses else ""), ()
        if planned is not None and len(sessions) < planned:
            ran = unit.count(periods_planned or len(periods))
            why = f"ran {len(periods)} of {ran}"
            return State.ENDED, why + "; " + _held(held, len(periods), unit, sessions_held), ()
        return State.COMPLETED, _held(held, len(periods), unit, sessions_held), ()
    declined_by = _declined_series(sessions)
    if declined_by:
        ahead = [s for s in sessions if s.upcoming and not s.occurrence.cancelled]
        first = ahead[0].start.astimezone(zone)
        why = (
            f"the {_roles(declined_by)} declined every remaining session "
            f"({len(ahead)}, from {first:%a %d %b})"
        )
        return State.DECLINED, why, declined_by
    if not decided:
        ahead = [s for s in sessions if s.will_happen] or list(sessions)
        why = f"first session {ahead[0].start.astimezone(zone):%a %d %b}" if ahead else ""
        return State.NOT_STARTED, why, ()
    if missed_run and missed_run >= off_track:
        return State.OFF_TRACK, _run_text(decided, missed_run, unit), ()
    if missed_run and missed_run >= at_risk:
        return State.AT_RISK, _run_text(decided, missed_run, unit), ()
    return State.ON_TRACK, _held(held, len(decided), unit, sessions_held), ()


def _caveats(outside: int, delegated: int) -> str:
    parts = []
    if outside:
        parts.append(f"{outside} held outside hours")
    if delegated:
        parts.append(f"{delegated} held by delegate")
    return "; ".join(parts)


def assess(
    pair: Pair,
    series: Series | None,
    occurrences: Sequence[Occurrence],
    now: datetime,
) -> PairHealth:
    """A pair's cadence health at ``now`` from what its calendar series reports."""
    thresholds = pair.settings.thresholds
    planned = planned_sessions(pair, series)
    if series is None:
        return PairHealth.not_started(pair, planned)
    sessions = classify_series(occurrences, pair, now, thresholds)
    periods = build_periods(sessions, series.rrule, series.timezone, now)
    unit = Unit.of(series.rrule)
    held_sessions = [s for s in sessions if s.held]
    streak, longest, missed_run, run_start = _runs(periods)
    last_held = held_sessions[-1].end if held_sessions else None
    upcoming = [s for s in sessions if s.will_happen]
    next_session = min(upcoming, key=lambda s: s.start) if upcoming else None
    if planned is None:
        periods_planned = None
    elif planned == len(sessions):
        periods_planned = len(periods)
    else:
        periods_planned = planned_periods(series.rrule, series.start, series.timezone, planned)
    state, why, declined_by = _state(
        series,
        sessions,
        periods,
        planned=planned,
        periods_planned=periods_planned,
        unit=unit,
        at_risk=thresholds.at_risk_missed,
        off_track=thresholds.off_track_missed,
        missed_run=missed_run,
    )
    if state in NUDGED and next_session is None:
        why += "; no session left in the calendar"
    outside = sum(1 for s in held_sessions if s.outside_hours)
    delegated = sum(1 for s in held_sessions if s.delegate)
    return PairHealth(
        pair_id=pair.id,
        cohort_id=pair.cohort_id,
        series_key=series.key,
        timezone=series.timezone,
        state=state,
        why="; ".join(filter(None, (why, _caveats(outside, delegated)))),
        unit=unit,
        sessions=sessions,
        periods=periods,
        periods_held=sum(1 for p in periods if p.status is Outcome.HELD),
        periods_due=sum(1 for p in periods if p.decided),
        periods_planned=periods_planned,
        sessions_held=len(held_sessions),
        sessions_due=sum(1 for s in sessions if not s.upcoming),
        sessions_confirmed=sum(1 for s in held_sessions if s.confirmed),
        sessions_planned=planned,
        held_outside_hours=outside,
        held_by_delegate=delegated,
        streak=streak,
        longest_streak=longest,
        missed_run=missed_run,
        last_held=last_held,
        days_since_held=None if last_held is None else max((now - last_held).days, 0),
        next_session=next_session,
        run_start=run_start if state in NUDGED else None,
        declined_by=declined_by,
    )


def summary_line(states: Sequence[State], *, completed_with_misses: int = 0) -> str:
    """``12 pairs: 9 on track, 2 at risk, 1 off track`` (states with no pair are left out);
    ``6 completed (2 with missed periods)`` when some completed pairs missed periods."""
    total = len(states)
    counts = [(state, sum(1 for s in states if s is state)) for state in STATE_ORDER]
    parts = [f"{count} {state}" for state, count in counts if count]
    if completed_with_misses:
        done = f"{counts[STATE_ORDER.index(State.COMPLETED)][1]} {State.COMPLETED}"
        parts[parts.index(done)] += f" ({completed_with_misses} with missed periods)"
    noun = "pair" if total == 1 else "pairs"
    return f"{total} {noun}: " + ", ".join(parts) if parts else "0 pairs"


def summary_of(healths: Sequence[PairHealth]) -> str:
    """``summary_line`` for these readings, completed pairs with misses counted apart."""
    partial = sum(
        1 for h in healths if h.state is State.COMPLETED and h.periods_held < len(h.periods)
    )
    return summary_line([h.state for h in healths], completed_with_misses=partial)
