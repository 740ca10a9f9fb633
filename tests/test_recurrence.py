from datetime import date, datetime

import pytest
from dateutil.rrule import rrulestr

from rmcal.model import Cadence
from rmcal.recurrence import (
    RecurrenceError,
    build_rrule,
    check_raw,
    expand,
    normalize,
    weekday_of_month,
    with_until,
)
from tests.zones import LONDON, SYDNEY, UTC, tz


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
