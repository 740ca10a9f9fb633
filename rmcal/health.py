"""Cadence health: does a pair keep its rhythm?

Why periods and not just sessions: a programme's promise is a rhythm ("we meet weekly"), so a
session moved from Wednesday to Friday of the same week keeps the cadence, while one moved to
next week leaves a gap. Health therefore buckets sessions into *cadence periods* and judges the
periods.

Periods come from the series' own recurrence (as the calendar holds it now): the calendar unit
of its FREQ (week starting Monday, month, day, year) in the series' time zone, one period per
original slot, ``INTERVAL`` units long. Boundaries are local midnights, so a DST change never
pushes a Monday-morning session into the previous week. A held session counts in the period it
actually took place in; a cancelled one in the period of its original slot.

A period is

* **held** as soon as a session held in it has ended,
* **missed** when it is over without one, or earlier, when every session in it has already been
  decided without being held (cancelled, declined, a no-show),
* **upcoming** otherwise.

A pair's state, from the decided periods at ``now`` and ``thresholds``:

* **not started**: no series in the calendar, or no period decided yet;
* **ended**: the whole series was cancelled, or it was ended early (fewer sessions than planned)
  and its last session is behind us;
* **completed**: every period is decided and the series ran its planned length;
* **off track** / **at risk**: the trailing run of missed periods reaches
  ``off_track_missed`` / ``at_risk_missed``;
* **on track** otherwise.

Everything here is a pure function of (pair, series, occurrences, now).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from rmcal.attendance import Outcome, Session, classify_series
from rmcal.model import Pair
from rmcal.provider import Occurrence, Series
from rmcal.recurrence import end_of_day, expand, parse_parts, with_until


class State(StrEnum):
    ON_TRACK = "on track"
    AT_RISK = "at risk"
    OFF_TRACK = "off track"
    COMPLETED = "completed"
    NOT_STARTED = "not started"
    ENDED = "ended"


# The order in summaries and tables: the healthy first, then what needs attention.
STATE_ORDER = (
    State.ON_TRACK,
    State.AT_RISK,
    State.OFF_TRACK,
    State.COMPLETED,
    State.NOT_STARTED,
    State.ENDED,
)
NEEDS_ATTENTION = frozenset({State.AT_RISK, State.OFF_TRACK})


@dataclass(frozen=True)
class Period:
    """One cadence period: [start, end) in the series zone, and what became of it."""

    index: int
    start: datetime
    end: datetime
    status: Outcome
    sessions: tuple[Session, ...] = ()
    reason: str | None = None  # why a missed period was missed, in a lead's words

    @property
    def decided(self) -> bool:
        return self.status is not Outcome.UPCOMING


@dataclass(frozen=True)
class PairHealth:
    """One reading of a pair's cadence health at ``now``."""

    pair_id: str
    cohort_id: str
    series_key: str | None
    timezone: str
    state: State
    sessions: tuple[Session, ...]
    periods: tuple[Period, ...]
    held: int  # sessions held so far
    due: int  # sessions whose slot has passed (held or missed)
    confirmed: int  # held sessions confirmed by measured attendance
    planned: int | None  # sessions the config plans (None: open-ended)
    streak: int  # trailing run of held periods
    longest_streak: int
    missed_run: int  # trailing run of missed periods
    last_held: datetime | None  # end of the last held session
    days_since_held: int | None
    next_session: Session | None  # the next session that, as things stand, goes ahead
    run_start: datetime | None  # start of the first period of the current missed run
    why: str  # one line for tables and the digest

    @classmethod
    def not_started(cls, pair: Pair, planned: int | None) -> PairHealth:
        """The reading of a pair the calendar holds no series for (yet, or any more)."""
        return cls(
            pair_id=pair.id,
            cohort_id=pair.cohort_id,
            series_key=None,
            timezone=pair.mentee.timezone,
            state=State.NOT_STARTED,
            sessions=(),
            periods=(),
            held=0,
            due=0,
            confirmed=0,
            planned=planned,
            streak=0,
            longest_streak=0,
            missed_run=0,
            last_held=None,
            days_since_held=None,
            next_session=None,
            run_start=None,
            why="no series in the calendar (run rmcal schedule)",
        )

    @property
    def last_miss(self) -> Session | None:
        missed = [s for s in self.sessions if s.missed]
        return missed[-1] if missed else None

    @property
    def needs_attention(self) -> bool:
        return self.state in NEEDS_ATTENTION

    def snapshot(self) -> dict[str, Any]:
        """The reading as stored in the state file (JSON-friendly, stable keys)."""
        return {
            "cohort_id": self.cohort_id,
            "pair_id": self.pair_id,
            "series_key": self.series_key,
            "state": str(self.state),
            "held": self.held,
            "due": self.due,
            "planned": self.planned,
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


# -- periods -------------------------------------------------------------------------------


def _unit(rule: str) -> tuple[str, int]:
    parts = parse_parts(rule)
    unit = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}.get(
        parts["FREQ"], "week"
    )
    return unit, int(parts.get("INTERVAL", "1"))


def _floor(moment: datetime, unit: str, zone: ZoneInfo) -> date:
    local = moment.astimezone(zone).date()
    if unit == "week":
        return local - timedelta(days=local.weekday())
    if unit == "month":
        return local.replace(day=1)
    if unit == "year":
        return local.replace(month=1, day=1)
    return local


