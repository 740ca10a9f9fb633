"""Google provider, Calendar v3: free/busy, insert/409, find by property, patch, instances, sync.

Requests are built by the real googleapiclient from the discovery documents it ships; the HTTP
layer is ``HttpMockSequence`` answering with recorded shapes from ``tests/fixtures/google``.
"""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rmcal_providers.google_events import event_body, series_from_event

from rmcal.errors import NotFound, PermissionDenied
from rmcal.provider import (
    Attendee,
    ItemFailure,
    MemoryKeyValue,
    Response,
    Series,
    SeriesSpec,
)
from tests.fakes.google_server import (
    ORGANIZER,
    batch_reply,
    fixture,
    mock_provider,
    parse_batch,
    reply,
)

BERLIN = "Europe/Berlin"
KEY = "rm0123456789abcdefghijklmn"
EVENTS_URL = "https://google.test/calendar/v3/calendars/primary/events"


def spec(key: str = KEY, *, video: bool = True, rrule: str = "FREQ=WEEKLY;BYDAY=MO;COUNT=6"):
    return SeriesSpec(
        key=key,
        cohort_id="2030-spring",
        pair_id="ana-ben-1a2b3c",
        title="Reverse mentoring: Ana & Ben",
        description_html="<p>Your <b>reverse-mentoring</b> sessions.</p>",
        description_text="Your reverse-mentoring sessions.",
        organizer=Attendee(ORGANIZER, "Programme Office"),
        attendees=(Attendee("ana@example.com", "Ana"), Attendee("Ben@Example.com", "Ben")),
        start=datetime(2030, 3, 4, 10, 0, tzinfo=ZoneInfo(BERLIN)),
        duration=timedelta(minutes=45),
        timezone=BERLIN,
        rrule=rrule,
        video=video,
        tags=(("fingerprint", "f1"), ("generation", "1")),
    )


def query(uri: str) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)


def batch_of(request) -> list:  # type: ignore[no-untyped-def]
    uri, method, body, headers = request
    assert (uri, method) == ("https://google.test/batch/calendar/v3", "POST")
    return parse_batch(headers["content-type"], body.encode() if isinstance(body, str) else body)


def the_series() -> Series:
    return series_from_event(fixture("event_series.json"), BERLIN)


# -- free/busy ------------------------------------------------------------------------------


def freebusy_answer(emails: list[str]) -> tuple[dict[str, str], str]:
    return reply({"kind": "calendar#freeBusy", "calendars": {e: {"busy": []} for e in emails}})


def test_busy_asks_fifty_people_per_call(tmp_path: Path):
    people = [f"person{i:03d}@example.com" for i in range(120)]
    chunks = [people[:50], people[50:100], people[100:]]
    provider, transport, _ = mock_provider(tmp_path, [freebusy_answer(c) for c in chunks])
    start = datetime(2030, 3, 1, tzinfo=UTC)
    result = provider.busy(people, start, start + timedelta(days=60))
    assert len(transport.request_sequence) == 3
    bodies = [json.loads(body) for _, _, body, _ in transport.request_sequence]
    assert [len(b["items"]) for b in bodies] == [50, 50, 20]
    assert bodies[0]["timeMin"] == "2030-03-01T00:00:00Z"
    assert bodies[0]["timeMax"] == "2030-04-30T00:00:00Z"
    assert all(
        uri.endswith("/calendar/v3/freeBusy?alt=json") for uri, *_ in transport.request_sequence
    )
    assert result == {p: () for p in people}


def test_busy_splits_long_horizons_into_windows_of_ninety_days(tmp_path: Path):
    provider, transport, _ = mock_provider(
        tmp_path, [reply("freebusy_mixed.json"), reply("freebusy_mixed.json")]
    )
    start = datetime(2030, 3, 1, tzinfo=UTC)
    provider.busy(["ana@example.com"], start, start + timedelta(days=150))
    windows = [
        (json.loads(b)["timeMin"], json.loads(b)["timeMax"])
        for _, _, b, _ in transport.request_sequence
    ]
    assert windows == [
        ("2030-03-01T00:00:00Z", "2030-05-30T00:00:00Z"),
        ("2030-05-30T00:00:00Z", "2030-07-29T00:00:00Z"),
    ]


