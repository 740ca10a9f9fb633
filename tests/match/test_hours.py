"""``rmcal.match.hours``: shared hours and slots, judged by the slot finder's own rules."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from rmcal.match.hours import BLOCK, Place, _Series, shared_time
from rmcal.model import Cadence, Pair, Person, Settings, Window
from rmcal.recurrence import RecurrenceError, series_times
from rmcal.slots import Slot, candidate_start, candidates, find_slot, fits_window
from tests.zones import KATHMANDU, KOLKATA, LONDON, NEW_YORK, SAO_PAULO, SYDNEY, tz

NINE_TO_FIVE = Window(frozenset(range(5)), 9 * 60, 17 * 60)
WEEKLY = Settings(cadence=Cadence("weekly"), sessions=6)
FORTNIGHTLY = Settings(cadence=Cadence("weekly", 2, None, "every 2 weeks"), sessions=6)
# Weekly from Mon 18 Oct 2027: the session of Mon 1 Nov falls in the week when Europe has left
# summer time (31 Oct) and the US has not (7 Nov), so London is 4 hours ahead of New York, not 5.
OCTOBER = date(2027, 10, 18)
# Fortnightly from Mon 27 Sep 2027: sessions on 25 Oct and 8 Nov, none in that week.
SEPTEMBER = date(2027, 9, 27)


def hour(start: int, end: int, days: range = range(5)) -> Window:
    return Window(frozenset(days), start * 60, end * 60)


def one(mentor: Place, mentee: Place, settings: Settings, start: date) -> tuple[float, bool]:
    shared = shared_time([mentor], [mentee], settings=settings, start=start)
    return float(shared.hours[0, 0]), bool(shared.slot[0, 0])


def test_same_zone_and_hours_share_the_whole_window() -> None:
    place = Place(LONDON, NINE_TO_FIVE)
    assert one(place, place, FORTNIGHTLY, SEPTEMBER) == (40.0, True)


def test_london_and_new_york_share_their_afternoon_and_morning() -> None:
    # New York 09:00-17:00 is London 14:00-22:00 (13:00-21:00 in the mismatch week): 3 h a day.
    assert one(Place(NEW_YORK, NINE_TO_FIVE), Place(LONDON, NINE_TO_FIVE), WEEKLY, OCTOBER) == (
        15.0,
        True,
    )


def test_an_hour_that_the_dst_mismatch_week_breaks_is_not_shared() -> None:
    """11:00 New York is 16:00 London, except in the week the two zones' DST rules disagree."""
    mentor = Place(NEW_YORK, hour(11, 12))
    mentee = Place(LONDON, hour(16, 17))
    assert one(mentor, mentee, FORTNIGHTLY, SEPTEMBER) == (5.0, True)
    assert one(mentor, mentee, WEEKLY, OCTOBER) == (0.0, False)
    # The slot finder agrees: it finds the slot when no session falls in that week only.
    for settings, start, found in ((FORTNIGHTLY, SEPTEMBER, True), (WEEKLY, OCTOBER, False)):
        pair = Pair(
            "c",
            Person("m@x.example", "M", NEW_YORK, hour(11, 12)),
            Person("e@x.example", "E", LONDON, hour(16, 17)),
            settings,
        )
        slot = find_slot(pair, start, {}, programme_zone=LONDON)
        assert isinstance(slot, Slot) is found


def test_quarter_hour_zones_count_in_quarter_hours() -> None:
    # Kathmandu (UTC+05:45) 09:00-17:00 is 03:15-11:15 UTC; Kolkata (UTC+05:30) 03:30-11:30 UTC.
    # Blocks on the slot finder's quarter-hour grid inside both: 09:00 to 16:45 Kolkata, 7.75 h
    # a day (half-hour blocks would miss the last quarter hour).
    hours, slot = one(Place(KATHMANDU, NINE_TO_FIVE), Place(KOLKATA, NINE_TO_FIVE), WEEKLY, OCTOBER)
    assert (hours, slot) == (38.75, True)


def test_windows_on_different_days_share_nothing() -> None:
    mentor = Place(LONDON, hour(9, 17, range(0, 2)))
    mentee = Place(LONDON, hour(9, 17, range(3, 5)))
    assert one(mentor, mentee, WEEKLY, OCTOBER) == (0.0, False)


def test_a_window_too_short_for_a_session_shares_hours_but_no_slot() -> None:
    # 30 minutes in common every week, but a 45-minute session never fits.
    mentor = Place(LONDON, Window(frozenset(range(5)), 9 * 60, 9 * 60 + 30))
    assert one(mentor, Place(LONDON, NINE_TO_FIVE), WEEKLY, OCTOBER) == (2.5, False)


