"""The slot finder checks every occurrence, in each person's zone, against windows and busy time."""

from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rmcal.model import Cadence, FixedSlot
from rmcal.slots import NoSlot, Slot, find_slot, window_problem
from tests.builders import pair, person, window
from tests.zones import KATHMANDU, KOLKATA, LONDON, NEW_YORK, SAO_PAULO, SYDNEY, TOKYO, tz


def _fits_everywhere(p, slot: Slot) -> bool:
    return all(
        window_problem(who, p.window_of(who), start, p.settings.duration) is None
        for start in slot.starts
        for who in p.people
    )


def test_every_occurrence_is_checked_not_just_the_first():
    # London afternoons and New York mornings overlap by three hours, except in the two weeks of
    # March when the US is already on summer time and the UK is not: then NY 09:00 is London
    # 13:00, outside the mentor's window. A checker of the first weeks would pick 09:00.
    p = pair(
        person("mentor", LONDON, window("14:00", "17:00")),
        person("mentee", NEW_YORK, window("09:00", "12:00")),
        sessions=12,
    )
    slot = find_slot(p, date(2027, 2, 1), {}, programme_zone=LONDON)
    assert isinstance(slot, Slot)
    assert slot.describe() == "Mon 10:00 America/New_York"
    assert _fits_everywhere(p, slot)
    assert {s.astimezone(tz(LONDON)).strftime("%H:%M") for s in slot.starts} == {"15:00", "14:00"}


def test_nine_oclock_would_fail_in_the_dst_gap_week():
    p = pair(
        person("mentor", LONDON, window("14:00", "17:00")),
        person("mentee", NEW_YORK, window("09:00", "12:00")),
        sessions=12,
        fixed=FixedSlot(0, 9 * 60, NEW_YORK),
    )
    result = find_slot(p, date(2027, 2, 1), {}, programme_zone=LONDON)
    assert isinstance(result, NoSlot)
    assert result.reason == (
        "fixed slot Mon 09:00 America/New_York holds for 10 of 12 sessions and breaks on "
        "15 Mar-22 Mar 2027 (2 sessions): Mon 2027-03-15 13:00 Europe/London is outside "
        "mentor@example.com's window Mon,Tue,Wed,Thu,Fri 14:00-17:00"
    )


def test_a_fixed_slot_outside_a_window_says_it_breaks_every_session():
    p = pair(
        person("mentor", LONDON, window("14:00", "17:00")),
        person("mentee", NEW_YORK, window("09:00", "12:00")),
        sessions=12,
        fixed=FixedSlot(0, 7 * 60, NEW_YORK),
    )
    result = find_slot(p, date(2027, 2, 1), {}, programme_zone=LONDON)
    assert result == NoSlot(
        "fixed slot Mon 07:00 America/New_York breaks on all 12 sessions: Mon 2027-02-01 12:00 "
        "Europe/London is outside mentor@example.com's window Mon,Tue,Wed,Thu,Fri 14:00-17:00"
    )


def test_southern_hemisphere_dst_shrinks_the_overlap_to_nothing():
    # London evenings meet Sydney mornings; as London springs forward (28 Mar) and Sydney falls
    # back (4 Apr 2027) the offset goes from 11 h to 9 h and no single time survives both.
    p = pair(
        person("mentor", LONDON, window("18:00", "22:00")),
        person("mentee", SYDNEY, window("07:00", "10:00")),
        sessions=8,
    )
    result = find_slot(p, date(2027, 3, 1), {}, programme_zone=LONDON)
    assert isinstance(result, NoSlot)
    # True and specific: they do overlap, in the first five weeks; the slot it speaks of is named.
    assert result.reason == (
        "no weekly time holds for all 8 sessions: the windows overlap for 45 min in only 5 "
        "of 8 weeks (not in the weeks of 5 Apr-25 Apr 2027, while Europe/London and "
        "Australia/Sydney are 9 h apart instead of 11 h); the best time, Mon 21:00 "
        "Europe/London, holds for 5 of 8 sessions and breaks on 5 Apr-19 Apr 2027 (3 sessions): "
        "Tue 2027-04-06 06:00 Australia/Sydney is outside mentee@example.com's window "
        "Mon,Tue,Wed,Thu,Fri 07:00-10:00; widen a window, shorten the sessions or set a fixed "
        "slot"
    )


