"""Cadence periods: the unit in which rmcal counts a pair's rhythm, and says so.

Why periods and not just sessions: a programme's promise is a rhythm ("we meet weekly"), so a
session moved from Wednesday to Friday of the same week keeps the cadence, while one moved to
next week leaves a gap. Health therefore buckets sessions into *cadence periods* and judges the
periods; everything a person reads counts periods ("held 5 of 6 weeks"), with the sessions in
them named where they matter, so that a count never contradicts the heatmap beside it.

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

A missed period says what became of the sessions planned in it, by their original day: missed
and why, or moved and where to ("Wed 27 Jan: moved to Tue 02 Feb"), never a bare "no session"
on a day nobody planned.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from rmcal.attendance import Outcome, Session
from rmcal.recurrence import expand, join_parts, parse_parts

_FREQ_UNIT = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}


@dataclass(frozen=True)
class Unit:
    """What one cadence period is called: ``week``/``weeks``, ``fortnight``, ``month``..."""

    one: str
    many: str

    def count(self, n: int) -> str:
        """``1 week``, ``3 weeks``."""
        return f"{n} {self.one if n == 1 else self.many}"

    @classmethod
    def of(cls, rule: str) -> Unit:
        unit, interval = _unit(rule)
        if interval == 1:
            return cls(unit, f"{unit}s")
        if unit == "week" and interval == 2:
            return cls("fortnight", "fortnights")
        return cls(f"{interval}-{unit} period", f"{interval}-{unit} periods")


@dataclass(frozen=True)
class Miss:
    """A session planned in (or moved into) a missed period, and what became of it."""

    session: Session
    moved_out: bool  # it was moved to another period (held, due or missed there)

    @property
    def moved_to(self) -> datetime | None:
        """Where the session went, when it moved (out of the period or within it)."""
        session = self.session
        moved = session.moved and not session.occurrence.cancelled
        return session.start if self.moved_out or moved else None

    @property
    def outcome(self) -> str | None:
        """``cancelled``, ``declined by mentee``, ``held there``; None for a session that
        moved away and is still to come."""
        if self.moved_out and self.session.held:
            return "held there"
        return str(self.session.reason) if self.session.reason else None

    def text(self, zone: ZoneInfo) -> str:
        """``Wed 27 Jan: moved to Tue 02 Feb``, ``Wed 20 Jan: cancelled`` (days in ``zone``)."""
        day = f"{self.session.original_start.astimezone(zone):%a %d %b}"
        parts = [f"moved to {self.moved_to.astimezone(zone):%a %d %b}"] if self.moved_to else []
        if self.outcome:
            parts.append(self.outcome)
        return f"{day}: " + ", ".join(parts)


@dataclass(frozen=True)
class Period:
    """One cadence period: [start, end) in the series zone, and what became of it.

    ``sessions`` are the ones that count in it (held or due where they are, cancelled ones in
    their original slot); ``misses`` (for a missed period) what became of the sessions planned
    in it or moved into it.
    """

    index: int
    start: datetime
    end: datetime
    status: Outcome
    sessions: tuple[Session, ...] = ()
    misses: tuple[Miss, ...] = ()
    reason: str | None = None  # why a missed period was missed, in a lead's words

    @property
    def decided(self) -> bool:
        return self.status is not Outcome.UPCOMING

    @property
    def held_at(self) -> datetime | None:
        """When the period became held: the end of its first held session."""
        ends = [s.end for s in self.sessions if s.held]
        return min(ends) if ends else None

    @property
    def notes(self) -> tuple[str, ...]:
        """The caveats of its held sessions (outside hours, by delegate)."""
        return tuple(note for s in self.sessions if s.held and (note := s.note))

    def label(self, unit: Unit) -> str:
        """``the week of Mon 25 Jan``, ``February 2027``: the period as people name it."""
        if unit.one == "month":
            return f"{self.start:%B %Y}"
        if unit.one == "day":
            return f"{self.start:%a %d %b}"
        if unit.one == "year":
            return f"{self.start:%Y}"
        joint = "of" if unit.one == "week" else "from"
        return f"the {unit.one} {joint} {self.start:%a %d %b}"


def _unit(rule: str) -> tuple[str, int]:
    parts = parse_parts(rule)
    return _FREQ_UNIT.get(parts["FREQ"], "week"), int(parts.get("INTERVAL", "1"))


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


def planned_periods(rule: str, first: datetime, timezone: str, sessions: int) -> int:
    """How many periods ``sessions`` sessions of ``rule`` from ``first`` fill (COUNT replaced)."""
    parts = parse_parts(rule)
    parts.pop("UNTIL", None)
    parts["COUNT"] = str(sessions)
    rule = join_parts(parts)
    return len(period_bounds(expand(rule, first), rule, timezone))


def _period_of(moment: datetime, starts: list[datetime]) -> int:
    index = bisect.bisect_right(starts, moment) - 1
    return min(max(index, 0), len(starts) - 1)


def _misses(planned: Sequence[Session], inside: Sequence[Session]) -> tuple[Miss, ...]:
    """The sessions of a missed period worth naming: each one missed in it, and each one
    planned in it that moved to another period."""
    here = {s.number for s in inside}
    found = []
    named = {s.number: s for s in (*planned, *inside)}
    for number in sorted(named):
        session = named[number]
        moved_out = number not in here
        if moved_out or session.missed:
            found.append(Miss(session, moved_out))
    return tuple(found)


def build_periods(
    sessions: Sequence[Session], rule: str, timezone: str, now: datetime
) -> tuple[Period, ...]:
    """Bucket judged sessions into cadence periods and judge each period (module docstring)."""
    bounds = period_bounds([s.original_start for s in sessions], rule, timezone)
    if not bounds:
        return ()
    zone = ZoneInfo(timezone)
    unit = Unit.of(rule)
    starts = [b[0] for b in bounds]
    members: list[list[Session]] = [[] for _ in bounds]
    planned: list[list[Session]] = [[] for _ in bounds]
    for session in sessions:
        # Cancelled sessions stay in their original slot's period; others count where they are.
        where = session.original_start if session.occurrence.cancelled else session.start
        members[_period_of(where, starts)].append(session)
        planned[_period_of(session.original_start, starts)].append(session)
    periods = []
    for index, (start, end) in enumerate(bounds):
        inside = members[index]
        misses: tuple[Miss, ...] = ()
        reason = None
        if any(s.held for s in inside):
            status = Outcome.HELD
        elif end <= now or (inside and all(not s.upcoming for s in inside)):
            status = Outcome.MISSED
            misses = _misses(planned[index], inside)
            texts = [miss.text(zone) for miss in misses]
            reason = "; ".join(texts) or f"no session in this {unit.one}"
        else:
            status = Outcome.UPCOMING
        periods.append(
            Period(
                index=index,
                start=start,
                end=end,
                status=status,
                sessions=tuple(inside),
                misses=misses,
                reason=reason,
            )
        )
    return tuple(periods)
