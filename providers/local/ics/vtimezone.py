"""VTIMEZONE blocks for series files, generated from the IANA rules.

Why a module of its own: clients that do not know IANA names (older Outlook, some phones) read
the zone's transitions from the file, so the block must hold for every occurrence a client
expands, however far the series runs.

Why yearly rules: a block of dated transitions ("this timezone only works from ... to ...")
ends somewhere, and Outlook desktop is known to shift a recurring meeting after a DST change
that the block does not cover. Outlook and Google write each observance once, with a yearly
RRULE (``FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU``), which holds for every year. This module does the
same whenever the zone's rules are one fixed yearly pattern over the series (nearly every zone
today), and checks that the pattern reproduces every transition from the year before the first
session to the year after the last one (or ``UNBOUNDED_YEARS`` for an open-ended series). A zone
whose rules change inside that span, or follow no weekday rule, keeps the dated form, month
aligned and cached so that a cohort's series in one zone share one generated block.

Each observance's DTSTART is the transition's local time on the clock that was in force before
it (RFC 5545 3.6.5: London's summer time starts at 01:00, TZOFFSETFROM +0000).
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

from .values import resolve_zone

# How far past the last occurrence the dated fallback reaches; unbounded series get
# UNBOUNDED_YEARS of transitions checked (or dated) past their first session.
VTIMEZONE_MARGIN = timedelta(days=366)
UNBOUNDED_YEARS = 5
_DAY = timedelta(days=1)


def is_iana(tzid: str) -> bool:
    """Whether ``tzid`` is itself an IANA name (not merely mappable from a Windows name)."""
    try:
        ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def vtimezone(tzid: str, first: datetime, last: datetime | None) -> Timezone:
    """A VTIMEZONE covering the series, for clients that do not know IANA names.

    ``tzid`` may be a Windows name (kept as the block's TZID, rules of the IANA zone it maps to).
    Yearly rules when the zone follows one pattern over the series, else dated transitions.
    """
    zone = resolve_zone(tzid)
    if zone is None:
        raise ValueError(f"{tzid!r} is not a known time zone")
    last_year = last.year if last is not None else first.year + UNBOUNDED_YEARS
    block = Timezone.from_ical(_block_bytes(tzid, first.year - 1, last_year + 1))
    if isinstance(block, Timezone) and block.subcomponents:
        return block
    return _dated(tzid, first, last)


@dataclass(frozen=True)
class Transition:
    """One change of a zone's UTC offset: when (UTC), the offsets either side, the new name."""

    at: datetime
    before: timedelta
    after: timedelta
    name: str

    @property
    def local(self) -> datetime:
        """The wall-clock time of the change on the clock in force before it (naive)."""
        return (self.at + self.before).replace(tzinfo=None)


@dataclass(frozen=True)
class YearlyRule:
    """A transition that recurs every year: month, the nth (or last, -1) weekday, local time."""

    month: int
    weekday: int  # Monday 0
    nth: int  # 1-4, or -1 for the last
    clock: tuple[int, int, int]
    before: timedelta
    after: timedelta

    @classmethod
    def of(cls, change: Transition) -> YearlyRule:
        local = change.local
        days = calendar.monthrange(local.year, local.month)[1]
        nth = -1 if local.day + 7 > days else (local.day - 1) // 7 + 1
        clock = (local.hour, local.minute, local.second)
        return cls(local.month, local.weekday(), nth, clock, change.before, change.after)

    def day_in(self, year: int) -> date:
        """The date the rule gives in ``year``."""
        days = calendar.monthrange(year, self.month)[1]
        if self.nth == -1:
            last = date(year, self.month, days)
            return last - timedelta(days=(last.weekday() - self.weekday) % 7)
        first = date(year, self.month, 1)
        return first + timedelta(days=(self.weekday - first.weekday()) % 7 + 7 * (self.nth - 1))

    def matches(self, change: Transition) -> bool:
        local = change.local
        return (
            local.date() == self.day_in(local.year)
            and (local.hour, local.minute, local.second) == self.clock
            and (change.before, change.after) == (self.before, self.after)
        )

    def rrule(self) -> vRecur:
        day = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[self.weekday]
        return vRecur({"FREQ": "YEARLY", "BYMONTH": self.month, "BYDAY": f"{self.nth}{day}"})


def transitions(zone: tzinfo, year: int) -> list[Transition]:
    """Every offset change of ``zone`` in ``year``, found day by day, then to the second."""
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(zone).utcoffset()
    while moment < end:
        step = moment + _DAY
        after = step.astimezone(zone).utcoffset()
        if after != offset:
            low, high = moment, step  # the change lies in (low, high]
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            at = high.replace(microsecond=0)
            assert offset is not None and after is not None
            found.append(Transition(at, offset, after, at.astimezone(zone).tzname() or ""))
            offset = after
        moment = step
    return found


def yearly_rules(zone: tzinfo, first_year: int, last_year: int) -> list[YearlyRule] | None:
    """The zone's transitions as yearly rules, when one pattern holds for every year from
    ``first_year`` to ``last_year``; None when it does not (rules changed, no weekday rule)."""
    years = [transitions(zone, year) for year in range(first_year, last_year + 1)]
    pattern = years[0]
    if len(pattern) != 2:
        return None
    rules = [YearlyRule.of(change) for change in pattern]
    for changes in years[1:]:
        if len(changes) != 2 or not all(r.matches(c) for r, c in zip(rules, changes, strict=True)):
            return None
    return rules


@functools.lru_cache(maxsize=256)
def _block_bytes(tzid: str, first_year: int, last_year: int) -> bytes:
    """The VTIMEZONE as bytes (cached per zone and span): yearly rules, one fixed offset, or an
    empty block when neither describes the span (the caller then writes dated transitions)."""
    zone = resolve_zone(tzid)
    if zone is None:
        raise ValueError(f"{tzid!r} is not a known time zone")
    block = Timezone()
    block.add("TZID", tzid)
    changes = [
        change for year in range(first_year, last_year + 1) for change in transitions(zone, year)
    ]
    if not changes:  # no change in the span: one observance, no rule needed
        moment = datetime(first_year, 1, 1, tzinfo=UTC).astimezone(zone)
        offset = moment.utcoffset() or timedelta(0)
        standard = TimezoneStandard()
        standard.add("DTSTART", datetime(first_year, 1, 1))
        standard.add("TZOFFSETFROM", offset)
        standard.add("TZOFFSETTO", offset)
        standard.add("TZNAME", moment.tzname() or tzid)
        block.add_component(standard)
        return block.to_ical()
    rules = yearly_rules(zone, first_year, last_year)
    if rules is None:
        return Timezone().to_ical()
    for rule, change in zip(rules, transitions(zone, first_year), strict=True):
        kind = TimezoneDaylight() if rule.after > rule.before else TimezoneStandard()
        kind.add("DTSTART", change.local)
        kind.add("TZOFFSETFROM", rule.before)
        kind.add("TZOFFSETTO", rule.after)
        kind.add("TZNAME", change.name)
        kind.add("RRULE", rule.rrule())
        block.add_component(kind)
    return block.to_ical()


def _dated(tzid: str, first: datetime, last: datetime | None) -> Timezone:
    """Dated transitions covering the series (the fallback for irregular zones)."""
    start_day = first.date() - _DAY
    end_day = (
        (last + VTIMEZONE_MARGIN).date()
        if last is not None
        else first.date().replace(year=first.year + UNBOUNDED_YEARS)
    )
    # Month-aligned spans let a cohort's series share one generated block (it is slow to make).
    start_month = start_day.replace(day=1)
    end_month = (end_day.replace(day=1) + timedelta(days=32)).replace(day=1)
    block = Timezone.from_ical(_dated_bytes(tzid, start_month, end_month))
    if not isinstance(block, Timezone):
        raise ValueError(f"{tzid!r}: the generated VTIMEZONE does not read back")
    return block


@functools.lru_cache(maxsize=256)
def _dated_bytes(tzid: str, first_day: date, last_day: date) -> bytes:
    zone = resolve_zone(tzid)
    if zone is None:
        raise ValueError(f"{tzid!r} is not a known time zone")
    block = Timezone.from_tzinfo(zone, tzid=tzid, first_date=first_day, last_date=last_day)
    return block.to_ical()
