"""Finding one recurring slot per pair that holds for every occurrence of the series.

Popular schedulers check the first few occurrences and their users meet the clashes weeks later.
Here every candidate (a weekday and a local time in one IANA zone) is expanded into the whole
series by the same RRULE the calendar will hold, and each occurrence is checked in each person's
own zone against their window (DST in either zone included) and against free/busy for the whole
horizon. The search is pure and deterministic: the same inputs give the same slot.

Candidates lie on a quarter-hour grid of the candidate's zone, and also on every start that a
person's clock makes round there (``candidate_minutes``): a Kathmandu (+05:45) window that opens
at 13:00 is 08:15 in London, and a window that opens at 09:10 is a start of its own. So a slot
that a brute force over a 15-minute grid finds, this search finds (a property test holds it to
one), and when none exists ``rmcal.noslot`` says which sessions break the best time, and why.

Order of preference: no window violation (required), then fewest clashing occurrences, then the
earliest first session, then the mentee's zone (the senior leader's calendar stays stable), then
the earliest local time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from rmcal.intervals import Interval, merge
from rmcal.model import WEEKDAYS, FixedSlot, Pair, Person, Settings, Window
from rmcal.noslot import Trial, why_no_slot
from rmcal.provider import BusyMap
from rmcal.recurrence import (
    UTC,
    RecurrenceError,
    SeriesTimes,
    first_day,
    first_start,
    rule_weekdays,
    series_times,
)

# The grid every zone's candidates lie on; starts off it come from the people's own clocks.
STEP_MINUTES = 15
# How far ahead the people's UTC offsets are sampled for starts their clocks make round: a
# year sees every DST state a zone has.
OFFSET_SAMPLE_WEEKS = 53


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
    ignore: Collection[Interval] = frozenset(),
) -> dict[str, BusyIndex]:
    """Per person of the pair: provider busy time (minus ``ignore``) plus rmcal's reservations."""
    return {
        person.email: BusyIndex(
            [*without_own(busy.get(person.email) or (), ignore), *reserved.get(person.email, ())]
        )
        for person in pair.people
    }


def without_own(intervals: Sequence[Interval], own: Collection[Interval]) -> list[Interval]:
    """``intervals`` less one copy of each of the pair's own sessions (``own``).

    Free/busy names no event, so a session shows in its attendees' busy time exactly as it
    is: one interval equal to it, removed once. A second interval of the same times is
    another commitment and stays; so does a longer one that covers the session. This needs
    the provider's intervals per event, not merged (``Provider.busy``).
    """
    if not own:  # a new pair: nothing of its own to take out (most of a first run's pairs)
        return list(intervals)
    left = Counter(own)
    out = []
    for interval in intervals:
        if left.get(interval):
            left[interval] -= 1
        else:
            out.append(interval)
    return out


def count_clashes(
    starts: Sequence[datetime], duration: timedelta, index: Mapping[str, BusyIndex]
) -> tuple[Clash, ...]:
    clashes = []
    length = duration.total_seconds()
    people = list(index.items())
    for start in starts:
        begin = start.timestamp()
        who = tuple(e for e, i in people if i.overlaps_at(begin, begin + length))
        if who:
            clashes.append(Clash(start, who))
    return tuple(clashes)


def candidates(pair: Pair, zones: Sequence[str], start: date | None = None) -> list[Candidate]:
    """Every (zone, weekday, time) worth trying, honouring a fixed slot or a raw rule's BYDAY.

    Times per zone are ``candidate_minutes`` (the quarter-hour grid, plus the starts the people's
    clocks make round when ``start`` says from when to read their offsets).
    """
    return _candidates(pair.settings, pair.fixed_slot, tuple(zones), _people(pair), start)


def _candidates(
    settings: Settings,
    fixed: FixedSlot | None,
    zones: Sequence[str],
    people: Sequence[tuple[str, Window]],
    start: date | None,
) -> list[Candidate]:
    if fixed is not None:
        return [Candidate(fixed.timezone or zones[0], fixed.weekday, fixed.minute)]
    weekdays = rule_weekdays(settings.cadence)
    out = []
    for zone in zones:
        minutes = _minutes(zone, people, start)
        out += [Candidate(zone, weekday, minute) for weekday in weekdays for minute in minutes]
    return out