def test_the_reason_counts_the_weeks_that_break_and_says_the_clocks_are_why():
    # 45 minutes inside New York 09:00-10:15 and London 14:00-17:00 hold all year, except in
    # the weeks when only one country is on summer time: then the zones are 4 h apart, not 5.
    p = pair(
        person("mentor", LONDON, window("14:00", "17:00")),
        person("mentee", NEW_YORK, window("09:00", "10:15")),
        sessions=40,
    )
    result = find_slot(p, date(2027, 3, 1), {}, programme_zone=LONDON)
    assert isinstance(result, NoSlot)
    assert result.reason == (
        "no weekly time holds for all 40 sessions: the windows overlap for 45 min in only 37 of "
        "40 weeks (not in the weeks of 15 Mar-28 Mar 2027, 1 Nov-7 Nov 2027, while "
        "Europe/London and America/New_York are 4 h apart instead of 5 h); the best time, Mon "
        "09:00 America/New_York, holds for 37 of 40 sessions and breaks on 15 Mar-22 Mar 2027 "
        "(2 sessions), Mon 1 Nov 2027: Mon 2027-03-15 13:00 Europe/London is outside "
        "mentor@example.com's window Mon,Tue,Wed,Thu,Fri 14:00-17:00; widen a window, shorten "
        "the sessions or set a fixed slot"
    )


def test_southern_hemisphere_slot_crosses_the_date_line_and_holds():
    p = pair(
        person("mentor", LONDON, window("18:00", "23:00")),
        person("mentee", SYDNEY, window("07:00", "11:00")),
        sessions=8,
    )
    slot = find_slot(p, date(2027, 3, 1), {}, programme_zone=LONDON)
    assert isinstance(slot, Slot)
    assert _fits_everywhere(p, slot)
    # Monday evening in London is Tuesday morning in Sydney: the mentee's weekday differs.
    first = slot.first
    assert first.astimezone(tz(LONDON)).weekday() != first.astimezone(tz(SYDNEY)).weekday()


def test_half_hour_zone():
    p = pair(person("mentor", KOLKATA), person("mentee", LONDON), sessions=10)
    slot = find_slot(p, date(2027, 3, 1), {}, programme_zone=LONDON)
    assert isinstance(slot, Slot)
    assert _fits_everywhere(p, slot)
    assert slot.describe() == "Mon 09:00 Europe/London"
    assert {s.astimezone(tz(KOLKATA)).strftime("%H:%M") for s in slot.starts} == {"14:30", "13:30"}


def test_never_overlapping_windows_are_explained():
    p = pair(
        person("mentor", LONDON, window("10:00", "16:00")),
        person("mentee", TOKYO, window("10:00", "16:00")),
    )
    result = find_slot(p, date(2027, 1, 11), {}, programme_zone=LONDON)
    assert result == NoSlot(
        "mentor Europe/London Mon,Tue,Wed,Thu,Fri 10:00-16:00 and mentee Asia/Tokyo "
        "Mon,Tue,Wed,Thu,Fri 10:00-16:00 never overlap for 45 min in any of the 6 weeks "
        "of the series"
    )


def test_busy_in_a_late_week_moves_the_slot():
    p = pair(person("mentor", LONDON), person("mentee", LONDON), sessions=6)
    free = find_slot(p, date(2027, 1, 11), {}, programme_zone=LONDON)
    assert isinstance(free, Slot)
    sixth = free.starts[5]
    busy = {p.mentee.email: ((sixth - timedelta(minutes=15), sixth + timedelta(hours=1)),)}
    moved = find_slot(p, date(2027, 1, 11), busy, programme_zone=LONDON)
    assert isinstance(moved, Slot)
    assert moved.clashes == ()
    assert moved.first != free.first