def _step(day: date, unit: str, interval: int) -> date:
    if unit == "week":
        return day + timedelta(weeks=interval)
    if unit == "month":
        return day + relativedelta(months=interval)
    if unit == "year":
        return day + relativedelta(years=interval)
    return day + timedelta(days=interval)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def period_bounds(
    original_starts: Sequence[datetime], rule: str, timezone: str
) -> list[tuple[datetime, datetime]]:
    """[start, end) of each cadence period, one per distinct calendar unit of the slots."""
    if not original_starts:
        return []
    zone = ZoneInfo(timezone)
    unit, interval = _unit(rule)
    floors = sorted({_floor(s, unit, zone) for s in original_starts})
    ends = [*floors[1:], _step(floors[-1], unit, interval)]
    return [(_midnight(a, zone), _midnight(b, zone)) for a, b in zip(floors, ends, strict=True)]


def _period_of(moment: datetime, starts: list[datetime]) -> int:
    index = bisect.bisect_right(starts, moment) - 1
    return min(max(index, 0), len(starts) - 1)


def _miss_text(period_sessions: Sequence[Session], zone: ZoneInfo) -> str:
    missed = [s for s in period_sessions if s.missed]
    if not missed:
        return "no session in this period"
    return "; ".join(f"{s.original_start.astimezone(zone):%a %d %b}: {s.reason}" for s in missed)


def build_periods(
    sessions: Sequence[Session], rule: str, timezone: str, now: datetime
) -> tuple[Period, ...]:
    """Bucket judged sessions into cadence periods and judge each period (module docstring)."""
    bounds = period_bounds([s.original_start for s in sessions], rule, timezone)
    if not bounds:
        return ()
    zone = ZoneInfo(timezone)
    starts = [b[0] for b in bounds]
    members: list[list[Session]] = [[] for _ in bounds]
    for session in sessions:
        # Cancelled sessions stay in their original slot's period; others count where they are.
        where = session.original_start if session.occurrence.cancelled else session.start
        members[_period_of(where, starts)].append(session)
    periods = []
    for index, ((start, end), inside) in enumerate(zip(bounds, members, strict=True)):
        if any(s.held for s in inside):
            status, reason = Outcome.HELD, None
        elif end <= now or (inside and all(not s.upcoming for s in inside)):
            status, reason = Outcome.MISSED, _miss_text(inside, zone)
        else:
            status, reason = Outcome.UPCOMING, None
        periods.append(
            Period(
                index=index,
                start=start,
                end=end,
                status=status,
                sessions=tuple(inside),
                reason=reason,
            )
        )
    return tuple(periods)


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
    zone = ZoneInfo(series.timezone)
    held_sessions = [s for s in sessions if s.held]
    held = len(held_sessions)
    due = sum(1 for s in sessions if not s.upcoming)
    confirmed = sum(1 for s in held_sessions if s.confirmed)
    streak, longest, missed_run, run_start = _runs(periods)
    last_held = held_sessions[-1].end if held_sessions else None
    days_since = None if last_held is None else max((now - last_held).days, 0)
    upcoming = [s for s in sessions if s.will_happen]
    next_session = min(upcoming, key=lambda s: s.start) if upcoming else None
    decided = [p for p in periods if p.decided]
    ended_early = planned is not None and len(sessions) < planned
    of_planned = f" of {planned}" if planned is not None else ""

    if series.cancelled:
        state, why = State.ENDED, "the series was cancelled in the calendar"
    elif not decided:
        state = State.NOT_STARTED
        first = next_session or (sessions[0] if sessions else None)
        why = f"first session {first.start.astimezone(zone):%a %d %b}" if first else ""
    elif len(decided) == len(periods):
        if ended_early:
            state = State.ENDED
            why = f"series ended after {len(sessions)}{of_planned} sessions; {held} held"
        else:
            state = State.COMPLETED
            why = f"held {held} of {len(sessions)} sessions"
    elif missed_run and missed_run >= thresholds.off_track_missed:
        state = State.OFF_TRACK
        why = _run_text(decided, missed_run)
    elif missed_run and missed_run >= thresholds.at_risk_missed:
        state = State.AT_RISK
        why = _run_text(decided, missed_run)
    else:
        state, why = State.ON_TRACK, f"held {held} of {due}"
    if state in NEEDS_ATTENTION and next_session is None:
        why += "; no session left in the calendar"
    return PairHealth(
        pair_id=pair.id,
        cohort_id=pair.cohort_id,
        series_key=series.key,
        timezone=series.timezone,
        state=state,
        sessions=sessions,
        periods=periods,
        held=held,
        due=due,
        confirmed=confirmed,
        planned=planned,
        streak=streak,
        longest_streak=longest,
        missed_run=missed_run,
        last_held=last_held,
        days_since_held=days_since,
        next_session=next_session,
        run_start=run_start if state in NEEDS_ATTENTION else None,
        why=why,
    )


def _run_text(decided: Sequence[Period], missed_run: int) -> str:
    run = decided[-missed_run:]
    noun = "period" if missed_run == 1 else "periods in a row"
    return f"missed {missed_run} {noun}: " + "; ".join(p.reason or "" for p in run)


def summary_line(states: Sequence[State]) -> str:
    """``12 pairs: 9 on track, 2 at risk, 1 off track`` (states with no pair are left out)."""
    total = len(states)
    counts = [(state, sum(1 for s in states if s is state)) for state in STATE_ORDER]
    parts = [f"{count} {state}" for state, count in counts if count]
    noun = "pair" if total == 1 else "pairs"
    return f"{total} {noun}: " + ", ".join(parts) if parts else "0 pairs"