def candidate_minutes(pair: Pair, zone: str, start: date | None = None) -> list[int]:
    """Minutes of the day in ``zone`` worth trying: the quarter-hour grid, and every start that
    lies on a person's grid or at a person's window opening in that person's own clock.

    Why the window openings: the earliest start that holds for every session is always some
    person's window opening in some week, read in ``zone``; trying each of those (at every UTC
    offset the two zones take over a year from ``start``) means no valid start is skipped, even
    for windows like 09:10-09:55 or zones whose offsets are not whole quarter hours.
    """
    return _minutes(zone, _people(pair), start)


def _minutes(zone: str, people: Sequence[tuple[str, Window]], start: date | None) -> list[int]:
    residues = {0}
    if start is not None:
        here = ZoneInfo(zone)
        for week in range(OFFSET_SAMPLE_WEEKS):
            moment = datetime.combine(start + timedelta(weeks=week), time(12), UTC)
            for timezone, window in people:
                apart = _offset_minutes(here, moment) - _offset_minutes(ZoneInfo(timezone), moment)
                residues.add(apart % STEP_MINUTES)
                residues.add((window.start_minute + apart) % STEP_MINUTES)
    return [m for m in range(24 * 60) if m % STEP_MINUTES in residues]


def _people(pair: Pair) -> tuple[tuple[str, Window], ...]:
    """Each person of the pair as (zone, window): all the search needs to know of them."""
    return tuple((p.timezone, pair.window_of(p)) for p in pair.people)


