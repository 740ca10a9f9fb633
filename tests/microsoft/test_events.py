"""Event JSON <-> Series and Occurrence without any HTTP: what rmcal writes reads back as the
same series, tags and zones survive, and cancelled occurrences are derived from the pattern."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rmcal_providers.microsoft.events import (
    busy_intervals,
    end_body,
    event_body,
    occurrences_from_instances,
    parse_graph_time,
    parse_offset_time,
    property_id,
    responses_of,
    series_from_event,
    series_from_spec,
    transaction_id,
    utc_text,
    wall_time,
)
from rmcal_providers.microsoft.zones import windows_zone

from rmcal.provider import Response, SeriesSpec
from rmcal.recurrence import normalize
from tests.microsoft.helpers import NYC, ORGANIZER, cy_series, spec


def test_transaction_id_is_stable_per_key():
    assert transaction_id("key-1") == transaction_id("key-1")
    assert transaction_id("key-1") != transaction_id("key-2")


def written_event(one: SeriesSpec, event_id: str = "AAMk-1") -> dict:
    """What Graph holds after a create: the body rmcal sent, plus the fields Graph adds."""
    return {
        **event_body(one, organizer=ORGANIZER, create=True),
        "id": event_id,
        "type": "seriesMaster",
        "organizer": {"emailAddress": {"address": ORGANIZER}},
        "onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/meetup-join/x"},
    }


@pytest.mark.parametrize(
    ("zone", "rrule"),
    [
        ("Europe/Amsterdam", "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;WKST=MO;COUNT=6"),
        ("America/New_York", "FREQ=MONTHLY;BYDAY=1WE;COUNT=6"),
        ("Asia/Kolkata", "FREQ=WEEKLY;BYDAY=WE;UNTIL=20260630T235959Z"),
    ],
)
def test_what_rmcal_writes_reads_back_as_the_same_series(zone, rrule):
    start = datetime(2026, 1, 7, 14, 0, tzinfo=ZoneInfo(zone))
    one = spec(1, zone=zone, rrule=rrule, start=start)
    series = series_from_event(written_event(one), organizer=ORGANIZER)
    assert series is not None
    assert series.key == "key-1" and series.cohort_id == "2026-spring"
    assert series.timezone == zone
    assert series.start == start and series.duration == one.duration
    assert series.rrule == normalize(rrule)
    assert series.attendees == ("mentor1@contoso.com", "mentee1@contoso.com")
    assert series.tags == {"key": "key-1", "cohort": "2026-spring", "pair": "pair-1"}
    assert series.organizer == ORGANIZER
    assert series.video_url == "https://teams.microsoft.com/l/meetup-join/x"
    assert series.extra["windows_zone"] == windows_zone(zone)
    # What the provider reports right after the create is what a later read finds.
    just_written = series_from_spec(one, written_event(one), "AAMk-1", organizer=ORGANIZER)
    assert replace(just_written, extra={}) == replace(series, extra={})


def test_an_event_without_rmcal_tags_or_recurrence_is_not_a_series():
    event = written_event(spec(2))
    untagged = {
        **event,
        "singleValueExtendedProperties": [
            {"id": "String {00000000-0000-0000-0000-000000000000} Name rmcal.key", "value": "x"}
        ],
    }
    single = {**event, "recurrence": None}
    assert series_from_event(untagged, organizer=ORGANIZER) is None
    assert series_from_event(single, organizer=ORGANIZER) is None


def test_the_organizer_is_never_an_attendee_and_stands_in_when_graph_names_none():
    one = spec(3)
    event = written_event(one)
    event["attendees"].append({"emailAddress": {"address": ORGANIZER.upper()}})
    del event["organizer"]
    series = series_from_event(event, organizer=ORGANIZER)
    assert series is not None
    assert series.organizer == ORGANIZER
    assert ORGANIZER not in series.attendees
    body = event_body(
        replace(one, attendees=(*one.attendees, one.organizer)), organizer=ORGANIZER, create=False
    )
    assert ORGANIZER not in [a["emailAddress"]["address"] for a in body["attendees"]]
    assert "transactionId" not in body


def test_graph_times_read_seven_fraction_digits_and_windows_zones():
    moment = parse_graph_time(
        {"dateTime": "2026-03-30T09:00:00.1234567", "timeZone": "W. Europe Standard Time"},
        preferred="Europe/Amsterdam",
    )
    assert moment == datetime(2026, 3, 30, 9, 0, 0, 123456, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert str(moment.tzinfo) == "Europe/Amsterdam"
    assert parse_graph_time({"dateTime": "2026-03-30T07:00:00.0000000", "timeZone": "UTC"}) == (
        datetime(2026, 3, 30, 7, tzinfo=UTC)
    )
    assert parse_offset_time("2026-03-30T07:00:00.0000000Z") == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert parse_offset_time("2026-03-30T09:00:00+02:00") == datetime(2026, 3, 30, 7, tzinfo=UTC)


def test_times_go_to_graph_as_wall_clock_with_a_zone_name():
    moment = datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    tz = ZoneInfo("America/New_York")
    assert wall_time(moment, tz, "Eastern Standard Time") == {
        "dateTime": "2026-07-01T08:30:00",
        "timeZone": "Eastern Standard Time",
    }
    assert utc_text(datetime(2026, 7, 1, 14, 30, tzinfo=ZoneInfo("Europe/Berlin"))) == (
        "2026-07-01T12:30:00"
    )


def test_end_body_changes_only_the_range_and_remembers_the_rule():
    series = cy_series()
    body, rule = end_body(series, datetime(2026, 2, 16, 10, 0, tzinfo=NYC))
    assert rule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;WKST=MO;UNTIL=20260216T150000Z"
    assert set(body) == {"recurrence", "singleValueExtendedProperties"}
    assert body["recurrence"]["range"]["endDate"] == "2026-02-16"
    assert body["singleValueExtendedProperties"] == [
        {"id": property_id("provider.rrule"), "value": rule}
    ]


def instance(original: str, start: str, **extra: object) -> dict:
    return {
        "originalStart": original,
        "start": {"dateTime": start, "timeZone": "UTC"},
        "end": {"dateTime": start.replace("T15", "T16"), "timeZone": "UTC"},
        **extra,
    }


def test_occurrences_missing_from_instances_are_reported_cancelled():
    items = [
        instance("2026-01-05T15:00:00Z", "2026-01-05T15:00:00.0000000"),
        instance("2026-02-02T15:00:00Z", "2026-02-02T15:00:00.0000000", isCancelled=True),
        instance("2025-12-22T15:00:00Z", "2025-12-22T15:00:00.0000000"),  # before the window
        {"start": {"dateTime": "2026-01-10T10:00:00", "timeZone": "UTC"}},  # not an instance
    ]
    out = occurrences_from_instances(
        cy_series(), items, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 10, tzinfo=UTC)
    )
    assert [(o.original_start.day, o.cancelled) for o in out] == [(5, False), (19, True), (2, True)]
    assert out[1].start == out[1].original_start  # derived: where the pattern put it
    assert out[1].end - out[1].start == cy_series().duration


def test_responses_use_the_platform_neutral_words():
    answers = responses_of(
        [
            {"emailAddress": {"address": "A@x.com"}, "status": {"response": "tentativelyAccepted"}},
            {"emailAddress": {"address": "b@x.com"}, "status": {"response": "notResponded"}},
            {"emailAddress": {"address": "c@x.com"}, "status": {"response": "somethingNew"}},
            {"emailAddress": {"address": "d@x.com"}},
            {"emailAddress": {}, "status": {"response": "accepted"}},
        ]
    )
    assert answers == {
        "a@x.com": Response.TENTATIVE,
        "b@x.com": Response.NONE,
        "c@x.com": Response.NONE,
        "d@x.com": Response.NONE,
    }


def test_busy_intervals_keep_busy_tentative_and_away_clipped_to_the_window():
    def item(status: str, start: str, end: str) -> dict:
        return {
            "status": status,
            "start": {"dateTime": start, "timeZone": "UTC"},
            "end": {"dateTime": end, "timeZone": "UTC"},
        }

    day = datetime(2026, 1, 5, tzinfo=UTC)
    items = [
        item("busy", "2026-01-04T23:00:00", "2026-01-05T01:00:00"),
        item("free", "2026-01-05T02:00:00", "2026-01-05T03:00:00"),
        item("Tentative", "2026-01-05T04:00:00", "2026-01-05T05:00:00"),
        item("oof", "2026-01-05T23:00:00", "2026-01-06T02:00:00"),
        item("workingElsewhere", "2026-01-05T06:00:00", "2026-01-05T07:00:00"),
        item("busy", "2026-01-07T06:00:00", "2026-01-07T07:00:00"),
    ]
    assert busy_intervals(items, day, day + timedelta(days=1)) == [
        (day, day + timedelta(hours=1)),
        (day + timedelta(hours=4), day + timedelta(hours=5)),
        (day + timedelta(hours=23), day + timedelta(days=1)),
    ]


def test_a_stand_in_on_one_instance_reads_as_held_by_delegate():
    # Di forwarded one session to a colleague and was taken off that instance (Outlook keeps
    # one attendee list per exception); Graph has no "delegated" answer to say so.
    from rmcal.attendance import classify
    from rmcal.model import Pair, Person, Settings, Thresholds, Window

    def person(address: str, response: str) -> dict:
        return {"emailAddress": {"address": address}, "status": {"response": response}}

    item = instance(
        "2026-01-05T15:00:00Z",
        "2026-01-05T15:00:00.0000000",
        attendees=[person("cy@contoso.com", "accepted"), person("eve@contoso.com", "accepted")],
    )
    (occurrence,) = occurrences_from_instances(
        cy_series(), [item], datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC)
    )
    anytime = Window(frozenset(range(7)), 0, 24 * 60)
    pair = Pair(
        "2026-spring",
        Person("cy@contoso.com", "Cy", "America/New_York"),
        Person("di@contoso.com", "Di", "America/New_York"),
        Settings(window=anytime),
    )
    session = classify(occurrence, pair, datetime(2026, 1, 6, tzinfo=UTC), Thresholds())
    assert session.held and session.note == "held by delegate (eve@contoso.com for the mentee)"
