from datetime import date, datetime

import pytest
from dateutil.rrule import rrulestr

from rmcal.model import Cadence
from rmcal.recurrence import (
    RecurrenceError,
    build_rrule,
    check_raw,
    expand,
    first_day,
    first_start,
    normalize,
    series_times,
    weekday_of_month,
    with_until,
)
from tests.builders import settings
from tests.zones import KOLKATA, LONDON, SYDNEY, UTC, tz


def test_weekly_every_two_weeks_keeps_local_hour_across_dst():
    first = datetime(2027, 3, 17, 14, 0, tzinfo=tz(LONDON))
    rule = build_rrule(Cadence("weekly", 2), first, sessions=4, end_date=None)
    assert rule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;WKST=MO;COUNT=4"
    starts = expand(rule, first)
    assert [s.strftime("%m-%d %H:%M") for s in starts] == [
        "03-17 14:00",
        "03-31 14:00",
        "04-14 14:00",
        "04-28 14:00",
    ]
    # The instant moves by an hour when London enters summer time on 28 March 2027.
    assert [s.astimezone(UTC).hour for s in starts] == [14, 13, 13, 13]


def test_southern_hemisphere_dst_ends_in_april():
    first = datetime(2027, 3, 29, 9, 0, tzinfo=tz(SYDNEY))
    starts = expand(build_rrule(Cadence("weekly"), first, sessions=2, end_date=None), first)
    assert [s.astimezone(UTC).hour for s in starts] == [22, 23]


@pytest.mark.parametrize(
    ("day", "expected"),
    [(date(2027, 1, 13), "2WE"), (date(2027, 1, 29), "-1FR"), (date(2027, 1, 1), "1FR")],
)
def test_weekday_of_month(day, expected):
    assert weekday_of_month(day) == expected


def test_monthly_by_weekday_until_end_date():
    first = datetime(2027, 1, 13, 10, 0, tzinfo=tz(LONDON))
    rule = build_rrule(Cadence("monthly"), first, sessions=None, end_date=date(2027, 4, 14))
    assert rule == "FREQ=MONTHLY;BYDAY=2WE;UNTIL=20270414T225959Z"
    assert [s.date() for s in expand(rule, first)] == [
        date(2027, 1, 13),
        date(2027, 2, 10),
        date(2027, 3, 10),
        date(2027, 4, 14),
    ]


def test_raw_rule_gets_weekday_from_first_start():
    first = datetime(2027, 1, 12, 10, 0, tzinfo=tz(LONDON))
    rule = build_rrule(
        Cadence("rrule", rrule="FREQ=WEEKLY;INTERVAL=3"), first, sessions=3, end_date=None
    )
    assert rule == "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU;COUNT=3"


def test_expansion_agrees_with_plain_dateutil_on_naive_wall_time():
    first = datetime(2027, 10, 20, 9, 30, tzinfo=tz(LONDON))
    rule = "FREQ=WEEKLY;BYDAY=WE;COUNT=5"
    naive = list(rrulestr(rule, dtstart=first.replace(tzinfo=None)))
    assert [s.replace(tzinfo=None) for s in expand(rule, first)] == naive


def test_with_until_keeps_the_given_occurrence_and_drops_count():
    first = datetime(2027, 1, 12, 10, 0, tzinfo=tz(LONDON))
    rule = "FREQ=WEEKLY;BYDAY=TU;COUNT=10"
    ended = with_until(rule, datetime(2027, 1, 26, 10, 0, tzinfo=tz(LONDON)))
    assert "COUNT" not in ended
    assert len(expand(ended, first)) == 3


