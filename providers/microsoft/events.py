"""Graph event and instance JSON <-> rmcal's ``Series`` and ``Occurrence``, with no I/O.

Why apart from the provider: what rmcal writes into an event and how it reads one back is the
part most worth testing case by case (time zones, recurrence spellings, tags), and it needs no
HTTP, no MSAL and no server to test. ``provider.py`` sends and fetches; this module only
translates, the way ``google_events.py`` does for Google.

Identity in the calendar: every series carries one single-value extended property per rmcal
tag, ``String {<our GUID>} Name rmcal.<tag>``, so that the calendar itself - not the state file -
says which series exist. One more property, ``rmcal.provider.zone``, remembers the IANA zone a
series was created in, because several IANA zones share one Windows zone;
``rmcal.provider.rrule`` remembers the RRULE text rmcal wrote, because equivalent rules have
several spellings (Graph always stores a first day of the week, an RRULE may omit WKST). Reading
back, the remembered text is used only while it still translates to exactly the recurrence Graph
holds; a recurrence edited in Outlook reads back as Graph has it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from rmcal.intervals import Interval, clip
from rmcal.provider import (
    TAG_COHORT,
    TAG_KEY,
    Occurrence,
    Response,
    Series,
    SeriesSpec,
)
from rmcal.recurrence import expand, normalize, with_until

from .recurrence import UnsupportedRecurrence, from_graph, to_graph
from .zones import iana_zone, windows_zone

# rmcal's property-set GUID for its single-value extended properties (chosen once, never change).
PROPERTY_GUID = "4f7c2a9e-8d3b-4e61-a0c5-7b19e2d64f38"
ZONE_PROPERTY = "provider.zone"
RRULE_PROPERTY = "provider.rrule"
PRIVATE_PROPERTIES = (ZONE_PROPERTY, RRULE_PROPERTY)
TRANSACTION_NAMESPACE = uuid.UUID("1b0e3f5c-6a2d-4c8e-9f71-3d5a8b2c7e40")
RESPONSES = {
    "accepted": Response.ACCEPTED,
    "tentativelyaccepted": Response.TENTATIVE,
    "declined": Response.DECLINED,
    "organizer": Response.ORGANIZER,
    "none": Response.NONE,
    "notresponded": Response.NONE,
}
# The fields the translation below reads, so that a read asks Graph for nothing more.
EVENT_SELECT = (
    "subject,start,end,recurrence,attendees,organizer,isOnlineMeeting,onlineMeeting,"
    "isCancelled,type,iCalUId"
)
INSTANCE_SELECT = "start,end,originalStart,isCancelled,type,attendees,seriesMasterId"
BUSY_STATUSES = frozenset({"busy", "tentative", "oof"})  # free and workingElsewhere are free
_PROPERTY_ID = re.compile(r"^String \{([0-9a-fA-F-]{36})\} Name (.+)$")
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Graph writes seven fraction digits


def property_id(name: str) -> str:
    """The extended-property id rmcal uses for tag ``name``."""
    return f"String {{{PROPERTY_GUID}}} Name rmcal.{name}"


def transaction_id(key: str) -> str:
    """A stable ``transactionId`` for a series key, so a repeated create is recognisable."""
    return str(uuid.uuid5(TRANSACTION_NAMESPACE, key))


# -- time ------------------------------------------------------------------------------------


def _naive(text: str) -> datetime:
    """An ISO 8601 text from Graph (seven fraction digits allowed), zone as written."""
    return datetime.fromisoformat(_FRACTION.sub(r"\1", text))


def parse_graph_time(value: Mapping[str, Any], preferred: str | None = None) -> datetime:
    """A Graph dateTimeTimeZone (``2019-03-15T12:00:00.0000000`` + zone name) -> aware.

    ``preferred`` is the IANA zone rmcal wrote, which wins among those sharing a Windows zone.
    """
    zone = str(value.get("timeZone") or "UTC")
    tz = UTC if zone.upper() in {"UTC", "ETC/UTC"} else ZoneInfo(iana_zone(zone, preferred))
    return _naive(str(value["dateTime"]).rstrip("Z")).replace(tzinfo=tz)


def parse_offset_time(value: str) -> datetime:
    """A Graph DateTimeOffset (``2019-04-15T20:30:00Z``) -> aware UTC."""
    moment = _naive(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def wall_time(moment: datetime, tz: tzinfo, zone_name: str) -> dict[str, str]:
    """A dateTimeTimeZone: ``moment``'s wall-clock time in ``tz``, labelled ``zone_name``."""
    local = moment.astimezone(tz).replace(tzinfo=None)
    return {"dateTime": local.isoformat(timespec="seconds"), "timeZone": zone_name}