def test_fewest_clashes_when_none_is_clash_free():
    p = pair(
        person("mentor", LONDON),
        person("mentee", LONDON),
        sessions=3,
        win=window("09:00", "10:00", days={0}),
    )
    monday = datetime(2027, 1, 18, 0, 0, tzinfo=tz(LONDON))
    busy = {p.mentor.email: ((monday, monday + timedelta(days=1)),)}
    slot = find_slot(p, date(2027, 1, 11), busy, programme_zone=LONDON)
    assert isinstance(slot, Slot)
    assert [(c.start.date(), c.who) for c in slot.clashes] == [
        (date(2027, 1, 18), ("mentor@example.com",))
    ]


def test_reserved_time_keeps_a_persons_two_pairs_apart():
    shared = person("shared", LONDON)
    first = pair(person("alpha", LONDON), shared)
    second = pair(person("beta", LONDON), shared)
    one = find_slot(first, date(2027, 1, 11), {}, programme_zone=LONDON)
    assert isinstance(one, Slot)
    two = find_slot(
        second,
        date(2027, 1, 11),
        {},
        programme_zone=LONDON,
        reserved={shared.email: one.intervals()},
    )
    assert isinstance(two, Slot)
    assert two.clashes == ()
    assert not set(one.intervals()) & set(two.intervals())


def test_unknown_free_busy_is_reported():
    p = pair(person("mentor", LONDON), person("mentee", LONDON))
    slot = find_slot(p, date(2027, 1, 11), {p.mentor.email: None}, programme_zone=LONDON)
    assert isinstance(slot, Slot)
    assert slot.unknown == ("mentor@example.com",)


def test_fixed_slot_is_validated_not_searched():
    p = pair(person("mentor", KOLKATA), person("mentee", LONDON), fixed=FixedSlot(2, 10 * 60))
    slot = find_slot(p, date(2027, 1, 11), {}, programme_zone=LONDON)
    assert isinstance(slot, Slot)
    assert slot.describe() == "Wed 10:00 Europe/London"


def test_a_fixed_slot_in_a_zone_of_neither_person_nor_the_programme():
    """Documented and valid: ``slot: Wed 10:00 Asia/Tokyo`` for a London/Kolkata pair (this
    crashed with "'Asia/Tokyo' is not in list" while ranking candidates by zone)."""
    p = pair(
        person("mentor", KOLKATA, window("06:00", "20:00")),
        person("mentee", LONDON, window("00:00", "12:00")),
        fixed=FixedSlot(2, 10 * 60, TOKYO),
    )
    slot = find_slot(p, date(2027, 1, 11), {}, programme_zone=LONDON)
    assert isinstance(slot, Slot)
    assert slot.describe() == "Wed 10:00 Asia/Tokyo"
    assert slot.first == datetime(2027, 1, 13, 10, 0, tzinfo=tz(TOKYO))


def test_a_raw_rule_that_gives_no_session_from_a_candidate_is_no_slot_not_a_phantom():
    """``FREQ=YEARLY;BYMONTH=2`` takes the day of the month from the first session: from
    Saturday 30 January it means 30 February, which never comes. Before, this was a series of
    zero sessions whose DTSTART every calendar shows as a phantom first session."""
    yearly = Cadence("rrule", 1, "FREQ=YEARLY;BYMONTH=2", "RRULE:FREQ=YEARLY;BYMONTH=2")
    everyday = window("00:00", "24:00", range(7))
    p = pair(
        person("mentor", LONDON, everyday),
        person("mentee", LONDON, everyday),
        cadence=yearly,
        sessions=3,
        fixed=FixedSlot(5, 10 * 60),
    )
    result = find_slot(p, date(2027, 1, 25), {}, programme_zone=LONDON)
    assert result == NoSlot(
        "fixed slot Sat 10:00: RRULE:FREQ=YEARLY;BYMONTH=2: "
        "the rule gives no session within 5 years of 2027-01-30"
    )


