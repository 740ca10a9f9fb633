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
