"""The slot finder checks every occurrence, in each person's zone, against windows and busy time."""

from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rmcal.model import FixedSlot
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
        "fixed slot Mon 09:00 America/New_York: Mon 2027-03-15 13:00 Europe/London is outside "
        "mentor@example.com's window Mon,Tue,Wed,Thu,Fri 14:00-17:00"
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
    assert result.reason.startswith(
        "the windows overlap, but no weekly time holds for every session"
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
        "Mon,Tue,Wed,Thu,Fri 10:00-16:00 never overlap for 45 minutes"
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
