"""RRULE <-> Graph patternedRecurrence, for every cadence rmcal builds, in both directions."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from rmcal_providers.microsoft.recurrence import (
    UnsupportedRecurrence,
    from_graph,
    to_graph,
    unsupported_reason,
)
from rmcal_providers.microsoft.zones import windows_zone

from rmcal.model import Cadence
from rmcal.recurrence import build_rrule, expand, with_until

AMS = ZoneInfo("Europe/Amsterdam")
NYC = ZoneInfo("America/New_York")
WED = datetime(2026, 1, 14, 14, 0, tzinfo=AMS)  # the second Wednesday of January 2026
FRI = datetime(2026, 1, 30, 9, 30, tzinfo=NYC)  # the last Friday of January 2026


@pytest.mark.parametrize(
    ("cadence", "first", "sessions", "end", "pattern", "rng"),
    [
        (
            Cadence("weekly"),
            WED,
            6,
            None,
            {
                "type": "weekly",
                "interval": 1,
                "daysOfWeek": ["wednesday"],
                "firstDayOfWeek": "monday",
            },
            {"type": "numbered", "numberOfOccurrences": 6, "startDate": "2026-01-14"},
        ),
        (
            Cadence("weekly", interval=2),
            WED,
            None,
            date(2026, 6, 30),
            {
                "type": "weekly",
                "interval": 2,
                "daysOfWeek": ["wednesday"],
                "firstDayOfWeek": "monday",
            },
            {"type": "endDate", "endDate": "2026-06-30", "startDate": "2026-01-14"},
        ),
        (
            Cadence("monthly"),
            WED,
            6,
            None,
            {
                "type": "relativeMonthly",
                "interval": 1,
                "daysOfWeek": ["wednesday"],
                "index": "second",
            },
            {"type": "numbered", "numberOfOccurrences": 6, "startDate": "2026-01-14"},
        ),
        (
            Cadence("monthly"),
            FRI,
            None,
            date(2026, 12, 31),
            {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
            {"type": "endDate", "endDate": "2026-12-31", "startDate": "2026-01-30"},
        ),
        (
            Cadence("rrule", rrule="FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15"),
            datetime(2026, 1, 15, 10, 0, tzinfo=AMS),
            4,
            None,
            {"type": "absoluteMonthly", "interval": 2, "dayOfMonth": 15},
            {"type": "numbered", "numberOfOccurrences": 4, "startDate": "2026-01-15"},
        ),
    ],
    ids=[
        "weekly-numbered",
        "fortnightly-end-date",
        "second-wednesday",
        "last-friday",
        "day-of-month",
    ],
)
def test_cadence_round_trips(cadence, first, sessions, end, pattern, rng):
    rule = build_rrule(cadence, first, sessions=sessions, end_date=end)
    zone = windows_zone(first.tzinfo.key)
    recurrence = to_graph(rule, first, zone)

    assert recurrence["pattern"] == pattern
    assert recurrence["range"] == {**rng, "recurrenceTimeZone": zone}
    # Reading Graph's form back gives the very same text, so a re-run sees no change.
    assert from_graph(recurrence, first.tzinfo) == rule


def test_graph_patterns_read_back_as_rrules():
    tz = ZoneInfo("America/New_York")
    assert (
        from_graph(
            {
                "pattern": {
                    "type": "relativeMonthly",
                    "interval": 1,
                    "daysOfWeek": ["friday"],
                    "index": "last",
                    "firstDayOfWeek": "sunday",
                    "month": 0,
                    "dayOfMonth": 0,
                },
                "range": {
                    "type": "numbered",
                    "numberOfOccurrences": 10,
                    "startDate": "2026-01-30",
                    "recurrenceTimeZone": "Eastern Standard Time",
                },
            },
            tz,
        )
        == "FREQ=MONTHLY;BYDAY=-1FR;COUNT=10"
    )
    assert (
        from_graph(
            {
                "pattern": {
                    "type": "weekly",
                    "interval": 1,
                    "daysOfWeek": ["monday", "thursday"],
                    "firstDayOfWeek": "sunday",
                },
                "range": {"type": "noEnd", "startDate": "2026-01-05"},
            },
            tz,
        )
        == "FREQ=WEEKLY;BYDAY=MO,TH;WKST=SU"
    )
    # An end date is the whole day in the recurrence zone: 23:59:59 EDT is 03:59:59Z next day.
    assert (
        from_graph(
            {
                "pattern": {"type": "daily", "interval": 3},
                "range": {"type": "endDate", "startDate": "2026-06-01", "endDate": "2026-06-30"},
            },
            tz,
        )
        == "FREQ=DAILY;INTERVAL=3;UNTIL=20260701T035959Z"
    )


def test_relative_pattern_with_several_days_uses_bysetpos():
    first = datetime(2026, 1, 30, 9, 0, tzinfo=AMS)  # the last weekday of January 2026
    rule = "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3"
    recurrence = to_graph(rule, first, "W. Europe Standard Time")
    assert recurrence["pattern"]["index"] == "last"
    assert len(recurrence["pattern"]["daysOfWeek"]) == 5
    assert from_graph(recurrence, AMS) == rule


def test_ending_a_series_keeps_the_last_occurrence_date():
    first = WED
    rule = build_rrule(Cadence("weekly"), first, sessions=10, end_date=None)
    last = expand(rule, first)[3]
    recurrence = to_graph(with_until(rule, last), first, "W. Europe Standard Time")
    assert recurrence["range"] == {
        "type": "endDate",
        "startDate": "2026-01-14",
        "endDate": "2026-02-04",
        "recurrenceTimeZone": "W. Europe Standard Time",
    }
    # Same occurrences kept, whichever form the rule is read in.
    assert expand(from_graph(recurrence, AMS), first) == expand(with_until(rule, last), first)


def test_until_before_the_occurrence_time_ends_on_the_previous_occurrence():
    # UNTIL at 10:00 on a Wednesday whose occurrence is at 14:00 excludes that day.
    rule = "FREQ=WEEKLY;BYDAY=WE;WKST=MO;UNTIL=20260128T090000Z"
    recurrence = to_graph(rule, WED, "W. Europe Standard Time")
    assert recurrence["range"]["endDate"] == "2026-01-21"


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("FREQ=HOURLY", "FREQ=HOURLY"),
        ("FREQ=MINUTELY;INTERVAL=30", "FREQ=MINUTELY"),
        ("FREQ=WEEKLY;BYHOUR=9,15", "BYHOUR"),
        ("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO"),
        ("FREQ=YEARLY;BYYEARDAY=100", "BYYEARDAY"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-2", "2nd-from-last"),
        ("FREQ=MONTHLY;BYDAY=5FR", "5th"),
        ("FREQ=MONTHLY;BYDAY=1MO,3MO", "one numbered weekday"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,15", "several BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", "end of the month"),
        ("FREQ=MONTHLY;BYDAY=TU", "without a position"),
        ("FREQ=DAILY;BYDAY=MO,WE", "FREQ=WEEKLY"),
        ("FREQ=WEEKLY;BYDAY=2MO", "numbered weekdays"),
        ("FREQ=MONTHLY;BYMONTH=3", "BYMONTH"),
        ("BYDAY=MO", "FREQ is missing"),
    ],
)
def test_rules_graph_cannot_hold_are_refused_with_a_reason(rule, reason):
    message = unsupported_reason(rule)
    assert message is not None
    assert reason in message
    with pytest.raises((UnsupportedRecurrence, ValueError)):
        to_graph(rule, WED, "W. Europe Standard Time")


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;BYDAY=WE;WKST=MO;COUNT=6",
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,TH",
        "FREQ=MONTHLY;BYDAY=2WE",
        "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20261231T225959Z",
        "FREQ=MONTHLY;BYDAY=WE;BYSETPOS=4",
        "FREQ=MONTHLY;BYMONTHDAY=15",
        "FREQ=YEARLY;BYMONTH=3;BYDAY=1MO",
        "FREQ=DAILY;INTERVAL=2;COUNT=10",
    ],
)
def test_rules_graph_can_hold_pass(rule):
    assert unsupported_reason(rule) is None
