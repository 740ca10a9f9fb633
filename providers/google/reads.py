"""Reading the calendar: the cohort's series, and every occurrence of each with its answers.

Why the two ways to occurrences: with ``sync_tokens`` (the default) they are rebuilt from the
synced cache of parents and exceptions (``sync``), one cheap call per run; a series whose
recurrence that reconstruction cannot model, or which the cache lacks, is expanded by
``events.instances`` instead, and an occurrence the window does not return is looked up by its
original start, so a cancelled or far-moved one is reported, never silently missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from googleapiclient.errors import HttpError

from rmcal.provider import Occurrence, ProviderContext, Series
from rmcal.recurrence import RecurrenceError, expand

from .batch import explain, status_of
from .client import GoogleClient
from .events import (
    COHORT_PROPERTY,
    is_parent,
    occurrence_from_instance,
    overlay,
    parse_time,
    parse_when,
    rfc3339,
    series_from_event,
)
from .meet import Attendance
from .sync import synced_events

INSTANCE_MARGIN = timedelta(days=7)  # catch occurrences moved out of the asked window

Occurrences = dict[str, list[Occurrence]]


def find_series(client: GoogleClient, cohort_id: str, default_zone: str) -> list[Series]:
    """The cohort's series, found by rmcal's private extended property, not the state.

    Deleted series are asked for too (``showDeleted``) and come back with
    ``cancelled=True``: their id can never be used again, and the planner leaves a series
    that was cancelled in the calendar alone instead of trying to create it anew.
    """
    items, zone = _list_pages(
        client,
        {
            "privateExtendedProperty": f"{COHORT_PROPERTY}={cohort_id}",
            "showDeleted": True,
            "maxResults": 2500,  # the most a page holds: one request per 2,500 series
        },
        "find series",
        default_zone,
    )
    return [s for s in _parents(items, zone) if s.cohort_id == cohort_id]


def find_all_series(client: GoogleClient, default_zone: str) -> list[Series]:
    """Every series rmcal tagged on the calendar, whatever its cohort, deleted ones too.

    ``privateExtendedProperty`` only matches a name with a value, so there is no server-side
    filter for "any cohort": this reads the calendar's events (recurring parents, not their
    expansions) page by page and keeps the tagged parents, as the sync cache does.
    """
    items, zone = _list_pages(
        client, {"showDeleted": True, "maxResults": 2500}, "find all series", default_zone
    )
    return [s for s in _parents(items, zone) if s.cohort_id]


def _parents(items: list[dict[str, Any]], zone: str) -> list[Series]:
    """The tagged recurring parents among listed events, one per key, in key order."""
    found: dict[str, Series] = {}
    for event in items:
        # Exceptions of a series carry the same properties; only parents are series.
        if not is_parent(event) or not event.get("recurrence") or not event.get("start"):
            continue
        series = series_from_event(event, zone)
        current = found.get(series.key)
        if current is None or _better(series, current):
            found[series.key] = series
    return sorted(found.values(), key=lambda s: s.key)


def occurrences(
    client: GoogleClient,
    series: Sequence[Series],
    start: datetime,
    end: datetime,
    *,
    context: ProviderContext,
    now: Callable[[], datetime],
) -> Occurrences:
    """Every occurrence with original start in [start, end), cancelled ones included.

    With ``sync_tokens`` one incremental ``events.list`` brings the calendar's changes since
    the last run and the occurrences are rebuilt from each series' rule plus its exceptions;
    series this cannot model, or missing from that read, are expanded by ``events.instances``.
    With ``attendance`` each is then measured against the Meet records.
    """
    results: Occurrences = {}
    if not series:
        return results
    settings = client.settings
    if settings.sync_tokens:
        wanted = {s.provider_id for s in series}
        events = synced_events(
            client, wanted, kv=context.kv, log=context.log, full=context.full_read
        )
        exceptions: dict[str, dict[datetime, Mapping[str, Any]]] = {}
        for event in events.values():
            parent_id = event.get("recurringEventId")
            if parent_id and event.get("originalStartTime"):
                slot = parse_when(event["originalStartTime"], context.timezone)
                exceptions.setdefault(str(parent_id), {})[slot] = event
        for item in series:
            rebuilt = overlay(
                item,
                events.get(item.provider_id),
                exceptions.get(item.provider_id, {}),
                start,
                end,
            )
            if rebuilt is not None:
                results[item.key] = rebuilt
    rest = [s for s in series if s.key not in results]
    if rest:
        results.update(_from_instances(client, rest, start, end))
    if settings.attendance:
        meter = Attendance(
            calls=client.calls,
            meet=client.service("meet"),
            people=client.service("people"),
            kv=context.kv,
            now=now,
        )
        by_key = {s.key: s for s in series}
        results = {k: meter.measure(by_key[k], v) for k, v in results.items()}
    return {k: sorted(v, key=lambda o: o.original_start) for k, v in results.items()}


def _from_instances(
    client: GoogleClient, series: Sequence[Series], start: datetime, end: datetime
) -> Occurrences:
    """``events.instances`` (deleted included) per series, all pages, batched."""
    cal = client.settings.calendar_id
    by_key = {s.key: s for s in series}
    items: dict[str, list[Mapping[str, Any]]] = {s.key: [] for s in series}
    gone: set[str] = set()

    def page(s: Series, token: str | None) -> Any:
        return client.events.instances(
            calendarId=cal,
            eventId=s.provider_id,
            timeMin=rfc3339(start - INSTANCE_MARGIN),
            timeMax=rfc3339(end + INSTANCE_MARGIN),
            showDeleted=True,
            maxResults=2500,
            pageToken=token,
        )

    requests = {s.key: page(s, None) for s in series}
    while requests:
        answers = client.calls.execute_many(requests, "read occurrences")
        requests = {}
        for key, answer in answers.items():
            if isinstance(answer, HttpError):
                if status_of(answer) in (404, 410):
                    gone.add(key)  # the series was deleted: every occurrence is cancelled
                    continue
                raise explain(answer, "read occurrences", client.ctx)
            items[key] += answer.get("items") or []
            if answer.get("nextPageToken"):
                requests[key] = page(by_key[key], answer["nextPageToken"])
    results: Occurrences = {}
    lookups: dict[str, Any] = {}
    for s in series:
        got = {}
        for inst in items[s.key]:
            if inst.get("originalStartTime"):
                occ = occurrence_from_instance(s.key, inst, s.duration, s.timezone)
                got[occ.original_start] = occ
        expected = _expected(s, start, end)
        if s.key in gone:
            got = {t: _cancelled(s, t) for t in expected}
        results[s.key] = [o for t, o in got.items() if start <= t < end]
        for slot in expected:
            if slot not in got:
                # Moved further than the margin (or gone): ask for that one instance.
                lookups[f"{s.key}@{rfc3339(slot)}"] = client.events.instances(
                    calendarId=cal,
                    eventId=s.provider_id,
                    originalStart=rfc3339(slot),
                    showDeleted=True,
                )
    for lookup, answer in client.calls.execute_many(lookups, "read moved occurrences").items():
        key, _, stamp = lookup.partition("@")
        s = by_key[key]
        slot = parse_time(stamp)
        found = [] if isinstance(answer, HttpError) else answer.get("items") or []
        if isinstance(answer, HttpError) and status_of(answer) not in (404, 410):
            raise explain(answer, "read moved occurrences", client.ctx)
        if found:
            results[key].append(occurrence_from_instance(key, found[0], s.duration, s.timezone))
        else:
            results[key].append(_cancelled(s, slot))
    return results


def _list_pages(
    client: GoogleClient, params: dict[str, Any], operation: str, default_zone: str
) -> tuple[list[dict[str, Any]], str]:
    """All pages of an ``events.list``; the items and the calendar's time zone."""
    items: list[dict[str, Any]] = []
    page: str | None = None
    zone = default_zone
    while True:
        answer = client.calls.execute(
            client.events.list(calendarId=client.settings.calendar_id, pageToken=page, **params),
            operation,
        )
        zone = str(answer.get("timeZone") or zone)
        items += answer.get("items") or []
        page = answer.get("nextPageToken")
        if not page:
            return items, zone


def _better(candidate: Series, current: Series) -> bool:
    """Of two events carrying the same key, the live one whose id is the key wins."""

    def rank(series: Series) -> tuple[bool, bool]:
        return (not series.cancelled, series.provider_id == series.key)

    return rank(candidate) > rank(current)


def _expected(series: Series, start: datetime, end: datetime) -> list[datetime]:
    """The original starts the rule implies in [start, end), in UTC (empty if unreadable)."""
    if not series.rrule:
        return []
    try:
        return [
            t.astimezone(UTC) for t in expand(series.rrule, series.start, after=start, before=end)
        ]
    except (RecurrenceError, ValueError):
        return []


def _cancelled(series: Series, slot: datetime) -> Occurrence:
    return Occurrence(series.key, slot, slot, slot + series.duration, cancelled=True)