def test_normalize_orders_parts_and_drops_interval_one():
    assert (
        normalize("RRULE:count=3;byday=MO;interval=1;freq=weekly") == "FREQ=WEEKLY;BYDAY=MO;COUNT=3"
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=WEEKLY;COUNT=3", "COUNT not allowed in a cadence rule"),
        ("FREQ=HOURLY", "FREQ=HOURLY is not a meeting cadence"),
        ("BYDAY=MO", "FREQ is missing"),
        ("FREQ=WEEKLY;BYDAY", "'BYDAY' is not NAME=VALUE"),
        ("FREQ=WEEKLY;BYDAY=XX", ""),
    ],
)
def test_check_raw_rejects(rule, message):
    with pytest.raises(RecurrenceError) as error:
        check_raw(rule)
    assert message in str(error.value)


# -- a series before it exists: first start, RRULE and every start, expanded in one place ----------


@pytest.mark.parametrize(
    ("weekday", "expected"),
    [(0, date(2027, 1, 11)), (2, date(2027, 1, 13)), (6, date(2027, 1, 17))],
)
def test_first_day_is_the_weekday_on_or_after_the_start(weekday, expected):
    assert first_day(date(2027, 1, 11), weekday) == expected  # 11 January 2027 is a Monday


def test_first_start_is_local_wall_time_in_the_zone():
    first = first_start(date(2027, 1, 11), weekday=2, minute=16 * 60 + 15, zone=tz(KOLKATA))
    assert first == datetime(2027, 1, 13, 16, 15, tzinfo=tz(KOLKATA))
    assert first.astimezone(UTC).strftime("%H:%M") == "10:45"


def test_series_times_builds_the_rule_from_settings_and_expands_every_start():
    first = datetime(2027, 3, 17, 14, 0, tzinfo=tz(LONDON))
    series = series_times(settings(cadence=Cadence("weekly", 2), sessions=4), first)
    assert series.first == first
    assert series.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;WKST=MO;COUNT=4"
    assert series.starts == tuple(expand(series.rrule, first))
    assert [s.astimezone(UTC).hour for s in series.starts] == [14, 13, 13, 13]


def test_series_times_with_an_end_date_stops_on_that_day():
    first = datetime(2027, 1, 13, 10, 0, tzinfo=tz(LONDON))
    series = series_times(settings(end_date=date(2027, 2, 3)), first)
    assert "UNTIL=" in series.rrule and "COUNT" not in series.rrule
    assert [s.day for s in series.starts] == [13, 20, 27, 3]


# -- raw rules that look fine and would never occur, or reach decades ahead (issue 10) -------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL=0 is not between 1 and 52"),
        ("FREQ=YEARLY;INTERVAL=9999", "INTERVAL=9999 is not between 1 and 1"),
        ("FREQ=DAILY;INTERVAL=367", "INTERVAL=367 is not between 1 and 366"),
        ("FREQ=MONTHLY;INTERVAL=1e3", "INTERVAL=1E3 is not between 1 and 12"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH=13 is not a month (1 to 12)"),
        ("FREQ=YEARLY;BYMONTH=-1", "BYMONTH=-1 is not a month (1 to 12)"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY=32 is not a day of the month"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY=0 is not a day of the month"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=400", "BYSETPOS=400 is not a position in the period"),
        ("FREQ=MONTHLY;BYDAY=6MO", "BYDAY=6MO: the number must be between 1 and 5"),
        ("FREQ=WEEKLY;BYDAY=2MO", "BYDAY=2MO: a numbered weekday needs FREQ=MONTHLY or YEARLY"),
        ("FREQ=WEEKLY;BYDAY=MON", "BYDAY=MON is not a weekday such as MO, 2WE or -1FR"),
        ("FREQ=WEEKLY;WKST=XX", "WKST=XX is not a weekday (MO to SU)"),
    ],
)
def test_check_raw_rejects_values_that_cannot_occur_or_reach_too_far(rule, message):
    with pytest.raises(RecurrenceError) as error:
        check_raw(rule)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ=YEARLY;BYMONTH=1,4,7,10;BYDAY=1MO",
        "FREQ=DAILY;INTERVAL=10",
        "FREQ=WEEKLY;INTERVAL=52;BYDAY=MO,TH",
    ],
)
def test_check_raw_accepts_rules_people_write(rule):
    check_raw(rule)


