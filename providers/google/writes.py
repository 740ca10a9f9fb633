"""Creating, updating and ending series: the only calls that change a calendar.

Why they are shaped this way: a series' event id *is* its series key, so a retried insert
answers 409 instead of making a duplicate, and the 409 is resolved by reading the event (a
deleted event keeps its id forever, so its key can never be used again). Every write carries
``sendUpdates=all``: Google, not rmcal, mails the invitations and changes to the pair.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from googleapiclient.errors import HttpError

from rmcal.provider import ItemFailure, Progress, Series, SeriesEnd, SeriesSpec
from rmcal.recurrence import RecurrenceError, parse_problem, with_until

from .batch import explain, item_failure, status_of
from .client import GoogleClient
from .events import KEY_PROPERTY, event_body, patch_body, series_from_event, valid_event_id

CONFERENCE_WAIT = 2.0  # seconds before re-reading events whose Meet link is still pending

BURNT_ID = (
    "a series with this key was deleted in Google Calendar, and Google never lets a deleted "
    "event's id be used again, so this series cannot be created under the same key; "
    "scheduling the pair again needs a new series key: `rmcal schedule --recreate` gives it "
    "the pair's next one. Nothing was created"
)

Results = dict[str, Series | ItemFailure]


def recurrence_problem(rrule: str) -> str | None:
    """Google takes any RFC 5545 RRULE; only one that does not parse is refused."""
    problem = parse_problem(rrule)
    return None if problem is None else f"not a valid RRULE: {problem}"


def spec_problem(spec: SeriesSpec) -> str | None:
    """Why Google would refuse the spec (zone, naive start, rule), checked before any call."""
    try:
        ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{spec.timezone!r} is not an IANA time zone"
    if spec.start.tzinfo is None:
        return "the first start has no time zone"
    return recurrence_problem(spec.rrule)


def create_series(
    client: GoogleClient, specs: Sequence[SeriesSpec], progress: Progress | None = None
) -> Results:
    """Insert each series with its key as event id; a 409 is resolved by reading it."""
    results: Results = {}
    requests: dict[str, Any] = {}
    wanted: dict[str, SeriesSpec] = {}
    for spec in specs:
        problem = valid_event_id(spec.key) or spec_problem(spec)
        if problem:
            results[spec.key] = ItemFailure(problem, retryable=False)
            continue
        params: dict[str, Any] = {
            "calendarId": client.settings.calendar_id,
            "body": event_body(spec),
            "sendUpdates": "all",
        }
        if spec.video:
            params["conferenceDataVersion"] = 1
        requests[spec.key] = client.events.insert(**params)
        wanted[spec.key] = spec
    answers = client.calls.execute_many(requests, "create series", progress)
    existing: list[str] = []
    for key, answer in answers.items():
        if isinstance(answer, HttpError):
            if status_of(answer) == 409:
                existing.append(key)
            elif status_of(answer) == 404:
                raise explain(answer, "create series", client.ctx)  # the calendar is missing
            else:
                results[key] = item_failure(answer, client.ctx)
        else:
            results[key] = series_from_event(answer, wanted[key].timezone)
    if existing:
        results.update(_resolve_existing(client, existing, wanted))
    _await_conferences(client, results, wanted)
    return results


def _resolve_existing(
    client: GoogleClient, keys: list[str], wanted: Mapping[str, SeriesSpec]
) -> Results:
    """After 409 "already exists": a live event of ours is success; a deleted one is not."""
    out: Results = {}
    gets = {
        key: client.events.get(calendarId=client.settings.calendar_id, eventId=key) for key in keys
    }
    for key, answer in client.calls.execute_many(gets, "read existing series").items():
        if isinstance(answer, HttpError):
            out[key] = item_failure(answer, client.ctx)
        elif answer.get("status") == "cancelled":
            out[key] = ItemFailure(BURNT_ID, retryable=False)
        elif ((answer.get("extendedProperties") or {}).get("private") or {}).get(
            KEY_PROPERTY
        ) != key:
            out[key] = ItemFailure(
                f"an event with id {key} exists in the calendar but rmcal did not create it",
                retryable=False,
            )
        else:
            out[key] = series_from_event(answer, wanted[key].timezone)
    return out


def _await_conferences(
    client: GoogleClient, results: Results, wanted: Mapping[str, SeriesSpec]
) -> None:
    """Meet links are made asynchronously; re-read once those still ``pending``."""
    pending = {
        key: value.provider_id
        for key, value in results.items()
        if isinstance(value, Series)
        and key in wanted
        and wanted[key].video
        and not value.video_url
        and value.extra.get("conference_status") == "pending"
    }
    if not pending:
        return
    client.sleep(CONFERENCE_WAIT)
    gets = {
        key: client.events.get(calendarId=client.settings.calendar_id, eventId=event_id)
        for key, event_id in pending.items()
    }
    for key, answer in client.calls.execute_many(gets, "read Meet links").items():
        if not isinstance(answer, HttpError):
            results[key] = series_from_event(answer, wanted[key].timezone)


def update_series(
    client: GoogleClient,
    changes: Sequence[tuple[Series, SeriesSpec]],
    progress: Progress | None = None,
) -> Results:
    """Patch each series to match its spec; Google mails the changes to the pair."""
    results: Results = {}
    requests: dict[str, Any] = {}
    wanted: dict[str, SeriesSpec] = {}
    for series, spec in changes:
        if series.cancelled:
            results[series.key] = ItemFailure(BURNT_ID, retryable=False)
            continue
        problem = spec_problem(spec)
        if problem:
            results[series.key] = ItemFailure(problem, retryable=False)
            continue
        requests[series.key] = client.events.patch(
            calendarId=client.settings.calendar_id,
            eventId=series.provider_id,
            body=patch_body(series, spec),
            sendUpdates="all",
            conferenceDataVersion=1,
        )
        wanted[series.key] = spec
    for key, answer in client.calls.execute_many(requests, "update series", progress).items():
        if isinstance(answer, HttpError):
            results[key] = item_failure(answer, client.ctx)
        else:
            results[key] = series_from_event(answer, wanted[key].timezone)
    _await_conferences(client, results, wanted)
    return results


def end_series(
    client: GoogleClient,
    ends: Sequence[SeriesEnd],
    progress: Progress | None = None,
) -> Results:
    """Cut each rule with UNTIL at the last kept occurrence, with the end's description;
    past occurrences stay.

    A series with no past to keep (``last`` None, or before the first occurrence) is cancelled
    (deleted, which mails the attendees a cancellation) instead, so no invitation lingers in
    the pair's calendars.
    """
    results: Results = {}
    requests: dict[str, Any] = {}
    by_key: dict[str, Series] = {}
    calendar_id = client.settings.calendar_id
    for end in ends:
        series, last = end.series, end.last
        by_key[series.key] = series
        if series.cancelled:
            results[series.key] = series
            continue
        if last is None or last < series.start:
            requests[series.key] = client.events.delete(
                calendarId=calendar_id, eventId=series.provider_id, sendUpdates="all"
            )
            continue
        try:
            rule = with_until(series.rrule, last)
        except RecurrenceError as exc:
            results[series.key] = ItemFailure(f"cannot end {series.rrule!r}: {exc}", False)
            continue
        lines = ["RRULE:" + rule] + [line for line in series.extra.get("recurrence", ()) if line]
        body: dict[str, Any] = {"recurrence": lines}
        if end.description_html:
            body["description"] = end.description_html
        requests[series.key] = client.events.patch(
            calendarId=calendar_id,
            eventId=series.provider_id,
            body=body,
            sendUpdates="all",
        )
    for key, answer in client.calls.execute_many(requests, "end series", progress).items():
        series = by_key[key]
        if isinstance(answer, HttpError):
            if status_of(answer) == 410:  # already deleted: nothing left to end
                results[key] = dataclasses.replace(series, cancelled=True)
            else:
                results[key] = item_failure(answer, client.ctx)
        elif not answer:  # events.delete answers with an empty body
            results[key] = dataclasses.replace(series, cancelled=True)
        else:
            results[key] = series_from_event(answer, series.timezone)
    return results
