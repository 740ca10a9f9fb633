"""Calendar v3 event JSON ⇄ rmcal's Series, SeriesSpec and Occurrence. Pure, no I/O.

Why apart from the provider: these are the rules that decide what rmcal believes about a
calendar (which occurrence moved, who declined, whether a series is ours), so they are tested
on their own against documented event shapes, without any HTTP in the way.

Google stores a recurring series as one *parent* event (``recurrence`` lines, attendees) plus
*exceptions*: instances that differ from the rule (moved, cancelled, answered differently), each
with ``recurringEventId`` and an immutable ``originalStartTime``. ``events.instances`` expands
both; ``events.list`` without ``singleEvents`` returns them side by side (cancelled exceptions
included, per the ``showDeleted`` parameter documentation), which is what ``overlay`` rebuilds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rmcal.provider import (
    TAG_COHORT,
    TAG_KEY,
    TAG_PAIR,
    Occurrence,
    Response,
    Series,
    SeriesSpec,
)
from rmcal.recurrence import UTC, RecurrenceError, expand, normalize, parse_parts, until_text

PROPERTY_PREFIX = "rmcal."
KEY_PROPERTY = PROPERTY_PREFIX + TAG_KEY
COHORT_PROPERTY = PROPERTY_PREFIX + TAG_COHORT
BASE32HEX = frozenset("0123456789abcdefghijklmnopqrstuv")

_RESPONSES = {
    "accepted": Response.ACCEPTED,
    "tentative": Response.TENTATIVE,
    "declined": Response.DECLINED,
    "needsAction": Response.NONE,
}


def rfc3339(moment: datetime) -> str:
    """UTC with ``Z``: the form every Calendar time parameter accepts."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    """An RFC 3339 timestamp from Google (``Z`` or offset, optional fraction) as aware UTC."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_when(when: Mapping[str, Any], zone: str) -> datetime:
    """An EventDateTime (``dateTime`` or all-day ``date``) as an aware UTC datetime."""
    if when.get("dateTime"):
        return parse_time(str(when["dateTime"]))
    day = datetime.strptime(str(when["date"]), "%Y-%m-%d")
    return day.replace(tzinfo=_zone(str(when.get("timeZone") or zone))).astimezone(UTC)


def event_time(moment: datetime, zone: str) -> dict[str, str]:
    """``start``/``end`` of a recurring event: local wall time plus the IANA zone, which
    Google requires for recurring events and uses to expand the rule across DST."""
    return {
        "dateTime": moment.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds"),
        "timeZone": zone,
    }


def valid_event_id(key: str) -> str | None:
    """Why ``key`` cannot be a client-chosen event id (base32hex, 5–1024 chars), or None."""
    if not 5 <= len(key) <= 1024:
        return f"event id {key!r} must be 5 to 1024 characters long"
    if not set(key) <= BASE32HEX:
        return f"event id {key!r} may only use 0-9 and a-v (base32hex)"
    return None


def private_properties(spec: SeriesSpec) -> dict[str, str]:
    """Every tag under ``rmcal.<name>``; key, cohort and pair always present."""
    props = {PROPERTY_PREFIX + name: str(value) for name, value in spec.tags}
    props[KEY_PROPERTY] = spec.key
    props[COHORT_PROPERTY] = spec.cohort_id
    props[PROPERTY_PREFIX + TAG_PAIR] = spec.pair_id
    return props


def conference_request(spec: SeriesSpec, salt: str = "") -> dict[str, Any]:
    """A Meet link request; the id is derived from the key so a re-sent insert asks once."""
    digest = hashlib.sha256(f"{spec.key}\n{salt}".encode()).hexdigest()[:16]
    return {
        "createRequest": {
            "requestId": f"rmcal-{spec.key}-{digest}",
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
        }
    }


def event_body(spec: SeriesSpec, *, with_id: bool = True) -> dict[str, Any]:
    """The Calendar event for a spec: the series key is both the event id and a property."""
    organizer = spec.organizer.email.lower()
    body: dict[str, Any] = {
        "summary": spec.title,
        "description": spec.description_html,
        "start": event_time(spec.start, spec.timezone),
        "end": event_time(spec.start + spec.duration, spec.timezone),
        "recurrence": ["RRULE:" + normalize(spec.rrule)],
        "attendees": [
            {"email": a.email.lower(), "displayName": a.name}
            for a in spec.attendees
            if a.email.lower() != organizer
        ],
        "extendedProperties": {"private": private_properties(spec)},
        "guestsCanInviteOthers": False,
        "guestsCanModify": False,
    }
    if with_id:
        body["id"] = spec.key
    if spec.video:
        body["conferenceData"] = conference_request(spec)
    return body