def test_places_are_computed_once_for_every_pair_of_places() -> None:
    mentors = [Place(LONDON, NINE_TO_FIVE), Place(NEW_YORK, NINE_TO_FIVE)]
    mentees = [
        Place(LONDON, NINE_TO_FIVE),
        Place(SYDNEY, NINE_TO_FIVE),
        Place(KOLKATA, hour(9, 10)),
    ]
    shared = shared_time(mentors, mentees, settings=WEEKLY, start=OCTOBER)
    assert shared.hours.shape == shared.slot.shape == (2, 3)
    assert shared.hours[0, 0] == 40.0 and shared.hours[1, 1] == 0.0
    assert not shared.slot[1, 1] and not shared.slot[1, 2]


# -- the shortcut against the slot finder ----------------------------------------------------------

ZONES = [LONDON, NEW_YORK, KOLKATA, KATHMANDU, SYDNEY, SAO_PAULO]
CADENCES = [
    WEEKLY,
    FORTNIGHTLY,
    Settings(cadence=Cadence("monthly"), sessions=4),
    Settings(cadence=Cadence("rrule", 1, "FREQ=WEEKLY;BYDAY=MO,TH", "RRULE"), sessions=5),
    Settings(cadence=Cadence("weekly"), sessions=None, end_date=date(2027, 12, 20)),
]
START = st.dates(min_value=date(2027, 1, 1), max_value=date(2028, 12, 31))


@examples(max_examples=40, deadline=None)
@given(st.sampled_from(ZONES), st.sampled_from(CADENCES), START, st.integers(0, 20))
def test_candidate_series_are_the_slot_finders_series(
    zone: str, cohort: Settings, start: date, pick: int
) -> None:
    """Dates expanded once per weekday give, at any time in any zone, ``series_times``."""
    if cohort.end_date is not None and cohort.end_date < start:
        return
    series = _Series(cohort, start)
    probe = Pair("c", Person("", "", zone), Person("", "", zone), cohort)
    options = candidates(probe, [zone])
    for index in range(pick % 7, len(options), 23):  # a spread of weekdays and times
        try:
            expected = series_times(cohort, candidate_start(options[index], start)).starts
        except RecurrenceError:  # no session from this weekday: the slot finder's NoSlot
            expected = ()
        assert series.starts(zone)[index] == expected


def test_a_weekday_past_the_end_date_has_no_series_and_fits_no_place() -> None:
    """Starting Wed 15 Dec with an end date of Mon 20 Dec, a Tuesday series has no session:
    ``series_times`` says so (``NoSessions``), the slot finder has no slot, nor has the mask."""
    ending = Settings(cadence=Cadence("weekly"), sessions=None, end_date=date(2027, 12, 20))
    series = _Series(ending, date(2027, 12, 15))
    assert series.dates(1) == () and series.dates(0) == (date(2027, 12, 20),)
    masks = series.masks([Place(LONDON, Window(frozenset(range(7)), 0, 24 * 60))], LONDON, [BLOCK])
    probe = Pair("c", Person("", "", LONDON), Person("", "", LONDON), ending)
    tuesdays = [i for i, c in enumerate(candidates(probe, [LONDON])) if c.weekday == 1]
    assert tuesdays and all(not (masks[next(iter(masks))] >> i) & 1 for i in tuesdays)


WINDOWS = st.builds(
    Window,
    days=st.frozensets(st.integers(0, 6), min_size=1),
    start_minute=st.integers(0, 20).map(lambda h: h * 60),
    end_minute=st.just(24 * 60),
)


@examples(max_examples=30, deadline=None)
@given(st.sampled_from(ZONES), st.sampled_from(ZONES), WINDOWS, WINDOWS, START)
def test_a_slot_here_means_the_slot_finder_finds_one(
    mentor_zone: str, mentee_zone: str, mentor_window: Window, mentee_window: Window, start: date
) -> None:
    hours, slot = one(
        Place(mentor_zone, mentor_window), Place(mentee_zone, mentee_window), FORTNIGHTLY, start
    )
    pair = Pair(
        "c",
        Person("m@x.example", "M", mentor_zone, mentor_window),
        Person("e@x.example", "E", mentee_zone, mentee_window),
        FORTNIGHTLY,
    )
    found = find_slot(pair, start, {}, programme_zone=LONDON)
    if slot:
        assert isinstance(found, Slot)
        # ... and its every session lies in both windows, as the calendar will hold it.
        for moment in found.starts:
            for person in pair.people:
                assert fits_window(
                    tz(person.timezone), person.window or NINE_TO_FIVE, moment, found.duration
                )
    if hours == 0:
        assert not slot
    assert hours % (BLOCK / timedelta(hours=1)) == 0
