"""Shared working hours of two people, judged the way ``rmcal schedule`` will judge their slot.

A pair is only worth making if ``rmcal schedule`` can then place it. So this module asks the
slot finder's own questions (``rmcal.slots``: its candidates, every quarter hour of every weekday
in the mentee's zone, each expanded into the whole series by ``rmcal.recurrence``, each
occurrence tested against each person's window in their own zone by ``fits_window``'s test),
and counts the answers:

- **shared hours a week**: the quarter-hour blocks of the week that lie inside both windows at
  *every* session of the series (DST in either zone included), times a quarter hour;
- **slot**: whether a whole session fits both windows at one time of day at every session,
  which is what the slot finder looks for first (in the mentee's zone).

Why per place and not per person: both answers depend only on each side's (zone, window), so
they are computed once per pair of places and shared by everyone there. A candidate's fit for
one place does not depend on the other side at all, so each place gets one bitmask of the
candidates it fits (per mentee zone), and a pair of places is one AND and a bit count: 5,000
people in 20 zones cost a few thousand masks, not millions of series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from rmcal.model import Pair, Person, Settings, Window
from rmcal.recurrence import RecurrenceError, first_start, series_times
from rmcal.slots import STEP_MINUTES, Candidate, candidates, ends_same_day, starts_inside

BLOCK = timedelta(minutes=STEP_MINUTES)
UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Place:
    """Where and when a group of people can meet: a zone and a window read in it."""

    timezone: str
    window: Window


@dataclass(frozen=True)
class SharedTime:
    """Per pair of places (mentor place x mentee place): shared hours a week, and slot or not."""

    hours: np.ndarray  # float, hours a week inside both windows at every session
    slot: np.ndarray  # bool, a whole session fits both windows at every session


def shared_time(
    mentors: Sequence[Place], mentees: Sequence[Place], *, settings: Settings, start: date
) -> SharedTime:
    """Shared hours and slot feasibility for every (mentor place, mentee place).

    ``settings`` and ``start`` are the cohort's: its cadence, number of sessions or end date
    and session length decide which occurrences every candidate must fit.
    """
    series = _Series(settings, start)
    lengths = (BLOCK, settings.duration)
    hours = np.zeros((len(mentors), len(mentees)))
    slot = np.zeros((len(mentors), len(mentees)), dtype=bool)
    for zone in sorted({place.timezone for place in mentees}):
        # Candidates in this mentee zone, against every mentor place and the mentees here.
        here = [place for place in mentees if place.timezone == zone]
        masks = series.masks([*mentors, *here], zone, lengths)
        for column, mentee in enumerate(mentees):
            if mentee.timezone != zone:
                continue
            for row, mentor in enumerate(mentors):
                blocks = masks[mentor, BLOCK] & masks[mentee, BLOCK]
                hours[row, column] = blocks.bit_count() * STEP_MINUTES / 60
                sessions = masks[mentor, settings.duration] & masks[mentee, settings.duration]
                slot[row, column] = bool(sessions)
    return SharedTime(hours=hours, slot=slot)


class _Series:
    """The slot finder's candidates per zone, expanded once, and each place's fit as bitmasks."""

    def __init__(self, settings: Settings, start: date) -> None:
        self.settings = settings
        self.start = start
        self._dates: dict[int, tuple[date, ...]] = {}
        self._starts: dict[str, list[tuple[datetime, ...]]] = {}

    def dates(self, weekday: int) -> tuple[date, ...]:
        """The session dates of a series whose first session falls on ``weekday``.

        Expanded once per weekday by ``recurrence.series_times``: a cadence repeats in wall
        time, so its dates do not depend on the zone or the time of day (a test holds this
        against ``series_times`` for every candidate). A series that gives too few sessions from
        that weekday (``RecurrenceError``: a raw rule, or an end date before its first day) has
        no dates, and no place fits it: the slot finder finds no slot there either.
        """
        if weekday not in self._dates:
            first = first_start(self.start, weekday=weekday, minute=0, zone=UTC)
            try:
                starts = series_times(self.settings, first).starts
            except RecurrenceError:
                starts = ()
            self._dates[weekday] = tuple(moment.date() for moment in starts)
        return self._dates[weekday]

    def starts(self, zone: str) -> list[tuple[datetime, ...]]:
        """Every candidate of the slot finder in ``zone``, as the starts of its whole series."""
        if zone not in self._starts:
            tz = ZoneInfo(zone)
            probe = Pair(
                cohort_id="",
                mentor=Person("", "", zone),
                mentee=Person("", "", zone),
                settings=self.settings,
            )
            self._starts[zone] = [
                _candidate_starts(c, self.dates(c.weekday), tz) for c in candidates(probe, [zone])
            ]
        return self._starts[zone]

    def masks(
        self, places: Sequence[Place], zone: str, lengths: Sequence[timedelta]
    ) -> dict[tuple[Place, timedelta], int]:
        """Per (place, length): bit i set when ``length`` from candidate i (in ``zone``) fits
        the place's window at every session.

        The places of one zone share each occurrence's conversion to their local time, which
        is most of the cost; every window and length is then tested on it (``fits_window``'s
        two halves, in its order).
        """
        out: dict[tuple[Place, timedelta], int] = {}
        by_zone: dict[str, set[Window]] = {}
        for place in places:
            by_zone.setdefault(place.timezone, set()).add(place.window)
        for local_zone, windows in by_zone.items():
            tests = [(window, length) for window in windows for length in lengths]
            bits = dict.fromkeys(tests, 0)
            tz = ZoneInfo(local_zone)
            for index, starts in enumerate(self.starts(zone)):
                local: list[datetime] = []
                ends: dict[tuple[int, timedelta], datetime] = {}
                for window, length in tests:
                    if _fits_every(starts, tz, window, length, local, ends):
                        bits[window, length] |= 1 << index
            for (window, length), value in bits.items():
                out[Place(local_zone, window), length] = value
        return out


def _fits_every(
    starts: tuple[datetime, ...],
    tz: ZoneInfo,
    window: Window,
    length: timedelta,
    local: list[datetime],
    ends: dict[tuple[int, timedelta], datetime],
) -> bool:
    """``fits_window`` for every start, reusing the local times in ``local`` and ``ends``; a
    series without a start fits nothing (the slot finder's ``NoSlot``)."""
    if not starts:
        return False
    for number, moment in enumerate(starts):
        if number == len(local):
            local.append(moment.astimezone(tz))
        if not starts_inside(window, local[number], length):
            return False
        end = ends.get((number, length))
        if end is None:
            end = ends[number, length] = (moment + length).astimezone(tz)
        if not ends_same_day(local[number], end):
            return False
    return True


def _candidate_starts(candidate: Candidate, dates: tuple[date, ...], zone: ZoneInfo) -> tuple:
    clock = time(candidate.minute // 60, candidate.minute % 60)
    return tuple(datetime.combine(day, clock, zone) for day in dates)
