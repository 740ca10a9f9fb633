"""Teams attendance reports: matched to the occurrence they belong to, and best effort when the
permissions are missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import responses
from rmcal_providers.microsoft.attendance import attach_report, seconds_per_person

from rmcal.provider import Occurrence, Series
from tests.microsoft.helpers import (
    BATCH,
    GRAPH,
    USER,
    cy_series,
    fixture,
    mock_login,
    provider,
    query,
)

OID = "dc17674c-81d9-4adb-bfb2-8f6a442312f8"


MEETINGS = f"{GRAPH}/users/{OID}/onlineMeetings"


def instances_batch() -> dict:
    page = fixture("instances_page1")
    page.pop("@odata.nextLink")
    return {"responses": [{"id": "0", "status": 200, "headers": {}, "body": page}]}


def test_attendance_reports_are_matched_to_occurrences(tmp_path):
    series = Series(
        **{
            **cy_series().__dict__,
            "video_url": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_cy",
        }
    )
    meeting = fixture("online_meetings_by_joinurl")
    meeting_id = quote(meeting["value"][0]["id"], safe="")
    reports = fixture("attendance_reports")
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, BATCH, json=instances_batch())
        rsps.add(responses.GET, MEETINGS, json=meeting)
        rsps.add(responses.GET, f"{MEETINGS}/{meeting_id}/attendanceReports", json=reports)
        for report in reports["value"]:
            rsps.add(
                responses.GET,
                f"{MEETINGS}/{meeting_id}/attendanceReports/{report['id']}/attendanceRecords",
                json=fixture("attendance_records")
                if report["totalParticipantCount"] == 2
                else {
                    "value": [{"emailAddress": "cy@contoso.com", "totalAttendanceInSeconds": 540}]
                },
            )
        out = provider(tmp_path, attendance=True, organizer_object_id=OID).occurrences(
            [series], datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 10, tzinfo=UTC)
        )
        lookup = next(query(c) for c in rsps.calls if c.request.url.startswith(MEETINGS + "?"))
    assert lookup["$filter"] == f"JoinWebUrl eq '{series.video_url}'"
    first, cancelled, moved = out["k-cy-di"]
    assert first.attended_seconds == {"cy@contoso.com": 3300, "di@contoso.com": 1500}
    assert cancelled.cancelled and cancelled.attended_seconds is None
    assert moved.attended_seconds == {"cy@contoso.com": 540}  # matched by its actual start


def test_attendance_without_permission_leaves_it_unmeasured(tmp_path):
    series = Series(**{**cy_series().__dict__, "video_url": "https://teams.microsoft.com/l/x"})
    denied = fixture("errors")["ErrorAccessDenied"]
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, BATCH, json=instances_batch())
        rsps.add(responses.GET, f"{USER}", json={"id": OID})
        rsps.add(responses.GET, MEETINGS, status=403, json=denied["body"])
        out = provider(tmp_path, attendance=True).occurrences(
            [series], datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 10, tzinfo=UTC)
        )
    assert all(o.attended_seconds is None for o in out["k-cy-di"])
    assert not any(o.cancelled for o in out["k-cy-di"] if o.original_start.day == 5)


def test_records_of_one_person_add_up_across_rejoins():
    records = [
        {"emailAddress": "Cy@contoso.com", "totalAttendanceInSeconds": 600},
        {"emailAddress": "cy@contoso.com", "totalAttendanceInSeconds": 300},
        {"emailAddress": "di@contoso.com", "totalAttendanceInSeconds": None},
        {"emailAddress": "", "totalAttendanceInSeconds": 60},  # an anonymous guest
    ]
    assert seconds_per_person(records) == {"cy@contoso.com": 900, "di@contoso.com": 0}


def test_a_report_goes_to_the_nearest_held_occurrence_within_half_a_day():
    def at(day: int, hour: int, *, cancelled: bool = False) -> Occurrence:
        start = datetime(2026, 1, day, hour, tzinfo=UTC)
        return Occurrence("k", start, start, start + timedelta(hours=1), cancelled=cancelled)

    occurrences = [at(5, 15), at(6, 15, cancelled=True), at(19, 15)]
    attach_report(occurrences, datetime(2026, 1, 6, 14, 55, tzinfo=UTC), {"cy@contoso.com": 60})
    assert [o.attended_seconds for o in occurrences] == [None, None, None]  # nothing held near

    attach_report(occurrences, datetime(2026, 1, 5, 15, 2, tzinfo=UTC), {"cy@contoso.com": 60})
    assert occurrences[0].attended_seconds == {"cy@contoso.com": 60}
    assert occurrences[2].attended_seconds is None