def utc_text(moment: datetime) -> str:
    """``moment`` as a UTC wall time without offset, as query parameters and getSchedule want."""
    return wall_time(moment, UTC, "UTC")["dateTime"]


# -- writing ---------------------------------------------------------------------------------


def spec_tags(spec: SeriesSpec) -> dict[str, str]:
    """The tags a series carries: the spec's own, with its key and cohort always present."""
    tags = dict(spec.tags)
    tags.setdefault(TAG_KEY, spec.key)
    tags.setdefault(TAG_COHORT, spec.cohort_id)
    return tags


def event_body(spec: SeriesSpec, *, organizer: str, create: bool) -> dict[str, Any]:
    """The Graph event for a spec (raises UnsupportedRecurrence / UnknownZone).

    ``create`` adds the ``transactionId``, which Graph does not let a PATCH change.
    """
    zone_name = windows_zone(spec.timezone)
    tz = ZoneInfo(spec.timezone)
    first = spec.start.astimezone(tz)
    tags = spec_tags(spec)
    tags[ZONE_PROPERTY] = spec.timezone
    tags[RRULE_PROPERTY] = normalize(spec.rrule)
    body: dict[str, Any] = {
        "subject": spec.title,
        "body": {"contentType": "HTML", "content": spec.description_html},
        "start": wall_time(first, tz, zone_name),
        "end": wall_time(first + spec.duration, tz, zone_name),
        "recurrence": to_graph(spec.rrule, first, zone_name),
        "attendees": [
            {"emailAddress": {"address": a.email, "name": a.name}, "type": "required"}
            for a in spec.attendees
            if a.email.lower() != organizer
        ],
        "singleValueExtendedProperties": [
            {"id": property_id(name), "value": value} for name, value in tags.items()
        ],
    }
    if spec.video:
        body["isOnlineMeeting"] = True
        body["onlineMeetingProvider"] = "teamsForBusiness"
    if create:
        body["transactionId"] = transaction_id(spec.key)
    return body


def end_body(series: Series, last: datetime) -> tuple[dict[str, Any], str]:
    """The PATCH that ends ``series`` after ``last`` (kept), and the RRULE it then holds.

    Only the range changes, but the whole recurrence object is sent, since merging a partial
    one is not documented.
    """
    first = series.start.astimezone(ZoneInfo(series.timezone))
    rule = with_until(series.rrule, last)
    body = {
        "recurrence": to_graph(rule, first, windows_zone(series.timezone)),
        "singleValueExtendedProperties": [{"id": property_id(RRULE_PROPERTY), "value": rule}],
    }
    return body, rule


# -- reading ---------------------------------------------------------------------------------


def _address(holder: Mapping[str, Any] | None) -> str:
    """The lower-cased ``emailAddress.address`` of an attendee or organizer, or ""."""
    return str(((holder or {}).get("emailAddress") or {}).get("address") or "").lower()


def _tags(event: Mapping[str, Any]) -> dict[str, str]:
    """rmcal's own extended properties of an event, by tag name (other GUIDs ignored)."""
    tags: dict[str, str] = {}
    for prop in event.get("singleValueExtendedProperties") or []:
        match = _PROPERTY_ID.match(str(prop.get("id", "")))
        if (
            match
            and match.group(1).lower() == PROPERTY_GUID
            and match.group(2).startswith("rmcal.")
        ):
            tags[match.group(2)[len("rmcal.") :]] = str(prop.get("value", ""))
    return tags


def _join_url(event: Mapping[str, Any] | None) -> str | None:
    join_url = ((event or {}).get("onlineMeeting") or {}).get("joinUrl")
    return str(join_url) if join_url else None