def patch_body(series: Series, spec: SeriesSpec) -> dict[str, Any]:
    """What ``events.patch`` sends to make ``series`` match ``spec``.

    Tags that the spec no longer carries are set to null (the documented way to delete a
    property in a patch); a video link is requested only when one is missing.
    """
    body = event_body(spec, with_id=False)
    props = body["extendedProperties"]["private"]
    for name in series.tags:
        if PROPERTY_PREFIX + name not in props:
            props[PROPERTY_PREFIX + name] = None
    extra_lines = [line for line in series.extra.get("recurrence", ()) if line]
    body["recurrence"] = body["recurrence"] + [
        line for line in extra_lines if line.upper().startswith("EXDATE")
    ]
    if spec.video and not series.video_url:
        body["conferenceData"] = conference_request(spec, salt=spec.rrule + spec.start.isoformat())
    elif not spec.video:
        body.pop("conferenceData", None)
        if series.video_url:
            body["conferenceData"] = None
    else:
        body.pop("conferenceData", None)
    return body


def is_parent(event: Mapping[str, Any]) -> bool:
    """A series (not one of its exceptions) that rmcal tagged."""
    props = (event.get("extendedProperties") or {}).get("private") or {}
    return bool(props.get(KEY_PROPERTY)) and not event.get("recurringEventId")


def rrule_of(lines: list[str], zone: str) -> str:
    """The RRULE of a ``recurrence`` list, normalised, with UNTIL in UTC (as Series promises)."""
    for line in lines:
        if line.upper().startswith("RRULE:"):
            parts = parse_parts(line)
            until = parts.get("UNTIL")
            if until and not until.endswith("Z"):
                local = (
                    datetime.strptime(until, "%Y%m%d").replace(hour=23, minute=59, second=59)
                    if len(until) == 8
                    else datetime.strptime(until, "%Y%m%dT%H%M%S")
                )
                parts["UNTIL"] = until_text(local.replace(tzinfo=_zone(zone)))
                return normalize(";".join(f"{k}={v}" for k, v in parts.items()))
            return normalize(line)
    return ""


def series_from_event(event: Mapping[str, Any], default_zone: str) -> Series:
    """A Series as Google holds it now (parent event of a recurring series)."""
    props = (event.get("extendedProperties") or {}).get("private") or {}
    zone = str((event.get("start") or {}).get("timeZone") or default_zone)
    start_utc = parse_when(event["start"], zone)
    end_utc = parse_when(event["end"], zone) if event.get("end") else start_utc
    organizer = str((event.get("organizer") or {}).get("email", "")).lower()
    lines = list(event.get("recurrence") or [])
    conference = event.get("conferenceData") or {}
    status = (((conference.get("createRequest") or {}).get("status")) or {}).get("statusCode")
    return Series(
        key=str(props.get(KEY_PROPERTY) or event["id"]),
        provider_id=str(event["id"]),
        title=str(event.get("summary", "")),
        start=start_utc.astimezone(_zone(zone)),
        duration=end_utc - start_utc,
        timezone=zone,
        rrule=rrule_of(lines, zone),
        attendees=tuple(
            sorted(
                str(a["email"]).lower()
                for a in event.get("attendees") or []
                if a.get("email")
                and not a.get("organizer")
                and not a.get("resource")
                and str(a["email"]).lower() != organizer
            )
        ),
        tags={
            name[len(PROPERTY_PREFIX) :]: str(value)
            for name, value in props.items()
            if name.startswith(PROPERTY_PREFIX) and value is not None
        },
        organizer=organizer,
        video_url=_video_url(event),
        cancelled=event.get("status") == "cancelled",
        extra={
            "etag": event.get("etag"),
            "recurrence": tuple(line for line in lines if not line.upper().startswith("RRULE:")),
            "conference_id": conference.get("conferenceId"),
            "conference_status": status,
            "html_link": event.get("htmlLink"),
        },
    )


def _video_url(event: Mapping[str, Any]) -> str | None:
    if event.get("hangoutLink"):
        return str(event["hangoutLink"])
    for entry in (event.get("conferenceData") or {}).get("entryPoints") or []:
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            return str(entry["uri"])
    return None