def test_busy_reports_calendar_errors_as_unknown_and_merges_overlaps(tmp_path: Path):
    provider, _, _ = mock_provider(tmp_path, [reply("freebusy_mixed.json")])
    start = datetime(2030, 3, 1, tzinfo=UTC)
    result = provider.busy(
        ["Ana@example.com", "ben@example.com", "ghost@example.com"],
        start,
        start + timedelta(days=5),
    )
    assert result["ghost@example.com"] is None  # notFound: unknown, not free
    assert result["ben@example.com"] == ()
    assert result["ana@example.com"] == (
        (datetime(2030, 3, 4, 9, 0, tzinfo=UTC), datetime(2030, 3, 4, 11, 0, tzinfo=UTC)),
    )


# -- create ---------------------------------------------------------------------------------


def test_insert_carries_id_rrule_zone_attendees_properties_and_meet_request(tmp_path: Path):
    provider, transport, _ = mock_provider(tmp_path, [batch_reply([(200, "event_series.json")])])
    results = provider.create_series([spec()])
    created = results[KEY]
    assert isinstance(created, Series)
    assert created.video_url == "https://meet.google.com/abc-mnop-xyz"
    (part,) = batch_of(transport.request_sequence[0])
    assert part.method == "POST"
    assert part.target.startswith("/calendar/v3/calendars/primary/events?")
    assert query(part.target)["sendUpdates"] == ["all"]
    assert query(part.target)["conferenceDataVersion"] == ["1"]
    body = part.json()
    assert body["id"] == KEY
    assert body["recurrence"] == ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6"]
    assert body["start"] == {"dateTime": "2030-03-04T10:00:00+01:00", "timeZone": BERLIN}
    assert body["end"] == {"dateTime": "2030-03-04T10:45:00+01:00", "timeZone": BERLIN}
    assert body["attendees"] == [
        {"email": "ana@example.com", "displayName": "Ana"},
        {"email": "ben@example.com", "displayName": "Ben"},
    ]
    assert body["description"] == "<p>Your <b>reverse-mentoring</b> sessions.</p>"
    assert body["extendedProperties"]["private"] == {
        "rmcal.key": KEY,
        "rmcal.cohort": "2030-spring",
        "rmcal.pair": "ana-ben-1a2b3c",
        "rmcal.fingerprint": "f1",
        "rmcal.generation": "1",
    }
    request = body["conferenceData"]["createRequest"]
    assert request["conferenceSolutionKey"] == {"type": "hangoutsMeet"}
    assert request["requestId"].startswith(f"rmcal-{KEY}-")
    assert request == event_body(spec())["conferenceData"]["createRequest"]  # deterministic


def test_no_video_sends_no_conference_data_and_no_version(tmp_path: Path):
    provider, transport, _ = mock_provider(tmp_path, [batch_reply([(200, "event_series.json")])])
    provider.create_series([spec(video=False)])
    (part,) = batch_of(transport.request_sequence[0])
    assert "conferenceData" not in part.json()
    assert "conferenceDataVersion" not in query(part.target)


def test_a_retried_insert_that_finds_its_own_live_event_is_success(tmp_path: Path):
    provider, transport, _ = mock_provider(
        tmp_path,
        [
            batch_reply([(409, "error_409_duplicate.json")]),
            batch_reply([(200, "event_series.json")]),
        ],
    )
    results = provider.create_series([spec()])
    assert isinstance(results[KEY], Series)
    assert results[KEY].provider_id == KEY
    (get,) = batch_of(transport.request_sequence[1])
    assert get.method == "GET"
    assert get.target.startswith(f"/calendar/v3/calendars/primary/events/{KEY}")
    assert len(transport.request_sequence) == 2  # nothing inserted twice


def test_409_on_a_deleted_event_explains_the_burnt_id(tmp_path: Path):
    provider, _, _ = mock_provider(
        tmp_path,
        [
            batch_reply([(409, "error_409_duplicate.json")]),
            batch_reply([(200, "event_deleted.json")]),
        ],
    )
    failure = provider.create_series([spec()])[KEY]
    assert isinstance(failure, ItemFailure)
    assert not failure.retryable
    assert "deleted" in failure.message
    assert "new series key" in failure.message


