"""Finding one recurring slot per pair that holds for every occurrence of the series.

Popular schedulers check the first few occurrences and their users meet the clashes weeks later.
Here every candidate (a weekday and a local time in one IANA zone) is expanded into the whole
series by the same RRULE the calendar will hold, and each occurrence is checked in each person's
own zone against their window (DST in either zone included) and against free/busy for the whole
horizon. The search is pure and deterministic: the same inputs give the same slot.

Order of preference: no window violation (required), then fewest clashing occurrences, then the
earliest first session, then the mentee's zone (the senior leader's calendar stays stable), then
the earliest local time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from rmcal.intervals import Interval, merge
from rmcal.model import WEEKDAYS, FixedSlot, Pair, Person, Window
from rmcal.provider import BusyMap
from rmcal.recurrence import (
    RecurrenceError,
    SeriesTimes,
    first_day,
    first_start,
    rule_weekdays,
    series_times,
)

STEP_MINUTES = 30


@dataclass(frozen=True)
class Clash:
    """One occurrence where someone is already busy."""

    start: datetime
    who: tuple[str, ...]  # e-mails


@dataclass(frozen=True)
class Slot:
    """A chosen slot: the series zone, its first start, its RRULE and every occurrence start."""

    timezone: str
    first: datetime
    rrule: str
    starts: tuple[datetime, ...]
    duration: timedelta
    clashes: tuple[Clash, ...] = ()
    unknown: tuple[str, ...] = ()  # people whose free/busy the provider could not read

    @classmethod
    def from_series(
        cls,
        series: SeriesTimes,
        *,
        timezone: str,
        duration: timedelta,
        clashes: tuple[Clash, ...] = (),
        unknown: tuple[str, ...] = (),
    ) -> Slot:
        """A slot over an expanded series (``recurrence.series_times``), in zone ``timezone``."""
        return cls(
            timezone=timezone,
            first=series.first,
            rrule=series.rrule,
            starts=series.starts,
            duration=duration,
            clashes=clashes,
            unknown=unknown,
        )

    def describe(self) -> str:
        return f"{WEEKDAYS[self.first.weekday()]} {self.first:%H:%M} {self.timezone}"

    def intervals(self) -> list[Interval]:
        return [(s, s + self.duration) for s in self.starts]


@dataclass(frozen=True)
class NoSlot:
    """Why a pair cannot be scheduled, in words an admin can act on."""

    reason: str


@dataclass(frozen=True)
class Candidate:
    timezone: str
    weekday: int
    minute: int


def candidate_start(candidate: Candidate, start: date) -> datetime:
    """The first session a candidate gives: its weekday on or after ``start``, in its zone."""
    return first_start(
        start,
        weekday=candidate.weekday,
        minute=candidate.minute,
        zone=ZoneInfo(candidate.timezone),
    )


def build_slot_series(pair: Pair, candidate: Candidate, start: date) -> SeriesTimes:
    """The first start, RRULE and occurrence starts a candidate gives for this pair."""
    return series_times(pair.settings, candidate_start(candidate, start))


def fits_window(zone: tzinfo, window: Window, start: datetime, duration: timedelta) -> bool:
    """Whether one occurrence lies inside ``window`` read in ``zone`` (``window_problem``'s test).

    Apart from the message, and in two halves (``starts_inside``, then ``ends_same_day``), so
    that callers who test many candidates against many windows (``rmcal match`` compares whole
    populations) pay only for the test, and convert each occurrence to local time once.
    """
    local = start.astimezone(zone)
    return starts_inside(window, local, duration) and ends_same_day(
        local, (start + duration).astimezone(zone)
    )


def starts_inside(window: Window, local: datetime, duration: timedelta) -> bool:
    """The local weekday is a window day, and start to start + duration lies in its hours."""
    begin = local.hour * 60 + local.minute
    return (
        local.weekday() in window.days
        and window.start_minute <= begin
        and begin + int(duration.total_seconds() // 60) <= window.end_minute
    )


def ends_same_day(local: datetime, local_end: datetime) -> bool:
    """The occurrence ends on the day it starts (or exactly at the following midnight)."""
    return local_end.date() == local.date() or (
        local_end.date() == local.date() + timedelta(days=1) and local_end.time() == time(0)
    )


def window_problem(
    person: Person, window: Window, start: datetime, duration: timedelta
) -> str | None:
    """Why one occurrence falls outside a person's window in their zone, or None if it fits."""
    if fits_window(person.zone, window, start, duration):
        return None
    local = start.astimezone(person.zone)
    return (
        f"{local:%a %Y-%m-%d %H:%M} {person.timezone} is outside "
        f"{person.email}'s window {window.describe()}"
    )


class BusyIndex:
    """One person's busy time merged into disjoint sorted intervals, for O(log n) clash checks."""

    def __init__(self, intervals: Sequence[Interval]) -> None:
        merged = merge(intervals)
        self._starts = [m[0] for m in merged]
        self._ends = [m[1] for m in merged]

    def overlaps(self, begin: datetime, end: datetime) -> bool:
        index = bisect_left(self._starts, end) - 1  # last interval starting before ``end``
        return index >= 0 and self._ends[index] > begin


def busy_index(
    pair: Pair,
    busy: BusyMap,
    reserved: Mapping[str, Sequence[Interval]],
    ignore: frozenset[Interval] = frozenset(),
) -> dict[str, BusyIndex]:
    """Per person of the pair: provider busy time (minus ``ignore``) plus rmcal's reservations."""
    out = {}
    for person in pair.people:
        found = [i for i in (busy.get(person.email) or ()) if i not in ignore]
        found.extend(reserved.get(person.email, ()))
        out[person.email] = BusyIndex(found)
    return out


def count_clashes(
    starts: Sequence[datetime], duration: timedelta, index: Mapping[str, BusyIndex]
) -> tuple[Clash, ...]:
    clashes = []
    for start in starts:
        who = tuple(e for e, i in index.items() if i.overlaps(start, start + duration))
        if who:
            clashes.append(Clash(start, who))
    return tuple(clashes)


def candidates(pair: Pair, zones: Sequence[str]) -> list[Candidate]:
    """Every (zone, weekday, time) worth trying, honouring a fixed slot or a raw rule's BYDAY."""
    fixed = pair.fixed_slot
    if fixed is not None:
        return [Candidate(fixed.timezone or pair.mentee.timezone, fixed.weekday, fixed.minute)]
    weekdays = rule_weekdays(pair.settings.cadence)
    return [
        Candidate(zone, weekday, minute)
        for zone in zones
        for weekday in weekdays
        for minute in range(0, 24 * 60, STEP_MINUTES)
    ]


def zone_preference(pair: Pair, programme_zone: str) -> list[str]:
    """Zones to search in, preferred first; a fixed slot's own zone is one of them (it may be
    neither person's nor the programme's, and candidates are ranked by their zone here)."""
    zones: list[str] = []
    fixed = pair.fixed_slot.timezone if pair.fixed_slot else None
    for zone in (pair.mentee.timezone, pair.mentor.timezone, programme_zone, fixed):
        if zone is not None and zone not in zones:
            zones.append(zone)
    return zones


def find_slot(
    pair: Pair,
    start: date,
    busy: BusyMap,
    *,
    programme_zone: str,
    reserved: Mapping[str, Sequence[Interval]] | None = None,
    ignore: frozenset[Interval] = frozenset(),
    prefer: FixedSlot | None = None,
) -> Slot | NoSlot:
    """The best slot for ``pair`` starting on or after ``start``, or why there is none.

    ``reserved`` holds intervals rmcal is placing in this run (other pairs of the same people);
    ``ignore`` holds busy intervals to disregard (the pair's own existing series when re-slotting);
    ``prefer`` is tried first and kept if it still holds (an existing series' slot).
    """
    reserved = reserved or {}
    duration = pair.settings.duration
    index = busy_index(pair, busy, reserved, ignore)
    zones = zone_preference(pair, programme_zone)
    if prefer is not None and pair.fixed_slot is None:
        kept_at = Candidate(prefer.timezone or zones[0], prefer.weekday, prefer.minute)
        kept = _evaluate(pair, kept_at, start, busy, index)
        if isinstance(kept, Slot):
            return kept
    best: tuple[tuple[int, date, int, int], Slot] | None = None
    failures: list[str] = []
    # Visit candidates in the order of the tie-breakers (first date, zone preference, minute):
    # then the first clash-free slot is the best there is and the search can stop.
    ordered = sorted(
        candidates(pair, zones),
        key=lambda c: (first_day(start, c.weekday), zones.index(c.timezone), c.minute),
    )
    for candidate in ordered:
        # Cheap pre-check on the first occurrence before expanding the whole series.
        first = candidate_start(candidate, start)
        if pair.fixed_slot is None and any(
            window_problem(p, pair.window_of(p), first, duration) for p in pair.people
        ):
            continue
        result = _evaluate(pair, candidate, start, busy, index)
        if isinstance(result, NoSlot):
            failures.append(result.reason)
            continue
        score = (
            len(result.clashes),
            result.first.date(),
            zones.index(candidate.timezone),
            candidate.minute,
        )
        if best is None or score < best[0]:
            best = (score, result)
        if not result.clashes:
            break
    if best is not None:
        return best[1]
    if pair.fixed_slot is not None:
        return NoSlot(f"fixed slot {pair.fixed_slot.describe()}: {failures[0]}")
    if failures:
        return NoSlot(
            "the windows overlap, but no weekly time holds for every session: "
            + failures[0]
            + " (often a DST change in one zone; widen a window or set a fixed slot)"
        )
    return NoSlot(_never_overlap(pair))


def _evaluate(
    pair: Pair,
    candidate: Candidate,
    start: date,
    busy: BusyMap,
    index: Mapping[str, BusyIndex],
) -> Slot | NoSlot:
    duration = pair.settings.duration
    try:
        series = build_slot_series(pair, candidate, start)
    except RecurrenceError as exc:  # a raw rule that gives too few sessions from this start
        return NoSlot(f"{pair.settings.cadence.text}: {exc}")
    for occurrence in series.starts:
        for person in pair.people:
            problem = window_problem(person, pair.window_of(person), occurrence, duration)
            if problem:
                return NoSlot(problem)
    clashes = count_clashes(series.starts, duration, index)
    unknown = tuple(p.email for p in pair.people if p.email in busy and busy[p.email] is None)
    return Slot.from_series(
        series, timezone=candidate.timezone, duration=duration, clashes=clashes, unknown=unknown
    )


def _never_overlap(pair: Pair) -> str:
    parts = []
    for role, person in (("mentor", pair.mentor), ("mentee", pair.mentee)):
        window = pair.window_of(person)
        parts.append(f"{role} {person.timezone} {window.describe()}")
    return (
        f"{parts[0]} and {parts[1]} never overlap for "
        f"{int(pair.settings.duration.total_seconds() // 60)} minutes"
    )