def test_the_first_start_is_the_rules_first_occurrence_not_a_phantom():
    """A calendar shows DTSTART as a session whatever the rule says; the 15th of each month
    from Monday 11 January must start on the 15th, not on the 11th plus the 15ths."""
    monthly = Cadence("rrule", 1, "FREQ=MONTHLY;BYMONTHDAY=15", "RRULE:FREQ=MONTHLY;BYMONTHDAY=15")
    first = datetime(2027, 1, 11, 10, 0, tzinfo=tz(LONDON))
    series = series_times(settings(cadence=monthly, sessions=3), first)
    assert series.first == datetime(2027, 1, 15, 10, 0, tzinfo=tz(LONDON))
    assert [s.date() for s in series.starts] == [
        date(2027, 1, 15),
        date(2027, 2, 15),
        date(2027, 3, 15),
    ]
    assert series.starts == tuple(expand(series.rrule, series.first))


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",  # dateutil alone spins to the year 9999 on this
        "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2",
    ],
)
def test_a_rule_that_never_occurs_is_an_error_not_an_empty_series(rule):
    never = Cadence("rrule", 1, rule, rule)
    first = datetime(2027, 1, 11, 10, 0, tzinfo=tz(LONDON))
    with pytest.raises(RecurrenceError) as error:
        series_times(settings(cadence=never, sessions=4), first)
    assert str(error.value) == "the rule gives no session within 5 years of 2027-01-11"


def test_sessions_beyond_the_horizon_are_an_error():
    first = datetime(2027, 1, 11, 10, 0, tzinfo=tz(LONDON))
    with pytest.raises(RecurrenceError) as error:
        series_times(settings(cadence=Cadence("monthly", 12), sessions=7), first)
    assert str(error.value) == (
        "7 sessions do not fit within 5 years of 2027-01-11 "
        "(the last one that fits is session 5, on 2031-01-13)"
    )


def test_expansion_far_from_today_keeps_dates_weekdays_and_leap_days():
    """Rules expand 400 years later (same calendar) to bound the search: the dates must not
    notice. 29 February 2028 and 2032 are Tuesday and Sunday; yearly from 2028 gives both."""
    leap = Cadence("rrule", 1, "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "leap days")
    first = datetime(2028, 2, 29, 9, 0, tzinfo=tz(SYDNEY))
    series = series_times(settings(cadence=leap, sessions=2), first)
    assert series.starts == (first, datetime(2032, 2, 29, 9, 0, tzinfo=tz(SYDNEY)))
    assert [s.strftime("%a") for s in series.starts] == ["Tue", "Sun"]


def test_remembered_expansions_tell_apart_one_instant_in_two_zones():
    """13:00 London and 08:00 New York on 8 March 2027 are one instant (equal, same hash), but
    New York's clocks change on 14 March and London's on 28 March: each series keeps its own
    wall time, so from the second session on they are different instants."""
    rule = "FREQ=WEEKLY;BYDAY=MO;COUNT=4"
    london = datetime(2027, 3, 8, 13, 0, tzinfo=tz(LONDON))
    new_york = london.astimezone(tz("America/New_York"))
    assert london == new_york and hash(london) == hash(new_york)
    in_london = expand(rule, london)
    in_new_york = expand(rule, new_york)
    assert [s.hour for s in in_london] == [13, 13, 13, 13]
    assert [s.hour for s in in_new_york] == [8, 8, 8, 8]  # its own wall time, not London's
    assert in_london[1] != in_new_york[1]
    in_new_york.clear()  # a caller's list is its own: the remembered answer is untouched
    assert len(expand(rule, new_york)) == 4
    same = series_times(settings(sessions=3), london)
    other = series_times(settings(sessions=3), new_york)
    assert same.starts[1] != other.starts[1]
