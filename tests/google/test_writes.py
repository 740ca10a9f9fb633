"""Google writes: insert with the key as id and 409 resolved, patch, end with UNTIL or delete.

Requests are built by the real googleapiclient from the discovery documents it ships; the HTTP
layer is ``HttpMockSequence`` answering with recorded shapes from ``tests/google/fixtures``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rmcal_providers.google.events import event_body

from rmcal.errors import PermissionDenied
from rmcal.provider import ItemFailure, Series, SeriesEnd, SeriesSpec
from tests.fakes.google_server import batch_reply, mock_provider
from tests.google.helpers import BERLIN, KEY, batch_of, query, spec, the_series


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
    provider.end_series([SeriesEnd(series, last)])
    (part,) = batch_of(transport.request_sequence[0])
    assert part.method == "PATCH"
    assert part.json() == {"recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20300318T090000Z"]}
    assert query(part.target)["sendUpdates"] == ["all"]


def test_end_before_the_first_occurrence_deletes_the_series(tmp_path: Path):
    provider, transport, _ = mock_provider(tmp_path, [batch_reply([(204, None)])])
    series = the_series()
    result = provider.end_series([SeriesEnd(series, series.start - timedelta(days=1))])[KEY]
    assert isinstance(result, Series) and result.cancelled
    (part,) = batch_of(transport.request_sequence[0])
    assert part.method == "DELETE"


def test_validate_recurrence_accepts_rfc5545_and_names_what_is_wrong(tmp_path: Path):
    provider, _, _ = mock_provider(tmp_path, [])
    assert provider.validate_recurrence("FREQ=MONTHLY;BYDAY=-1FR;COUNT=6") is None
    assert provider.validate_recurrence("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1") is None
    assert "FREQ" in provider.validate_recurrence("BYDAY=MO")
    assert provider.validate_recurrence("FREQ=WEEKLY;BYDAY=XX") is not None


def test_end_carries_the_re_rendered_description(tmp_path: Path):
    provider, transport, _ = mock_provider(tmp_path, [batch_reply([(200, "event_series.json")])])
    series = the_series()
    last = datetime(2030, 3, 18, 10, 0, tzinfo=ZoneInfo(BERLIN))
    provider.end_series([SeriesEnd(series, last, "<p>2 sessions in all</p>", "2 in all")])
    (part,) = batch_of(transport.request_sequence[0])
    assert part.json()["description"] == "<p>2 sessions in all</p>"


def test_a_series_not_yet_begun_is_cancelled_by_deleting_it(tmp_path: Path):
    provider, transport, _ = mock_provider(tmp_path, [batch_reply([(204, None)])])
    result = provider.end_series([SeriesEnd(the_series(), None, "<p>x</p>", "x")])[KEY]
    assert isinstance(result, Series) and result.cancelled
    (part,) = batch_of(transport.request_sequence[0])
    assert part.method == "DELETE" and query(part.target)["sendUpdates"] == ["all"]