def series_from_event(event: Mapping[str, Any], *, organizer: str) -> Series | None:
    """A Series read back from a Graph event, or None if it is not one of ours.

    ``organizer`` (the configured mailbox) stands in when the event names none.
    """
    tags = _tags(event)
    preferred = tags.pop(ZONE_PROPERTY, None)
    written = tags.pop(RRULE_PROPERTY, None)
    recurrence = event.get("recurrence")
    if TAG_KEY not in tags or not recurrence:
        return None
    windows = (recurrence.get("range") or {}).get("recurrenceTimeZone") or (
        event.get("start") or {}
    ).get("timeZone", "UTC")
    zone = iana_zone(windows, preferred)
    tz = ZoneInfo(zone)
    start = parse_graph_time(event["start"], preferred).astimezone(tz)
    end = parse_graph_time(event["end"], preferred).astimezone(tz)
    owner = _address(event.get("organizer")) or organizer
    attendees = tuple(
        address
        for a in event.get("attendees") or []
        if (address := _address(a)) and address != owner
    )
    return Series(
        key=tags[TAG_KEY],
        provider_id=str(event["id"]),
        title=str(event.get("subject") or ""),
        start=start,
        duration=end - start,
        timezone=zone,
        rrule=read_rrule(recurrence, written, start, windows),
        attendees=attendees,
        tags=tags,
        organizer=owner,
        video_url=_join_url(event),
        cancelled=bool(event.get("isCancelled")),
        extra={
            "id": str(event["id"]),
            "iCalUId": str(event.get("iCalUId") or ""),
            "windows_zone": windows,
        },
    )


def read_rrule(
    recurrence: Mapping[str, Any], written: str | None, first: datetime, windows: str
) -> str:
    """The series' RRULE: the text rmcal wrote while Graph still holds exactly that rule."""
    tz = first.tzinfo
    assert isinstance(tz, ZoneInfo)
    held = from_graph(dict(recurrence), tz)
    if written:
        try:
            if from_graph(to_graph(written, first, windows), tz) == held:
                return written
        except (UnsupportedRecurrence, ValueError):
            pass
    return held


def series_from_spec(
    spec: SeriesSpec, event: Mapping[str, Any] | None, provider_id: str, *, organizer: str
) -> Series:
    """The Series just written for ``spec``; ``event`` is Graph's answer, if it sent one."""
    return Series(
        key=spec.key,
        provider_id=provider_id,
        title=spec.title,
        start=spec.start.astimezone(ZoneInfo(spec.timezone)),
        duration=spec.duration,
        timezone=spec.timezone,
        rrule=normalize(spec.rrule),
        attendees=tuple(a.email.lower() for a in spec.attendees if a.email.lower() != organizer),
        tags=spec_tags(spec),
        organizer=organizer,
        video_url=_join_url(event),
        extra={"id": provider_id, "iCalUId": str((event or {}).get("iCalUId") or "")},
    )


def responses_of(attendees: Iterable[Mapping[str, Any]]) -> dict[str, Response]:
    """Each attendee's answer, by lower-cased e-mail."""
    out: dict[str, Response] = {}
    for attendee in attendees:
        email = _address(attendee)
        answer = str((attendee.get("status") or {}).get("response") or "none").lower()
        if email:
            out[email] = RESPONSES.get(answer, Response.NONE)
    return out


def occurrences_from_instances(
    series: Series, items: Iterable[Mapping[str, Any]], start: datetime, end: datetime
) -> list[Occurrence]:
    """Every occurrence with original start in [start, end), cancelled ones included.

    ``instances`` omits cancelled occurrences, so the pattern is expanded (by the core's
    ``expand``) and every expected original start that did not come back is reported as
    cancelled.
    """
    tz = ZoneInfo(series.timezone)
    expected = expand(series.rrule, series.start.astimezone(tz), after=start, before=end)
    by_original: dict[datetime, Occurrence] = {}
    for item in items:
        if not item.get("originalStart"):
            continue
        original = parse_offset_time(str(item["originalStart"]))
        if not start <= original < end:
            continue
        by_original[original] = Occurrence(
            series_key=series.key,
            original_start=original,
            start=parse_graph_time(item["start"]).astimezone(UTC),
            end=parse_graph_time(item["end"]).astimezone(UTC),
            cancelled=bool(item.get("isCancelled")),
            responses=responses_of(item.get("attendees") or []),
        )
    for moment in expected:
        original = moment.astimezone(UTC)
        if original not in by_original:
            by_original[original] = Occurrence(
                series_key=series.key,
                original_start=original,
                start=original,
                end=original + series.duration,
                cancelled=True,
            )
    return [by_original[k] for k in sorted(by_original)]


def busy_intervals(
    schedule_items: Iterable[Mapping[str, Any]], start: datetime, end: datetime
) -> list[Interval]:
    """The busy parts of getSchedule's ``scheduleItems`` (the events behind free/busy), in UTC,
    clipped to [start, end)."""
    blocks = [
        (
            parse_graph_time(item["start"]).astimezone(UTC),
            parse_graph_time(item["end"]).astimezone(UTC),
        )
        for item in schedule_items
        if str(item.get("status", "")).lower() in BUSY_STATUSES
    ]
    return clip(blocks, start, end)