def _offset_minutes(zone: tzinfo, moment: datetime) -> int:
    offset = moment.astimezone(zone).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)


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
    ignore: Collection[Interval] = frozenset(),
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
    ordered, holding = _verdicts(pair.settings, pair.fixed_slot, tuple(zones), _people(pair), start)
    unknown = tuple(p.email for p in pair.people if p.email in busy and busy[p.email] is None)
    length = duration.total_seconds()
    busy_lists = [(i.starts, i.ends) for i in index.values()]
    best: tuple[tuple[int, date, int, int], Slot] | None = None
    # Candidates come in the order of the tie-breakers (first date, zone preference, minute):
    # the first clash-free slot is the best there is, and a later one only wins with fewer
    # clashes, so counting stops at the best one's number.
    for verdict in holding:
        stop_at = best[0][0] if best is not None else len(verdict.stamps) + 1
        if _clash_count(verdict.stamps, length, busy_lists, stop_at) >= stop_at:
            continue
        candidate = verdict.candidate
        clashes = count_clashes(verdict.series.starts, duration, index)
        result = Slot.from_series(
            verdict.series,
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
        if best is None or score < best[0]:
            best = (score, result)
        if not clashes:
            break
    if best is not None:
        return best[1]
    # Nothing holds for every session: the slow path, only now, says why in true words.
    return _no_slot(pair, ordered, start)


@dataclass(frozen=True)
class _Verdict:
    """A candidate whose every session lies inside both windows: its series, and the series'
    starts as POSIX seconds for the clash count."""

    candidate: Candidate
    series: SeriesTimes
    stamps: tuple[float, ...]


@lru_cache(maxsize=256)
def _verdicts(
    settings: Settings,
    fixed: FixedSlot | None,
    zones: tuple[str, ...],
    people: tuple[tuple[str, Window], ...],
    start: date,
) -> tuple[tuple[Candidate, ...], tuple[_Verdict, ...]]:
    """Every candidate in search order, and those whose sessions all suit both windows.

    This depends only on the pair's shape (settings, zones and windows), not on who the two
    people are, so the pairs of a cohort that share one (most of them) share the work: the
    search then only counts clashes per pair.
    """
    duration = settings.duration
    ordered = sorted(
        _candidates(settings, fixed, zones, people, start),
        key=lambda c: (first_day(start, c.weekday), zones.index(c.timezone), c.minute),
    )
    zoned = [(ZoneInfo(zone), window) for zone, window in people]
    holding = []
    for candidate in ordered:
        # Cheap pre-check on the first occurrence before expanding the whole series.
        first = candidate_start(candidate, start)
        if fixed is None and not all(fits_window(z, w, first, duration) for z, w in zoned):
            continue
        try:
            series = series_times(settings, first)
        except RecurrenceError:  # a raw rule that gives too few sessions from this start
            continue  # ``_no_slot`` says so, if no other candidate holds
        if all(fits_window(z, w, o, duration) for o in series.starts for z, w in zoned):
            stamps = tuple(t.timestamp() for t in series.starts)
            holding.append(_Verdict(candidate, series, stamps))
    return tuple(ordered), tuple(holding)


def _evaluate(
    pair: Pair,
    candidate: Candidate,
    start: date,
    busy: BusyMap,
    index: Mapping[str, BusyIndex],
) -> Slot | None:
    """The candidate as a slot with its clashes, or None when a session leaves a window."""
    duration = pair.settings.duration
    try:
        series = build_slot_series(pair, candidate, start)
    except RecurrenceError:  # a raw rule that gives too few sessions from this start
        return None  # ``_no_slot`` says so, if no other candidate holds
    for occurrence in series.starts:
        for person in pair.people:
            if not fits_window(person.zone, pair.window_of(person), occurrence, duration):
                return None
    clashes = count_clashes(series.starts, duration, index)
    unknown = tuple(p.email for p in pair.people if p.email in busy and busy[p.email] is None)
    return Slot.from_series(
        series, timezone=candidate.timezone, duration=duration, clashes=clashes, unknown=unknown
    )


def _no_slot(pair: Pair, ordered: Sequence[Candidate], start: date) -> NoSlot:
    """Why nothing in ``ordered`` holds: the candidate that holds for the most sessions (the
    first such, in preference order), handed to ``rmcal.noslot`` with the series' last day.

    Session dates depend only on the weekday (a cadence repeats in wall time), so they are
    expanded once per weekday; a candidate is dropped as soon as it breaks more sessions
    than the best so far, which keeps this to a fraction of a second for a year of sessions.
    """
    duration = pair.settings.duration
    dates: dict[int, list[date]] = {}
    no_sessions: RecurrenceError | None = None
    best: tuple[int, Candidate, list[datetime]] | None = None
    for candidate in ordered:
        if candidate.weekday not in dates:
            first = first_start(start, weekday=candidate.weekday, minute=0, zone=UTC)
            try:
                expanded = series_times(pair.settings, first).starts
            except RecurrenceError as exc:  # a raw rule that gives too few sessions from here
                expanded, no_sessions = (), no_sessions or exc
            dates[candidate.weekday] = [s.date() for s in expanded]
        if not dates[candidate.weekday]:
            continue
        zone = ZoneInfo(candidate.timezone)
        clock = time(candidate.minute // 60, candidate.minute % 60)
        starts = [datetime.combine(day, clock, zone) for day in dates[candidate.weekday]]
        allowed = len(starts) if best is None else len(starts) - best[0] - 1
        broken = 0
        for moment in starts:
            if not all(
                fits_window(p.zone, pair.window_of(p), moment, duration) for p in pair.people
            ):
                broken += 1
                if broken > allowed:
                    break
        else:
            fits = len(starts) - broken
            if best is None or fits > best[0]:
                best = (fits, candidate, starts)
    if best is None and no_sessions is not None:
        # No weekday tried gives the series its sessions: that, not a window, is the reason.
        reason = f"{pair.settings.cadence.text}: {no_sessions}"
        if pair.fixed_slot is not None:
            reason = f"fixed slot {pair.fixed_slot.describe()}: {reason}"
        return NoSlot(reason)
    if best is None:
        return NoSlot(why_no_slot(pair, None, start=start, last=start, fixed=False))
    _, candidate, starts = best
    problems = tuple(_problem(pair, moment) for moment in starts)
    slot = f"{WEEKDAYS[starts[0].weekday()]} {starts[0]:%H:%M} {candidate.timezone}"
    trial = Trial(slot=slot, starts=tuple(starts), problems=problems)
    last = max(days[-1] for days in dates.values() if days)
    return NoSlot(
        why_no_slot(pair, trial, start=start, last=last, fixed=pair.fixed_slot is not None)
    )


def _problem(pair: Pair, moment: datetime) -> str | None:
    """What keeps one session out of a window (the first person it does not suit), or None."""
    duration = pair.settings.duration
    for person in pair.people:
        problem = window_problem(person, pair.window_of(person), moment, duration)
        if problem:
            return problem
    return None
