"""What an invitation says about when the sessions are, for each person, across DST changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rmcal.invite import when_for
from rmcal.slots import Slot


def weekly(first: datetime, count: int) -> Slot:
    starts = tuple(first + timedelta(weeks=n) for n in range(count))
    zone = str(first.tzinfo)
    return Slot(zone, first, f"FREQ=WEEKLY;COUNT={count}", starts, timedelta(hours=1))


def test_the_time_of_most_sessions_then_the_weeks_that_differ() -> None:
    """A Sydney series at 17:00 from February: 06:00 in London until London's clocks change,
    07:00 for the one week between the two changes, 08:00 once Sydney's have changed too."""
    slot = weekly(datetime(2027, 2, 1, 17, 0, tzinfo=ZoneInfo("Australia/Sydney")), 12)
    assert when_for(slot, "Europe/London") == (
        "Mondays at 06:00 GMT, from 01 Feb 2027; 07:00 BST on 29 Mar; 08:00 BST on 05 Apr, "
        "12 Apr and 19 Apr (the clocks change on different dates in the two time zones)"
    )
    # For the person in the series' own zone the wall-clock time never moves.
    assert when_for(slot, "Australia/Sydney") == "Mondays at 17:00 AEDT/AEST, from 01 Feb 2027"


def test_the_usual_time_is_the_most_common_one_not_the_first() -> None:
    """A New York series from late February: the first two sessions are 16:00 in London, the
    two in the gap 15:00, the rest (most) 16:00 BST."""
    slot = weekly(datetime(2027, 3, 1, 11, 0, tzinfo=ZoneInfo("America/New_York")), 8)
    assert when_for(slot, "Europe/London") == (
        "Mondays at 16:00 GMT/BST, from 01 Mar 2027; 15:00 GMT on 15 Mar and 22 Mar "
        "(the clocks change on different dates in the two time zones)"
    )


def test_a_new_weekday_is_named_and_a_long_run_reads_as_a_range() -> None:
    """17:00 Sydney is Sunday evening in Los Angeles, and after Sydney's clocks change it is
    Monday 00:00 there: the day is named whenever it is not the usual one."""
    slot = weekly(datetime(2027, 1, 4, 17, 0, tzinfo=ZoneInfo("Australia/Sydney")), 16)
    assert when_for(slot, "America/Los_Angeles") == (
        "Sundays at 22:00 PST, from 03 Jan 2027; 23:00 PDT on 14 Mar, 21 Mar and 28 Mar; "
        "00:00 PDT on Mon 05 Apr, Mon 12 Apr and Mon 19 Apr "
        "(the clocks change on different dates in the two time zones)"
    )
    # From February to August, most sessions are after both changes: those set the time.
    slot = weekly(datetime(2027, 2, 1, 17, 0, tzinfo=ZoneInfo("Australia/Sydney")), 30)
    assert when_for(slot, "Europe/London") == (
        "Mondays at 08:00 BST, from 01 Feb 2027; 06:00 GMT on 01 Feb to 22 Mar (8 sessions); "
        "07:00 BST on 29 Mar (the clocks change on different dates in the two time zones)"
    )