def test_invalid_keys_and_rules_fail_per_item_without_a_request(tmp_path: Path):
    provider, transport, _ = mock_provider(tmp_path, [])
    results = provider.create_series([spec("rm_UPPER"), spec("rmabcdefgh", rrule="BYDAY=MO")])
    assert "base32hex" in results["rm_UPPER"].message
    assert "FREQ" in results["rmabcdefgh"].message
    assert transport.request_sequence == []


def test_missing_scope_on_insert_raises_permission_denied_naming_scopes(tmp_path: Path):
    provider, _, _ = mock_provider(
        tmp_path, [batch_reply([(403, "error_403_insufficient_scope.json")])]
    )
    with pytest.raises(PermissionDenied) as caught:
        provider.create_series([spec()])
    assert "calendar.events.owned" in caught.value.remedy


# -- find, update, end ----------------------------------------------------------------------


def test_find_series_by_private_property_with_paging_skips_exceptions(tmp_path: Path):
    provider, transport, _ = mock_provider(
        tmp_path, [reply("events_find_page1.json"), reply("events_find_page2.json")]
    )
    found = provider.find_series("2030-spring")
    assert [s.key for s in found] == [KEY, "rmvvvvvvvvvvvvvvvvvvvvvvvv"]
    first_query = query(transport.request_sequence[0][0])
    assert first_query["privateExtendedProperty"] == ["rmcal.cohort=2030-spring"]
    assert first_query["showDeleted"] == ["true"]  # deleted series are reported, not hidden
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


def test_a_series_deleted_in_the_calendar_is_found_as_cancelled(tmp_path: Path):
    page = fixture("events_find_page2.json")
    page["items"].append(fixture("event_deleted.json"))
    provider, _, _ = mock_provider(tmp_path, [reply(page)])
    found = {s.key: s for s in provider.find_series("2030-spring")}
    assert found[KEY].cancelled
    assert not found["rmvvvvvvvvvvvvvvvvvvvvvvvv"].cancelled


def test_update_patches_with_notifications_and_drops_removed_tags(tmp_path: Path):
    provider, transport, _ = mock_provider(tmp_path, [batch_reply([(200, "event_series.json")])])
    series = the_series()
    changed = spec(rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=8")
    changed = SeriesSpec(**{**changed.__dict__, "tags": (("generation", "2"),)})
    result = provider.update_series([(series, changed)])
    assert isinstance(result[KEY], Series)
    (part,) = batch_of(transport.request_sequence[0])
    assert part.method == "PATCH"
    assert part.target.startswith(f"/calendar/v3/calendars/primary/events/{KEY}?")
    assert query(part.target)["sendUpdates"] == ["all"]
    body = part.json()
    assert body["recurrence"] == ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=8"]
    assert body["extendedProperties"]["private"]["rmcal.generation"] == "2"
    assert body["extendedProperties"]["private"]["rmcal.fingerprint"] is None  # dropped tag
    assert "conferenceData" not in body  # the series already has its Meet link


def test_update_by_a_non_organizer_is_an_item_failure(tmp_path: Path):
    provider, _, _ = mock_provider(tmp_path, [batch_reply([(403, "error_403_non_organizer.json")])])
    result = provider.update_series([(the_series(), spec())])[KEY]
    assert isinstance(result, ItemFailure)
    assert "organizer" in result.message and not result.retryable


def test_end_cuts_the_rule_with_until_at_the_last_kept_start(tmp_path: Path):
    provider, transport, _ = mock_provider(tmp_path, [batch_reply([(200, "event_series.json")])])
    series = the_series()
    last = datetime(2030, 3, 18, 10, 0, tzinfo=ZoneInfo(BERLIN))
    provider.end_series([(series, last)])
    (part,) = batch_of(transport.request_sequence[0])
    assert part.method == "PATCH"
    assert part.json() == {"recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20300318T090000Z"]}
    assert query(part.target)["sendUpdates"] == ["all"]


