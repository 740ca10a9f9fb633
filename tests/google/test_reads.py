"""Google reads: series found by property across pages, occurrences from ``events.instances``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rmcal.errors import NotFound
from rmcal.provider import Response
from tests.fakes.google_server import ORGANIZER, batch_reply, fixture, mock_provider, reply
from tests.google.helpers import BERLIN, KEY, batch_of, query, the_series

WINDOW = (datetime(2030, 3, 1, tzinfo=UTC), datetime(2030, 5, 1, tzinfo=UTC))


def test_find_series_by_private_property_with_paging_skips_exceptions(tmp_path: Path):
    provider, transport, _ = mock_provider(
        tmp_path, [reply("events_find_page1.json"), reply("events_find_page2.json")]
    )
    found = provider.find_series("2030-spring")
    assert [s.key for s in found] == [KEY, "rmvvvvvvvvvvvvvvvvvvvvvvvv"]
    first_query = query(transport.request_sequence[0][0])
    assert first_query["privateExtendedProperty"] == ["rmcal.cohort=2030-spring"]
    assert first_query["showDeleted"] == ["true"]  # deleted series are reported, not hidden
    assert first_query["maxResults"] == ["2500"]  # a page per 2,500 series, the most Google sends
    assert query(transport.request_sequence[1][0])["pageToken"] == ["page-2"]
    ana_ben, cleo_dan = found
    assert ana_ben.attendees == ("ana@example.com", "ben@example.com")
    assert ana_ben.start == datetime(2030, 3, 4, 10, 0, tzinfo=ZoneInfo(BERLIN))
    assert ana_ben.duration == timedelta(minutes=45)
    assert ana_ben.tags["fingerprint"] == "f1"
    assert ana_ben.cohort_id == "2030-spring"
    assert cleo_dan.timezone == "America/New_York"
    assert cleo_dan.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20300601T035959Z"
    assert cleo_dan.attendees == ("cleo@example.com", "dan@example.com")
    assert cleo_dan.video_url is None


def test_find_all_series_lists_the_calendar_and_keeps_tagged_parents_of_any_cohort(
    tmp_path: Path,
):
    page = fixture("events_find_page2.json")
    other = json.loads(json.dumps(page["items"][0]))
    other["id"] = "rmuuuuuuuuuuuuuuuuuuuuuuuu"
    other["extendedProperties"]["private"].update(
        {"rmcal.key": other["id"], "rmcal.cohort": "2029-autumn"}
    )
    lunch = {"id": "lunch1", "summary": "Team lunch", "start": page["items"][0]["start"]}
    page["items"] += [other, lunch, fixture("event_deleted.json")]
    provider, transport, _ = mock_provider(tmp_path, [reply("events_find_page1.json"), reply(page)])
    found = provider.find_all_series()
    assert {s.key: s.cohort_id for s in found} == {
        KEY: "2030-spring",
        "rmuuuuuuuuuuuuuuuuuuuuuuuu": "2029-autumn",
        "rmvvvvvvvvvvvvvvvvvvvvvvvv": "2030-spring",
    }
    first_query = query(transport.request_sequence[0][0])
    assert "privateExtendedProperty" not in first_query  # no filter can say "any cohort"
    assert first_query["showDeleted"] == ["true"]
    assert "singleEvents" not in first_query  # parents and exceptions, never expansions


def test_a_series_deleted_in_the_calendar_is_found_as_cancelled(tmp_path: Path):
    page = fixture("events_find_page2.json")
    page["items"].append(fixture("event_deleted.json"))
    provider, _, _ = mock_provider(tmp_path, [reply(page)])
    found = {s.key: s for s in provider.find_series("2030-spring")}
    assert found[KEY].cancelled
    assert not found["rmvvvvvvvvvvvvvvvvvvvvvvvv"].cancelled


def test_a_missing_calendar_is_not_found(tmp_path: Path):
    provider, _, _ = mock_provider(tmp_path, [reply("error_404_calendar.json", status=404)])
    with pytest.raises(NotFound) as caught:
        provider.find_series("2030-spring")
    assert "calendar_id" in caught.value.remedy


def test_instances_report_cancelled_moved_and_declined_across_pages(tmp_path: Path):
    provider, transport, _ = mock_provider(
        tmp_path,
        [
            batch_reply([(200, "instances_page1.json")]),
            batch_reply([(200, "instances_page2.json")]),
        ],
        sync_tokens=False,
    )
    got = provider.occurrences([the_series()], *WINDOW)[KEY]
    first, page = (
        batch_of(transport.request_sequence[0])[0],
        batch_of(transport.request_sequence[1])[0],
    )
    assert first.target.startswith(f"/calendar/v3/calendars/primary/events/{KEY}/instances?")
    assert query(first.target)["showDeleted"] == ["true"]
    assert query(page.target)["pageToken"] == ["instances-2"]
    assert [o.original_start for o in got] == [
        datetime(2030, 3, 4, 9, tzinfo=UTC),
        datetime(2030, 3, 11, 9, tzinfo=UTC),
        datetime(2030, 3, 18, 9, tzinfo=UTC),
        datetime(2030, 3, 25, 9, tzinfo=UTC),
        datetime(2030, 4, 1, 8, tzinfo=UTC),  # Berlin is on summer time: 10:00 is 08:00Z
        datetime(2030, 4, 8, 8, tzinfo=UTC),
    ]
    assert [o.cancelled for o in got] == [False, True, False, False, False, False]
    assert [o.moved for o in got] == [False, False, True, False, False, False]
    assert got[1].start == got[1].original_start and got[1].end - got[1].start == timedelta(
        minutes=45
    )
    assert got[2].start == datetime(2030, 3, 19, 15, tzinfo=UTC)
    assert got[0].responses == {
        ORGANIZER: Response.ORGANIZER,
        "ana@example.com": Response.NONE,  # needsAction
        "ben@example.com": Response.ACCEPTED,
    }
    assert got[3].responses["ana@example.com"] == Response.DECLINED


def test_an_occurrence_missing_from_the_window_is_looked_up_by_original_start(tmp_path: Path):
    page2 = fixture("instances_page2.json")
    page2["items"] = page2["items"][:-1]  # the 8 April occurrence is not in the answer
    provider, transport, _ = mock_provider(
        tmp_path,
        [
            batch_reply([(200, "instances_page1.json")]),
            batch_reply([(200, page2)]),
            batch_reply([(200, {"kind": "calendar#events", "items": []})]),
        ],
        sync_tokens=False,
    )
    got = provider.occurrences([the_series()], *WINDOW)[KEY]
    (lookup,) = batch_of(transport.request_sequence[2])
    assert query(lookup.target)["originalStart"] == ["2030-04-08T08:00:00Z"]
    assert got[-1].original_start == datetime(2030, 4, 8, 8, tzinfo=UTC)
    assert got[-1].cancelled  # reported explicitly, not silently dropped
