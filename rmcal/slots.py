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
from functools import lru_cache
from zoneinfo import ZoneInfo

from rmcal.intervals import Interval, merge
from rmcal.model import WEEKDAYS, FixedSlot, Pair, Person, Settings, Window
from rmcal.provider import BusyMap
from rmcal.recurrence import (
    ICAL_DAYS,
    SeriesTimes,
    first_day,
    first_start,
    parse_parts,
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
    """One person's busy time merged into disjoint sorted intervals, for O(log n) clash checks.

    Kept as POSIX seconds: comparing floats is many times cheaper than comparing aware
    datetimes across zones, and the slot search makes millions of these checks on a large
    cohort.
    """

    def __init__(self, intervals: Sequence[Interval]) -> None:
        merged = merge(intervals)
        self.starts = [m[0].timestamp() for m in merged]
        self.ends = [m[1].timestamp() for m in merged]

    def overlaps(self, begin: datetime, end: datetime) -> bool:
        return self.overlaps_at(begin.timestamp(), end.timestamp())

    def overlaps_at(self, begin: float, end: float) -> bool:
        """``overlaps`` for instants given as POSIX seconds."""
        index = bisect_left(self.starts, end) - 1  # last interval starting before ``end``
        return index >= 0 and self.ends[index] > begin


def _clash_count(
    stamps: Sequence[float],
    length: float,
    busy: Sequence[tuple[list[float], list[float]]],
    stop_at: int,
) -> int:
    """How many sessions (starting at ``stamps``) clash with anyone's busy (starts, ends),
    counting no further than ``stop_at``: the slot search's inner loop, kept to plain floats."""
    count = 0
    for begin in stamps:
        end = begin + length
        for starts, ends in busy:
            index = bisect_left(starts, end) - 1
            if index >= 0 and ends[index] > begin:
                count += 1
                if count >= stop_at:
                    return count
                break
    return count


def busy_index(
    pair: Pair,
    busy: BusyMap,
    reserved: Mapping[str, Sequence[Interval]],
    ignore: frozenset[Interval] = frozenset(),
) -> dict[str, BusyIndex]:
    """Per person of the pair: provider busy time (minus ``ignore``) plus rmcal's reservations."""
    out = {}
    for person in pair.people:
        held = busy.get(person.email) or ()
        found = [i for i in held if i not in ignore] if ignore else list(held)
        found.extend(reserved.get(person.email, ()))
        out[person.email] = BusyIndex(found)
    return out


def count_clashes(
    starts: Sequence[datetime],
    duration: timedelta,
    index: Mapping[str, BusyIndex],
    *,
    stop_at: int | None = None,
) -> tuple[Clash, ...]:
    """The occurrences where someone is busy; with ``stop_at``, no more than that many are
    looked for (a candidate with that many already loses to the best one found)."""
    clashes = []
    length = duration.total_seconds()
    people = list(index.items())
    for start in starts:
        begin = start.timestamp()
        end = begin + length
        who = tuple(e for e, i in people if i.overlaps_at(begin, end))
        if who:
            clashes.append(Clash(start, who))
            if stop_at is not None and len(clashes) >= stop_at:
                break
    return tuple(clashes)


def candidates(pair: Pair, zones: Sequence[str]) -> list[Candidate]:
    """Every (zone, weekday, time) worth trying, honouring a fixed slot or a raw rule's BYDAY."""
    return _candidates(pair.fixed_slot, pair.settings, tuple(zones))


def _candidates(
    fixed: FixedSlot | None, settings: Settings, zones: Sequence[str]
) -> list[Candidate]:
    if fixed is not None:
        return [Candidate(fixed.timezone or zones[0], fixed.weekday, fixed.minute)]
    weekdays = list(range(7))
    cadence = settings.cadence
    if cadence.kind == "rrule" and cadence.rrule:
        byday = parse_parts(cadence.rrule).get("BYDAY")
        if byday:
            names = {d.lstrip("+-0123456789") for d in byday.split(",")}
            weekdays = [ICAL_DAYS.index(n) for n in ICAL_DAYS if n in names]
    return [
        Candidate(zone, weekday, minute)
        for zone in zones
        for weekday in weekdays
        for minute in range(0, 24 * 60, STEP_MINUTES)
    ]


def zone_preference(pair: Pair, programme_zone: str) -> list[str]:
    zones: list[str] = []
    for zone in (pair.mentee.timezone, pair.mentor.timezone, programme_zone):
        if zone not in zones:
            zones.append(zone)
    return zones


@dataclass(frozen=True)
class _Verdict:
    """What the windows say of one candidate, whoever's free/busy: ``skip`` when its first
    session already falls outside a window (not even worth expanding), else the series it
    gives and the first session outside a window (``miss``: occurrence, person 0 or 1)."""

    candidate: Candidate
    skip: bool = False
    series: SeriesTimes | None = None
    miss: tuple[datetime, int] | None = None
    stamps: tuple[float, ...] = ()  # the series' starts as POSIX seconds


@lru_cache(maxsize=256)
def _verdicts(
    settings: Settings,
    fixed: FixedSlot | None,
    zones: tuple[str, ...],
    people: tuple[tuple[str, Window], tuple[str, Window]],
    start: date,
) -> tuple[_Verdict, ...]:
    """Every candidate in search order, judged against both windows.

    It depends only on the pair's shape (settings, zones and windows), not on who the two
    people are, so the pairs of a cohort that share one (most of them) share the work: the
    search then only counts clashes per pair.
    """
    duration = settings.duration
    ordered = sorted(
        _candidates(fixed, settings, zones),
        key=lambda c: (first_day(start, c.weekday), zones.index(c.timezone), c.minute),
    )
    zoned = [(ZoneInfo(zone), window) for zone, window in people]
    out = []
    for candidate in ordered:
        first = candidate_start(candidate, start)
        if fixed is None and not all(fits_window(z, w, first, duration) for z, w in zoned):
            out.append(_Verdict(candidate, skip=True))
            continue
        series = series_times(settings, first)
        miss = None
        for occurrence in series.starts:
            for role, (zone, window) in enumerate(zoned):
                if not fits_window(zone, window, occurrence, duration):
                    miss = (occurrence, role)
                    break
            if miss:
                break
        stamps = tuple(t.timestamp() for t in series.starts)
        out.append(_Verdict(candidate, series=series, miss=miss, stamps=stamps))
    return tuple(out)


def _shape(
    pair: Pair, zones: Sequence[str]
) -> tuple[Settings, FixedSlot | None, tuple[str, ...], tuple[tuple[str, Window], ...]]:
    people = tuple((p.timezone, pair.window_of(p)) for p in pair.people)
    return pair.settings, pair.fixed_slot, tuple(zones), people


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
    settings, fixed, zone_order, people = _shape(pair, zones)
    verdicts = _verdicts(settings, fixed, zone_order, (people[0], people[1]), start)
    unknown = tuple(p.email for p in pair.people if p.email in busy and busy[p.email] is None)
    length = duration.total_seconds()
    busy_lists = [(i.starts, i.ends) for i in index.values()]
    best: tuple[tuple[int, date, int, int], Slot] | None = None
    failures: list[str] = []
    # Candidates come in the order of the tie-breakers (first date, zone preference, minute):
    # the first clash-free slot is the best there is, and a later one only wins with fewer
    # clashes, so counting stops at the best one's number.
    for verdict in verdicts:
        if verdict.skip:
            continue
        if verdict.miss is not None:
            occurrence, role = verdict.miss
            person = pair.people[role]
            failures.append(
                window_problem(person, pair.window_of(person), occurrence, duration) or ""
            )
            continue
        series = verdict.series
        assert series is not None
        candidate = verdict.candidate
        stop_at = best[0][0] if best is not None else len(verdict.stamps) + 1
        if _clash_count(verdict.stamps, length, busy_lists, stop_at) >= stop_at:
            continue
        clashes = count_clashes(series.starts, duration, index)
        result = Slot.from_series(
            series,
            timezone=candidate.timezone,
            duration=duration,
            clashes=clashes,
            unknown=unknown,
        )
        score = (
            len(clashes),
            result.first.date(),
            zones.index(candidate.timezone),
            candidate.minute,
        )
        best = (score, result)
        if not clashes:
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
    series = build_slot_series(pair, candidate, start)
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
