"""Calendar event JSON ⇄ Series/Occurrence: pure, no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

from rmcal_providers.google.events import (
    exdate_set,
    is_parent,
    overlay,
    rrule_of,
    series_from_event,
    valid_event_id,
)

from rmcal.provider import Response
from tests.fakes.google_server import fixture

WINDOW = (datetime(2030, 3, 1, tzinfo=UTC), datetime(2030, 5, 1, tzinfo=UTC))


def test_series_keys_are_valid_event_ids():
    assert valid_event_id("rm0123456789abcdefghijklmn") is None
    assert "base32hex" in valid_event_id("rm-0123456789")
    assert "base32hex" in valid_event_id("rmwxyz01234")  # w-z are not base32hex
    assert "5 to 1024" in valid_event_id("rm01")


def test_a_floating_until_is_normalised_to_utc_in_the_series_zone():
    lines = ["RRULE:FREQ=WEEKLY;UNTIL=20300601T100000;BYDAY=MO"]
    assert rrule_of(lines, "Europe/Berlin") == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20300601T080000Z"
    assert rrule_of(["RRULE:FREQ=DAILY;UNTIL=20300601"], "UTC") == (
        "FREQ=DAILY;UNTIL=20300601T235959Z"
    )


def test_exceptions_are_not_series():
    page = fixture("events_find_page1.json")
    assert [is_parent(e) for e in page["items"]] == [True, False]


def test_exdate_lines_are_read_in_their_zone():
    got = exdate_set(
        ["EXDATE;TZID=Europe/Berlin:20300311T100000,20300401T100000", "EXDATE:20300408T080000Z"],
        "UTC",
    )
    assert got == {
        datetime(2030, 3, 11, 9, tzinfo=UTC),
        datetime(2030, 4, 1, 8, tzinfo=UTC),
        datetime(2030, 4, 8, 8, tzinfo=UTC),
    }


def test_overlay_applies_exdates_and_exceptions_and_refuses_rdate():
    parent = fixture("event_series.json")
    series = series_from_event(parent, "Europe/Berlin")
    parent["recurrence"] = parent["recurrence"] + ["EXDATE;TZID=Europe/Berlin:20300318T100000"]
    moved = fixture("events_find_page1.json")["items"][1]
    got = overlay(series, parent, {datetime(2030, 3, 11, 9, tzinfo=UTC): moved}, *WINDOW)
    assert got is not None and len(got) == 6
    assert got[1].moved and got[1].start == datetime(2030, 3, 12, 14, tzinfo=UTC)
    assert got[2].cancelled and got[2].original_start == datetime(2030, 3, 18, 9, tzinfo=UTC)
    assert got[0].responses["ben@example.com"] == Response.ACCEPTED
    parent["recurrence"].append("RDATE;TZID=Europe/Berlin:20300320T100000")
    assert overlay(series, parent, {}, *WINDOW) is None  # left to events.instances


def test_a_deleted_series_reports_every_occurrence_cancelled():
    parent = fixture("event_series.json")
    series = series_from_event(parent, "Europe/Berlin")
    got = overlay(series, fixture("event_deleted.json"), {}, *WINDOW)
    assert got is not None and len(got) == 6 and all(o.cancelled for o in got)


def test_a_stand_in_on_one_instance_reads_as_held_by_delegate():
    # Ben was taken off one instance and a colleague put on it; Google has no "delegated".
    from rmcal.attendance import classify
    from rmcal.model import Pair, Person, Settings, Thresholds, Window

    parent = fixture("event_series.json")
    series = series_from_event(parent, "Europe/Berlin")
    moved = dict(fixture("events_find_page1.json")["items"][1])
    moved["attendees"] = [
        {"email": "organizer@example.com", "organizer": True, "responseStatus": "accepted"},
        {"email": "ana@example.com", "responseStatus": "accepted"},
        {"email": "cleo@example.com", "responseStatus": "accepted"},
    ]
    got = overlay(series, parent, {datetime(2030, 3, 11, 9, tzinfo=UTC): moved}, *WINDOW)
    assert got is not None
    anytime = Window(frozenset(range(7)), 0, 24 * 60)
    pair = Pair(
        "c1",
        Person("ana@example.com", "Ana", "Europe/Berlin"),
        Person("ben@example.com", "Ben", "Europe/Berlin"),
        Settings(window=anytime),
    )
    after = datetime(2030, 4, 1, tzinfo=UTC)
    sessions = [classify(o, pair, after, Thresholds()) for o in got[:2]]
    assert sessions[0].delegate is None  # the rest of the series: Ben as invited
    assert sessions[1].held and sessions[1].delegate == "cleo@example.com"
    assert sessions[1].stood_in_for == ("mentee",)
