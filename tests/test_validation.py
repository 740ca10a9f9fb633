"""``rmcal.validation``: the sample slot ``rmcal validate`` checks and renders with."""

from __future__ import annotations

from datetime import date, datetime, time

from rmcal.model import Cadence, FixedSlot
from rmcal.recurrence import first_start, series_times
from rmcal.slots import find_slot
from rmcal.validation import sample_slot
from tests.builders import pair, person
from tests.zones import KOLKATA, LONDON, tz


def test_sample_slot_is_the_cohort_start_at_ten_in_the_mentee_zone():
    ana = person("ana", KOLKATA)
    bob = person("bob", LONDON)
    slot = sample_slot(pair(ana, bob, cadence=Cadence("monthly")), date(2027, 1, 14))
    assert slot.timezone == LONDON
    assert slot.first == datetime.combine(date(2027, 1, 14), time(10, 0), tz(LONDON))
    assert slot.rrule == "FREQ=MONTHLY;BYDAY=2TH;COUNT=6"
    assert len(slot.starts) == 6


def test_sample_slot_and_slot_finder_expand_a_series_the_same_way():
    """One expansion: what validate checks is what the slot finder would place."""
    ana = person("ana", KOLKATA)
    bob = person("bob", LONDON)
    start = date(2027, 3, 10)  # a Wednesday; London's clocks change on 28 March
    fixed = pair(ana, bob, fixed=FixedSlot(2, 10 * 60))
    found = find_slot(fixed, start, {}, programme_zone=LONDON)
    sampled = sample_slot(fixed, start)
    assert (found.first, found.rrule, found.starts) == (
        sampled.first,
        sampled.rrule,
        sampled.starts,
    )
    first = first_start(start, weekday=2, minute=10 * 60, zone=tz(LONDON))
    assert series_times(fixed.settings, first).starts == sampled.starts


def test_sample_slot_starts_on_the_first_day_a_raw_rule_allows():
    """Every Tuesday (DAILY, seven days apart) from a Monday start: sampled from the Tuesday,
    as the slot finder would place it; from the Monday itself the rule would never occur."""
    tuesdays = Cadence("rrule", 7, "FREQ=DAILY;INTERVAL=7;BYDAY=TU", "tuesdays")
    slot = sample_slot(
        pair(person("ana", KOLKATA), person("bob", LONDON), cadence=tuesdays), date(2027, 1, 11)
    )
    assert slot.first == datetime(2027, 1, 12, 10, 0, tzinfo=tz(LONDON))
    assert len(slot.starts) == 6


def test_a_pair_built_in_code_with_a_rule_that_never_occurs_still_gets_a_sample():
    """The config loader refuses such a rule; a library caller can still build the pair, and
    validate then needs one start to render the invitation with, not a traceback."""
    never = Cadence("rrule", 1, "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never")
    slot = sample_slot(
        pair(person("ana", KOLKATA), person("bob", LONDON), cadence=never), date(2027, 1, 11)
    )
    assert slot.starts == (datetime(2027, 1, 11, 10, 0, tzinfo=tz(LONDON)),)
    assert slot.rrule == "FREQ=YEARLY;BYMONTHDAY=30;BYMONTH=2;COUNT=6"