def responses_of(event: Mapping[str, Any]) -> dict[str, Response]:
    """Each attendee's answer; ``needsAction`` is "no answer yet" (Response.NONE)."""
    out: dict[str, Response] = {}
    for attendee in event.get("attendees") or []:
        email = str(attendee.get("email", "")).lower()
        if not email or attendee.get("resource"):
            continue
        if attendee.get("organizer"):
            out[email] = Response.ORGANIZER
        else:
            out[email] = _RESPONSES.get(str(attendee.get("responseStatus")), Response.NONE)
    return out


def occurrence_from_instance(
    key: str, instance: Mapping[str, Any], duration: timedelta, zone: str
) -> Occurrence:
    """One instance from ``events.instances`` (or an exception from ``events.list``).

    Cancelled instances may carry nothing but ids and ``originalStartTime``; they keep their
    original slot as start/end.
    """
    original = parse_when(instance["originalStartTime"], zone)
    start = parse_when(instance["start"], zone) if instance.get("start") else original
    end = parse_when(instance["end"], zone) if instance.get("end") else start + duration
    return Occurrence(
        series_key=key,
        original_start=original,
        start=start,
        end=end,
        cancelled=instance.get("status") == "cancelled",
        responses=responses_of(instance),
    )


def overlay(
    series: Series,
    parent: Mapping[str, Any] | None,
    exceptions: Mapping[datetime, Mapping[str, Any]],
    start: datetime,
    end: datetime,
) -> list[Occurrence] | None:
    """Occurrences in [start, end) rebuilt from the parent's rule and its exceptions.

    Returns None when the parent uses recurrence lines this reconstruction does not model
    (RDATE, EXRULE, several RRULEs); the caller then asks ``events.instances``.
    """
    if parent is None:
        return None
    zone = str((parent.get("start") or {}).get("timeZone") or series.timezone)
    if parent.get("status") == "cancelled":
        starts = expand(series.rrule, series.start, after=start, before=end) if series.rrule else []
        return [
            Occurrence(
                series.key,
                s.astimezone(UTC),
                s.astimezone(UTC),
                s.astimezone(UTC) + series.duration,
                cancelled=True,
            )
            for s in starts
        ]
    lines = list(parent.get("recurrence") or [])
    rules = [line for line in lines if line.upper().startswith("RRULE:")]
    exdates = [line for line in lines if line.upper().startswith("EXDATE")]
    if len(rules) != 1 or len(rules) + len(exdates) != len(lines) or not parent.get("start"):
        return None
    first = parse_when(parent["start"], zone).astimezone(_zone(zone))
    duration = parse_when(parent["end"], zone) - first if parent.get("end") else series.duration
    try:
        starts = expand(rules[0], first, after=start, before=end)
        excluded = exdate_set(exdates, zone)
    except (RecurrenceError, ValueError):
        return None
    answers = responses_of(parent)
    out: list[Occurrence] = []
    for local in starts:
        slot = local.astimezone(UTC)
        exception = exceptions.get(slot)
        if exception is not None:
            out.append(occurrence_from_instance(series.key, exception, duration, zone))
        elif slot in excluded:
            out.append(Occurrence(series.key, slot, slot, slot + duration, cancelled=True))
        else:
            out.append(Occurrence(series.key, slot, slot, slot + duration, responses=answers))
    return out


def exdate_set(lines: list[str], zone: str) -> set[datetime]:
    """Instants excluded by ``EXDATE`` lines (``;TZID=``, UTC ``Z`` or floating values)."""
    out: set[datetime] = set()
    for line in lines:
        head, _, values = line.partition(":")
        params = dict(p.split("=", 1) for p in head.split(";")[1:] if "=" in p)
        tz = _zone(params.get("TZID", zone))
        for value in filter(None, values.split(",")):
            if value.endswith("Z"):
                moment = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            elif "T" in value:
                moment = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=tz)
            else:
                moment = datetime.strptime(value, "%Y%m%d").replace(tzinfo=tz)
            out.add(moment.astimezone(UTC))
    return out


def compact(event: Mapping[str, Any]) -> dict[str, Any]:
    """The fields rmcal needs to rebuild occurrences, to keep the sync cache small."""
    keep = ("id", "status", "recurringEventId", "originalStartTime", "start", "end", "recurrence")
    out = {k: event[k] for k in keep if k in event}
    attendees = [
        {k: a[k] for k in ("email", "responseStatus", "organizer", "resource") if k in a}
        for a in event.get("attendees") or []
    ]
    if attendees:
        out["attendees"] = attendees
    props = (event.get("extendedProperties") or {}).get("private") or {}
    ours = {k: v for k, v in props.items() if k.startswith(PROPERTY_PREFIX)}
    if ours:
        out["extendedProperties"] = {"private": ours}
    return out


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
