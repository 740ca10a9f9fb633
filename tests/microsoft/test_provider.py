"""The provider's calendar calls against mocked Graph: free/busy batching, idempotent creates,
finding series by tag, occurrences (cancelled, moved, declined, paged), updates and ends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
from rmcal_providers.microsoft.events import property_id, transaction_id

from rmcal.errors import PermissionDenied
from rmcal.provider import ItemFailure, Response, Series, SeriesEnd
from rmcal.recurrence import with_until
from tests.microsoft.helpers import (
    BATCH,
    GRAPH,
    NYC,
    ORGANIZER,
    USER,
    Waits,
    cy_series,
    fixture,
    mock_login,
    provider,
    query,
    spec,
)

EVENTS = f"{USER}/events"


def schedule_answer(request):
    body = json.loads(request.body)
    value = [
        {"scheduleId": s, "availabilityView": "", "scheduleItems": []} for s in body["schedules"]
    ]
    return 200, {}, json.dumps({"value": value})


# -- free/busy -------------------------------------------------------------------------------


def test_busy_reads_items_and_marks_unknown_people(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(
            responses.POST, f"{USER}/calendar/getSchedule", json=fixture("getschedule_response")
        )
        people = [
            "AdeleV@contoso.onmicrosoft.com",
            "meganb@contoso.onmicrosoft.com",
            "guest@fabrikam.com",
            "silent@contoso.com",
        ]
        start = datetime(2019, 3, 15, 0, 0, tzinfo=UTC)
        busy = provider(tmp_path).busy(people, start, start + timedelta(days=1))
    utc = UTC
    assert busy["adelev@contoso.onmicrosoft.com"] == (
        (datetime(2019, 3, 15, 12, tzinfo=utc), datetime(2019, 3, 15, 14, tzinfo=utc)),
    )  # the "free" item is not busy
    assert busy["meganb@contoso.onmicrosoft.com"] == (
        (datetime(2019, 3, 15, 8, 30, tzinfo=utc), datetime(2019, 3, 15, 9, 30, tzinfo=utc)),
        (datetime(2019, 3, 15, 16, tzinfo=utc), datetime(2019, 3, 15, 17, tzinfo=utc)),
    )  # tentative counts as busy
    assert busy["guest@fabrikam.com"] is None  # error entry: unknown, not free
    assert busy["silent@contoso.com"] is None  # not in the answer at all: unknown


def test_busy_batches_20_people_per_call(tmp_path):
    people = [f"person{i}@contoso.com" for i in range(45)]
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add_callback(responses.POST, f"{USER}/calendar/getSchedule", callback=schedule_answer)
        start = datetime(2026, 1, 5, tzinfo=UTC)
        busy = provider(tmp_path).busy(people, start, start + timedelta(days=30))
        bodies = [json.loads(c.request.body) for c in rsps.calls if "getSchedule" in c.request.url]
    assert sorted(len(b["schedules"]) for b in bodies) == [5, 20, 20]  # four at once
    assert set(busy) == set(people)
    assert "availabilityViewInterval" in bodies[0] and bodies[0]["availabilityViewInterval"]


def test_busy_splits_long_horizons_into_windows_under_62_days(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add_callback(responses.POST, f"{USER}/calendar/getSchedule", callback=schedule_answer)
        start = datetime(2026, 1, 5, 9, tzinfo=UTC)
        provider(tmp_path).busy(["a@contoso.com"], start, start + timedelta(days=120))
        bodies = [json.loads(c.request.body) for c in rsps.calls if "getSchedule" in c.request.url]
    windows = sorted(
        (
            datetime.fromisoformat(b["startTime"]["dateTime"]),
            datetime.fromisoformat(b["endTime"]["dateTime"]),
        )
        for b in bodies
    )
    assert len(windows) == 2
    assert all(e - s < timedelta(days=62) for s, e in windows)
    assert windows[0][0] == datetime(2026, 1, 5, 9) and windows[-1][1] == datetime(2026, 5, 5, 9)
    assert windows[0][1] == windows[1][0]  # contiguous, no gap
    assert all(b["startTime"]["timeZone"] == "UTC" for b in bodies)


def test_busy_keeps_one_interval_per_item_and_an_item_across_two_windows_once(tmp_path):
    # A meeting that spans the cut between two getSchedule windows comes back whole in both;
    # two meetings that touch stay two (a clash check must tell a session from its neighbour).
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    cut = start + timedelta(days=61)
    items = [
        (cut - timedelta(hours=1), cut + timedelta(hours=1)),
        (datetime(2026, 1, 6, 9, tzinfo=UTC), datetime(2026, 1, 6, 10, tzinfo=UTC)),
        (datetime(2026, 1, 6, 10, tzinfo=UTC), datetime(2026, 1, 6, 11, tzinfo=UTC)),
    ]

    def answer(request):
        body = json.loads(request.body)
        low = datetime.fromisoformat(body["startTime"]["dateTime"]).replace(tzinfo=UTC)
        high = datetime.fromisoformat(body["endTime"]["dateTime"]).replace(tzinfo=UTC)
        schedule = [
            {
                "status": "busy",
                "start": {"dateTime": a.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
                "end": {"dateTime": b.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
            }
            for a, b in items
            if a < high and b > low
        ]
        value = [{"scheduleId": s, "scheduleItems": schedule} for s in body["schedules"]]
        return 200, {}, json.dumps({"value": value})

    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add_callback(responses.POST, f"{USER}/calendar/getSchedule", callback=answer)
        busy = provider(tmp_path).busy(["a@contoso.com"], start, start + timedelta(days=120))
    assert busy["a@contoso.com"] == tuple(sorted(items))


# -- create ----------------------------------------------------------------------------------


def created(request_body: dict, event_id: str) -> dict:
    return {
        **fixture("event_created", transactionId=request_body["transactionId"]),
        "id": event_id,
        "subject": request_body["subject"],
    }


def batch_creates(request):
    sent = json.loads(request.body)["requests"]
    return (
        200,
        {},
        json.dumps(
            {
                "responses": [
                    {
                        "id": r["id"],
                        "status": 201,
                        "headers": {},
                        "body": created(r["body"], f"E{r['id']}"),
                    }
                    for r in sent
                ]
            }
        ),
    )


def test_create_sends_the_graph_event_with_tags_and_transaction_id(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.GET, EVENTS, json={"value": []})
        rsps.add_callback(responses.POST, BATCH, callback=batch_creates)
        result = provider(tmp_path).create_series([spec(1)])
        lookup = query(rsps.calls[-2])
        inner = json.loads(rsps.calls[-1].request.body)["requests"][0]
    series = result["key-1"]
    assert isinstance(series, Series)
    assert series.provider_id == "E0"
    assert series.video_url.startswith("https://teams.microsoft.com/")
    assert series.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;WKST=MO;COUNT=6"
    assert inner["method"] == "POST" and inner["url"] == f"/users/{ORGANIZER}/events"
    body = inner["body"]
    assert body["transactionId"] == transaction_id("key-1")
    assert body["start"] == {
        "dateTime": "2026-01-07T14:00:00",
        "timeZone": "W. Europe Standard Time",
    }
    assert body["end"] == {"dateTime": "2026-01-07T14:45:00", "timeZone": "W. Europe Standard Time"}
    assert body["recurrence"]["range"]["recurrenceTimeZone"] == "W. Europe Standard Time"
    assert body["body"] == {"contentType": "HTML", "content": "<p>Session plan 1</p>"}
    assert body["isOnlineMeeting"] is True and body["onlineMeetingProvider"] == "teamsForBusiness"
    assert [a["emailAddress"]["address"] for a in body["attendees"]] == [
        "mentor1@contoso.com",
        "mentee1@contoso.com",
    ]
    props = {p["id"]: p["value"] for p in body["singleValueExtendedProperties"]}
    assert props[property_id("key")] == "key-1"
    assert props[property_id("cohort")] == "2026-spring"
    assert props[property_id("pair")] == "pair-1"
    assert props[property_id("provider.zone")] == "Europe/Amsterdam"
    assert "singleValueExtendedProperties/Any(ep: ep/id eq 'String {" in lookup["$filter"]
    assert "ep/value eq '2026-spring'" in lookup["$filter"]


def test_existing_series_found_by_tag_are_not_created_again(tmp_path):
    """The state file is gone; the calendar still holds the series, tagged with its key."""
    page = fixture("events_by_property")
    page.pop("@odata.nextLink")
    page["value"][0]["singleValueExtendedProperties"][0]["value"] = "key-1"
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.GET, EVENTS, json=page)
        result = provider(tmp_path).create_series([spec(1)])
        assert not any(c.request.url == BATCH for c in rsps.calls)
    assert result["key-1"].provider_id == "AAMkAGE1M2_1"


def test_unknown_outcome_is_looked_up_before_the_create_is_retried(tmp_path):
    found = fixture("events_by_property")
    found.pop("@odata.nextLink")
    found["value"][0]["singleValueExtendedProperties"][0]["value"] = "key-0"
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.GET, EVENTS, json={"value": []})  # cohort: nothing yet
        rsps.add(responses.POST, BATCH, body=requests.ConnectionError("connection reset"))
        rsps.add(responses.GET, EVENTS, json=found)  # key-0 did get created
        rsps.add(responses.GET, EVENTS, json={"value": []})  # key-1 did not
        rsps.add_callback(responses.POST, BATCH, callback=batch_creates)
        result = provider(tmp_path).create_series([spec(0), spec(1)])
        kinds = [
            (c.request.method, c.request.url.split("?")[0])
            for c in rsps.calls
            if "graph" in c.request.url
        ]
        filters = [
            unquote(query(c)["$filter"])
            for c in rsps.calls
            if "$filter" in c.request.url or "%24filter" in c.request.url
        ]
        retried = json.loads(rsps.calls[-1].request.body)["requests"]
    assert kinds == [
        ("GET", EVENTS),
        ("POST", BATCH),
        ("GET", EVENTS),
        ("GET", EVENTS),
        ("POST", BATCH),
    ]
    assert "ep/value eq 'key-0'" in filters[1] and "ep/value eq 'key-1'" in filters[2]
    assert [r["body"]["transactionId"] for r in retried] == [transaction_id("key-1")]
    assert result["key-0"].provider_id == "AAMkAGE1M2_1"
    assert result["key-1"].provider_id == "E0"


def test_rules_graph_cannot_hold_fail_the_item_not_the_call(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.GET, EVENTS, json={"value": []})
        rsps.add_callback(responses.POST, BATCH, callback=batch_creates)
        result = provider(tmp_path).create_series(
            [spec(0, rrule="FREQ=MONTHLY;BYDAY=5WE;COUNT=3"), spec(1)]
        )
    assert isinstance(result["key-0"], ItemFailure) and not result["key-0"].retryable
    assert "5th" in result["key-0"].message
    assert isinstance(result["key-1"], Series)


def test_permission_errors_fail_the_whole_call(tmp_path):
    denied = fixture("errors")["ErrorAccessDenied"]
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.GET, EVENTS, json={"value": []})
        rsps.add(
            responses.POST,
            BATCH,
            json={"responses": [{"id": "0", "status": 403, "headers": {}, "body": denied["body"]}]},
        )
        with pytest.raises(PermissionDenied, match=r"Calendars\.ReadWrite"):
            provider(tmp_path).create_series([spec(0)])


# -- find ------------------------------------------------------------------------------------


def test_find_series_pages_and_reads_back_rrule_zone_and_tags(tmp_path):
    page1 = fixture("events_by_property")
    page2 = fixture("events_by_property_page2")
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.GET, EVENTS, json=page1)
        rsps.add(responses.GET, EVENTS, json=page2)
        found = provider(tmp_path).find_series("2026-spring")
        first_query = query(rsps.calls[-2])
    assert [s.key for s in found] == ["k-ana-ben", "k-cy-di"]
    ana, cy = found
    assert ana.timezone == "Europe/Amsterdam"  # the zone rmcal wrote, not W. Europe's Berlin
    assert ana.start == datetime(2026, 1, 7, 14, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert ana.duration == timedelta(minutes=45)
    assert ana.rrule == "FREQ=MONTHLY;BYDAY=1WE;COUNT=6"
    assert ana.attendees == ("ana@contoso.com", "ben@contoso.com")
    assert ana.tags == {"key": "k-ana-ben", "cohort": "2026-spring", "pair": "ana-ben"}
    assert ana.video_url.startswith("https://teams.microsoft.com/")
    assert cy.timezone == "America/New_York"
    assert cy.start == datetime(2026, 1, 5, 10, 0, tzinfo=NYC)
    assert cy.rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;WKST=MO;UNTIL=20260630T035959Z"
    assert "singleValueExtendedProperties($filter=id eq 'String {" in first_query["$expand"]


def test_find_all_series_filters_on_any_cohort_value(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.GET, EVENTS, json=fixture("events_by_property"))
        rsps.add(responses.GET, EVENTS, json=fixture("events_by_property_page2"))
        found = provider(tmp_path).find_all_series()
        first_query = query(rsps.calls[-2])
    assert [s.key for s in found] == ["k-ana-ben", "k-cy-di"]
    assert first_query["$filter"] == (
        "singleValueExtendedProperties/Any(ep: ep/id eq "
        f"'{property_id('cohort')}' and ep/value ne '')"
    )


def test_the_rule_rmcal_wrote_reads_back_verbatim_until_outlook_changes_it(tmp_path):
    page = fixture("events_by_property_page2")  # weekly, interval 2, Mondays, firstDayOfWeek mon
    props = page["value"][0]["singleValueExtendedProperties"]
    written = "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;UNTIL=20260630T035959Z"  # no WKST: same rule
    props.append({"id": property_id("provider.rrule"), "value": written})
    edited = json.loads(json.dumps(page))
    edited["value"][0]["recurrence"]["pattern"]["interval"] = 1  # someone changed it in Outlook
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.GET, EVENTS, json=page)
        rsps.add(responses.GET, EVENTS, json=edited)
        p = provider(tmp_path)
        (as_written,) = p.find_series("2026-spring")
        (as_edited,) = p.find_series("2026-spring")
    assert as_written.rrule == written
    assert "provider.rrule" not in as_written.tags
    assert as_edited.rrule == "FREQ=WEEKLY;BYDAY=MO;WKST=MO;UNTIL=20260630T035959Z"


# -- occurrences -----------------------------------------------------------------------------


def test_occurrences_report_cancelled_moved_and_declined_across_pages(tmp_path):
    page1 = fixture("instances_page1")
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(
            responses.POST,
            BATCH,
            json={"responses": [{"id": "0", "status": 200, "headers": {}, "body": page1}]},
        )
        rsps.add(
            responses.GET,
            f"{GRAPH}/users/{ORGANIZER}/events/AAMkAGUzYRgWAAA=/instances",
            json=fixture("instances_page2"),
        )
        out = provider(tmp_path).occurrences(
            [cy_series()], datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
        )
        inner = next(json.loads(c.request.body) for c in rsps.calls if c.request.url == BATCH)
        inner = inner["requests"][0]
    assert inner["method"] == "GET" and "/instances?startDateTime=" in inner["url"]
    occurrences = out["k-cy-di"]
    utc = UTC
    assert [o.original_start for o in occurrences] == [
        datetime(2026, 1, 5, 15, tzinfo=utc),
        datetime(2026, 1, 19, 15, tzinfo=utc),
        datetime(2026, 2, 2, 15, tzinfo=utc),
        datetime(2026, 2, 16, 15, tzinfo=utc),
    ]
    first, missing, moved, last = occurrences
    assert not first.cancelled and not first.moved
    assert first.responses == {
        "cy@contoso.com": Response.ACCEPTED,
        "di@contoso.com": Response.TENTATIVE,
    }
    assert missing.cancelled  # omitted by Graph, derived from the pattern
    assert missing.end - missing.start == timedelta(hours=1)
    assert moved.moved and moved.start == datetime(2026, 2, 3, 16, 30, tzinfo=utc)
    assert moved.responses["cy@contoso.com"] is Response.DECLINED
    assert moved.responses["di@contoso.com"] is Response.NONE
    assert not last.cancelled  # from the second page


def test_occurrences_of_a_deleted_master_are_all_cancelled(tmp_path):
    gone = fixture("errors")["ErrorItemNotFound"]
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(
            responses.POST,
            BATCH,
            json={"responses": [{"id": "0", "status": 404, "headers": {}, "body": gone["body"]}]},
        )
        out = provider(tmp_path).occurrences(
            [cy_series()], datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
        )
    assert [o.cancelled for o in out["k-cy-di"]] == [True, True]


# -- update and end --------------------------------------------------------------------------


def patched(series: Series) -> dict:
    """A $batch answer in which the one PATCH of ``series`` took."""
    answer = {"id": "0", "status": 200, "headers": {}, "body": {"id": series.provider_id}}
    return {"responses": [answer]}


def result_rule(series: Series, last: datetime) -> str:
    return with_until(series.rrule, last)


def test_end_series_patches_only_the_range_and_never_deletes(tmp_path):
    series = cy_series()
    last = datetime(2026, 2, 16, 10, 0, tzinfo=NYC)
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, BATCH, json=patched(series))
        result = provider(tmp_path).end_series([SeriesEnd(series, last)])
        inner = json.loads(rsps.calls[-1].request.body)["requests"][0]
    assert inner["method"] == "PATCH"
    assert inner["url"] == f"/users/{ORGANIZER}/events/AAMkAGUzYRgWAAA%3D"
    assert set(inner["body"]) == {"recurrence", "singleValueExtendedProperties"}
    assert inner["body"]["singleValueExtendedProperties"] == [
        {"id": property_id("provider.rrule"), "value": result_rule(series, last)}
    ]
    assert inner["body"]["recurrence"]["range"] == {
        "type": "endDate",
        "startDate": "2026-01-05",
        "endDate": "2026-02-16",
        "recurrenceTimeZone": "Eastern Standard Time",
    }
    assert (
        result["k-cy-di"].rrule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;WKST=MO;UNTIL=20260216T150000Z"
    )


def test_end_before_the_first_occurrence_is_refused(tmp_path):
    series = cy_series()
    with responses.RequestsMock():  # nothing may be sent
        result = provider(tmp_path).end_series(
            [SeriesEnd(series, series.start - timedelta(days=7))]
        )
    assert isinstance(result["k-cy-di"], ItemFailure)
    assert "never deletes" in result["k-cy-di"].message


def test_update_patches_the_master_with_the_spec(tmp_path):
    series = cy_series()
    new = spec(
        3,
        zone="America/New_York",
        start=datetime(2026, 1, 6, 11, 0, tzinfo=NYC),
        rrule="FREQ=WEEKLY;BYDAY=TU;WKST=MO;COUNT=8",
    )
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, BATCH, json=patched(series))
        result = provider(tmp_path, Waits()).update_series([(series, new)])
        inner = json.loads(rsps.calls[-1].request.body)["requests"][0]
    assert inner["method"] == "PATCH"
    assert "transactionId" not in inner["body"]  # immutable after create
    assert inner["body"]["start"] == {
        "dateTime": "2026-01-06T11:00:00",
        "timeZone": "Eastern Standard Time",
    }
    assert inner["body"]["recurrence"]["pattern"]["daysOfWeek"] == ["tuesday"]
    assert result["key-3"].provider_id == series.provider_id
    assert result["key-3"].rrule == "FREQ=WEEKLY;BYDAY=TU;WKST=MO;COUNT=8"


def test_ending_carries_the_re_rendered_description(tmp_path):
    series = cy_series()
    last = datetime(2026, 2, 16, 10, 0, tzinfo=NYC)
    end = SeriesEnd(series, last, "<p>now ends on 16 Feb: 4 sessions in all</p>", "text")
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, BATCH, json=patched(series))
        provider(tmp_path).end_series([end])
        inner = json.loads(rsps.calls[-1].request.body)["requests"][0]
    assert inner["body"]["body"] == {
        "contentType": "HTML",
        "content": "<p>now ends on 16 Feb: 4 sessions in all</p>",
    }


def test_a_series_not_yet_begun_is_cancelled_with_the_cancel_action(tmp_path):
    series = cy_series()
    end = SeriesEnd(series, None, "<p>cancelled</p>", "Cancelled before its first session.")
    answer = {"responses": [{"id": "0", "status": 202, "headers": {}, "body": None}]}
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, BATCH, json=answer)
        result = provider(tmp_path).end_series([end])
        inner = json.loads(rsps.calls[-1].request.body)["requests"][0]
    assert inner["method"] == "POST"
    assert inner["url"] == f"/users/{ORGANIZER}/events/AAMkAGUzYRgWAAA%3D/cancel"
    assert inner["body"] == {"comment": "Cancelled before its first session."}
    assert isinstance(result["k-cy-di"], Series) and result["k-cy-di"].cancelled