def test_same_input_same_slot():
    p = pair(person("mentor", KATHMANDU), person("mentee", SAO_PAULO), sessions=10)
    runs = {find_slot(p, date(2027, 9, 6), {}, programme_zone=LONDON) for _ in range(3)}
    assert len(runs) == 1


ZONES = [
    LONDON,
    NEW_YORK,
    KOLKATA,
    KATHMANDU,
    TOKYO,
    SYDNEY,
    SAO_PAULO,
    "Europe/Berlin",
    "America/Los_Angeles",
    "Pacific/Auckland",
    "Asia/Singapore",
]


@settings(max_examples=60, deadline=None)
@given(
    mentor_zone=st.sampled_from(ZONES),
    mentee_zone=st.sampled_from(ZONES),
    mentor_start=st.integers(6, 12),
    mentee_start=st.integers(6, 12),
    start=st.dates(date(2027, 1, 1), date(2028, 12, 31)),
    sessions=st.integers(1, 20),
    every=st.integers(1, 3),
)
def test_any_slot_found_fits_both_windows_on_every_occurrence(
    mentor_zone, mentee_zone, mentor_start, mentee_start, start, sessions, every
):
    from rmcal.model import Cadence

    p = pair(
        person(
            "mentor", mentor_zone, window(f"{mentor_start:02d}:00", f"{mentor_start + 8:02d}:00")
        ),
        person(
            "mentee", mentee_zone, window(f"{mentee_start:02d}:00", f"{mentee_start + 8:02d}:00")
        ),
        sessions=sessions,
        cadence=Cadence("weekly", every, None, f"every {every} weeks"),
    )
    result = find_slot(p, start, {}, programme_zone=LONDON)
    if isinstance(result, Slot):
        assert len(result.starts) == sessions
        assert _fits_everywhere(p, result)
        assert result.first.date() >= start


def test_pairs_of_one_shape_share_the_window_work():
    """Windows are judged once per pair shape (zones, windows, settings), not once per pair:
    a large cohort's slot search then only counts each pair's clashes."""
    from rmcal.slots import _verdicts

    _verdicts.cache_clear()
    for n in range(5):
        p = pair(person(f"mentor{n}", LONDON), person(f"mentee{n}", NEW_YORK))
        assert isinstance(find_slot(p, date(2027, 2, 1), {}, programme_zone=LONDON), Slot)
    assert _verdicts.cache_info().misses == 1
    assert _verdicts.cache_info().hits == 4


def test_fewest_clashes_is_the_same_as_an_exhaustive_count():
    """Counting stops at the best candidate's clashes: the slot chosen is still the first of
    the candidates with the fewest, as if every candidate had been counted in full."""
    from rmcal.slots import Candidate, build_slot_series, busy_index, count_clashes

    p = pair(person("mentor", LONDON), person("mentee", NEW_YORK), sessions=8)
    start = date(2027, 2, 1)
    busy = {}
    for n, who in enumerate(p.people):
        busy[who.email] = tuple(
            (
                datetime(2027, 2, 1, 13, tzinfo=tz(LONDON)) + timedelta(days=d, minutes=30 * n),
                datetime(2027, 2, 1, 17, tzinfo=tz(LONDON)) + timedelta(days=d),
            )
            for d in range(0, 70, 1 + n)
        )
    slot = find_slot(p, start, busy, programme_zone=LONDON)
    assert isinstance(slot, Slot) and slot.clashes
    index = busy_index(p, busy, {})
    fewest = min(
        len(count_clashes(series.starts, p.settings.duration, index))
        for zone in (NEW_YORK, LONDON)
        for weekday in range(7)
        for minute in range(0, 1440, 30)
        if _fits_everywhere(
            p,
            Slot.from_series(
                series := build_slot_series(p, Candidate(zone, weekday, minute), start),
                timezone=zone,
                duration=p.settings.duration,
            ),
        )
    )
    assert len(slot.clashes) == fewest