def test_end_before_the_first_occurrence_deletes_the_series(tmp_path: Path):
    provider, transport, _ = mock_provider(tmp_path, [batch_reply([(204, None)])])
    series = the_series()
    result = provider.end_series([(series, series.start - timedelta(days=1))])[KEY]
    assert isinstance(result, Series) and result.cancelled
    (part,) = batch_of(transport.request_sequence[0])
    assert part.method == "DELETE"


# -- occurrences ----------------------------------------------------------------------------

WINDOW = (datetime(2030, 3, 1, tzinfo=UTC), datetime(2030, 5, 1, tzinfo=UTC))


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


def test_sync_token_reads_changes_only_and_410_forces_a_full_read(tmp_path: Path):
    kv = MemoryKeyValue()
    series = the_series()
    provider, transport, _ = mock_provider(
        tmp_path,
        [
            reply("events_sync_full.json"),
            reply("events_sync_incremental.json"),
            reply("error_410_sync.json", status=410),
            reply("events_sync_full.json"),
        ],
        kv=kv,
    )
    first = provider.occurrences([series], *WINDOW)[KEY]
    assert "syncToken" not in query(transport.request_sequence[0][0])
    assert query(transport.request_sequence[0][0])["showDeleted"] == ["true"]
    assert [o.cancelled for o in first] == [False, True, False, False, False, False]
    assert first[3].responses["ana@example.com"] == Response.NONE
    state = json.loads(kv.get("google", "events:primary"))
    assert state["token"] == "sync-token-1"
    assert "unrelated0001" not in state["events"]  # only rmcal's series are kept

    second = provider.occurrences([series], *WINDOW)[KEY]
    assert query(transport.request_sequence[1][0])["syncToken"] == ["sync-token-1"]
    assert second[3].responses["ana@example.com"] == Response.DECLINED
    assert second[1].cancelled
    assert json.loads(kv.get("google", "events:primary"))["token"] == "sync-token-2"

    third = provider.occurrences([series], *WINDOW)[KEY]
    assert query(transport.request_sequence[2][0])["syncToken"] == ["sync-token-2"]
    assert "syncToken" not in query(transport.request_sequence[3][0])  # full re-read
    assert third == first
    assert json.loads(kv.get("google", "events:primary"))["token"] == "sync-token-1"


def test_sync_cache_and_instances_agree_on_the_same_calendar(tmp_path: Path):
    provider, _, _ = mock_provider(tmp_path, [reply("events_sync_full.json")])
    via_sync = provider.occurrences([the_series()], *WINDOW)[KEY]
    page2 = fixture("instances_page2.json")
    page2["items"][0] = {
        **page2["items"][0],
        "attendees": fixture("event_series.json")["attendees"],
    }
    page1 = fixture("instances_page1.json")
    page1["items"][2] = {
        **page1["items"][2],
        "start": page1["items"][2]["originalStartTime"],
        "end": {"dateTime": "2030-03-18T10:45:00+01:00", "timeZone": BERLIN},
    }
    other, _, _ = mock_provider(
        tmp_path, [batch_reply([(200, page1)]), batch_reply([(200, page2)])], sync_tokens=False
    )
    via_instances = other.occurrences([the_series()], *WINDOW)[KEY]
    assert via_sync == via_instances


def test_a_missing_calendar_is_not_found(tmp_path: Path):
    provider, _, _ = mock_provider(tmp_path, [reply("error_404_calendar.json", status=404)])
    with pytest.raises(NotFound) as caught:
        provider.find_series("2030-spring")
    assert "calendar_id" in caught.value.remedy


def test_validate_recurrence_accepts_rfc5545_and_names_what_is_wrong(tmp_path: Path):
    provider, _, _ = mock_provider(tmp_path, [])
    assert provider.validate_recurrence("FREQ=MONTHLY;BYDAY=-1FR;COUNT=6") is None
    assert provider.validate_recurrence("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1") is None
    assert "FREQ" in provider.validate_recurrence("BYDAY=MO")
    assert provider.validate_recurrence("FREQ=WEEKLY;BYDAY=XX") is not None
