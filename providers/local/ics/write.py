"""Writing series files: a spec becomes a master VEVENT, and an update keeps what people did.

Why a module of its own: writing stays narrow and canonical (one master, its overrides, a
VTIMEZONE per zone used, rmcal's X-RMCAL-* tags) while reading accepts all RFC 5545 allows; and
an update must carry over what rmcal does not own (answers that still apply, overrides and
EXDATEs the new rule still produces, a LOCATION or VALARM a person added). Pure: events in,
events out; the provider writes the bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, Timezone, vCalAddress, vRecur, vText

from rmcal import recurrence
from rmcal.provider import SeriesSpec

from .recurring import Recurring
from .series import TAG_PREFIX, SeriesFile, uid_for
from .values import (
    UTC,
    aware,
    email_of,
    param_of,
    prop_time,
    prop_values,
    resolve_zone,
    rules_of,
    text_of,
    until_in_utc,
    zone_name,
)
from .vtimezone import is_iana, vtimezone

PRODID = "-//rmcal//rmcal local provider//EN"
# Properties of the master VEVENT that rmcal owns: rewritten on update, compared to decide
# whether an update changes anything. Everything else a person added (LOCATION, VALARM,
# CATEGORIES, ...) is carried over untouched.
MANAGED = (
    "DTSTART",
    "DTEND",
    "DURATION",
    "RRULE",
    "SUMMARY",
    "DESCRIPTION",
    "X-ALT-DESC",
    "ORGANIZER",
    "ATTENDEE",
)


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = " ".join(name.split())
    for param, value in params.items():
        address.params[param.replace("_", "-")] = value
    return address


def _spec_start(spec: SeriesSpec) -> datetime:
    if spec.start.tzinfo is None:
        raise ValueError(f"series {spec.key}: start must be timezone-aware")
    try:
        zone = ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"series {spec.key}: {spec.timezone!r} is not an IANA zone") from exc
    return spec.start.astimezone(zone)


def _tag_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in name.upper()).strip("-")
    return TAG_PREFIX + cleaned


def fill_master(
    event: Event,
    spec: SeriesSpec,
    *,
    partstats: Mapping[str, str] | None = None,
) -> None:
    """Write the managed properties of ``spec`` into ``event``, replacing earlier values.

    ``partstats`` carries attendees' answers over an update that keeps the timing.
    """
    start = _spec_start(spec)
    rule = recurrence.normalize(spec.rrule)
    for name in (*MANAGED, *[n for n in event if n.upper().startswith(TAG_PREFIX)]):
        event.pop(name, None)
    event.add("DTSTART", start)
    event.add("DTEND", (start.astimezone(UTC) + spec.duration).astimezone(start.tzinfo))
    event.add("RRULE", vRecur.from_ical(rule))
    event.add("SUMMARY", spec.title)
    event.add("DESCRIPTION", spec.description_text)
    event.add("X-ALT-DESC", vText(spec.description_html), parameters={"FMTTYPE": "text/html"})
    organizer = spec.organizer.email.lower()
    event.add("ORGANIZER", _address(organizer, spec.organizer.name))
    for person in spec.attendees:
        email = person.email.lower()
        partstat = (partstats or {}).get(email, "NEEDS-ACTION")
        event.add(
            "ATTENDEE",
            _address(
                email,
                person.name,
                CUTYPE="INDIVIDUAL",
                ROLE="REQ-PARTICIPANT",
                PARTSTAT=partstat,
                RSVP="TRUE",
            ),
        )
    for name, value in spec.tags:
        event.add(_tag_name(name), vText(value))


def new_master(spec: SeriesSpec, *, stamp: datetime) -> Event:
    event = Event()
    event.add("UID", uid_for(spec.key))
    event.add("DTSTAMP", stamp.astimezone(UTC))
    event.add("CREATED", stamp.astimezone(UTC))
    event.add("LAST-MODIFIED", stamp.astimezone(UTC))
    event.add("SEQUENCE", 0)
    event.add("STATUS", "CONFIRMED")
    event.add("TRANSP", "OPAQUE")
    fill_master(event, spec)
    return event


def signature(event: Event) -> tuple[object, ...]:
    """What an update could change in a master, PARTSTATs aside; equal means nothing to do."""
    start = prop_time(event["DTSTART"], UTC, "DTSTART")
    rules = rules_of(event)
    attendees = sorted((email_of(a), param_of(a, "CN")) for a in prop_values(event, "ATTENDEE"))
    organizer = event.get("ORGANIZER")
    return (
        start.astimezone(UTC),
        zone_name(start.tzinfo or UTC),
        Recurring("sig", event, [], UTC).duration,
        recurrence.normalize(rules[0]) if rules else "",
        text_of(event, "SUMMARY"),
        text_of(event, "DESCRIPTION"),
        text_of(event, "X-ALT-DESC"),
        (email_of(organizer), param_of(organizer, "CN")) if organizer else None,
        tuple(attendees),
        tuple(
            sorted(
                (name.upper(), text_of(event, name))
                for name in event
                if name.upper().startswith(TAG_PREFIX)
            )
        ),
    )


def timing(event: Event) -> tuple[object, ...]:
    """The part of a master that, when changed, invalidates attendees' answers."""
    return signature(event)[:4]


def assemble(master: Event, overrides: Iterable[Event], keep: Iterable[Timezone] = ()) -> Calendar:
    """A stored series calendar: VTIMEZONEs for every TZID used, the master, its overrides.

    No METHOD: a stored calendar is not an iTIP message (``request`` adds METHOD:REQUEST).
    """
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    body = Calendar()
    body.add_component(master)
    items = sorted(
        overrides,
        key=lambda e: prop_time(e["RECURRENCE-ID"], UTC, "RECURRENCE-ID").astimezone(UTC),
    )
    for override in items:
        body.add_component(override)
    first = prop_time(master["DTSTART"], UTC, "DTSTART")
    starts = [first] + [
        prop_time(e["DTSTART"], UTC, "DTSTART") for e in items if e.get("DTSTART") is not None
    ]
    rules = rules_of(master)
    last: datetime | None = first
    if rules:
        last = recurrence.last_start(until_in_utc(rules[0], first.tzinfo or UTC), first)
    if last is not None:
        last = max([last, *starts])
    kept = {str(tz.get("TZID")): tz for tz in keep}
    for tzid in sorted(body.get_used_tzids()):
        if is_iana(tzid):
            calendar.add_component(vtimezone(tzid, min(starts), last))
        elif tzid in kept:  # a custom block a person's tool wrote: keep it as it was
            calendar.add_component(kept[tzid])
        elif resolve_zone(tzid) is not None:  # a Windows name without its block
            calendar.add_component(vtimezone(tzid, min(starts), last))
    for component in body.subcomponents:
        calendar.add_component(component)
    return calendar


def request(calendar: Calendar) -> Calendar:
    """The iTIP REQUEST (RFC 5546) for a stored calendar: the same content plus METHOD."""
    return itip(calendar, "REQUEST")


def itip(calendar: Calendar, method: str) -> Calendar:
    """The iTIP message (RFC 5546) for a stored calendar: its content plus METHOD (REQUEST, or
    CANCEL for a master whose STATUS is CANCELLED, with its UID, SEQUENCE and attendees)."""
    copy = Calendar.from_ical(calendar.to_ical())
    copy.pop("METHOD", None)
    copy.add("METHOD", method)
    return copy


def prune(series: SeriesFile, master: Event) -> tuple[Event, list[Event], bool]:
    """Keep the overrides and EXDATEs of ``series`` that the rule in ``master`` still produces.

    Returns the master (EXDATE rewritten), the kept overrides, and whether anything was dropped.
    """
    old = series.event
    master.pop("EXDATE", None)
    probe = Recurring(old.uid, master, [], old.zone)

    def on_day(day: date) -> bool:
        start = aware(day, probe.zone)
        return bool(probe.originals(start, start + timedelta(days=1)))

    kept_dates = [m for m in sorted(old.exdates) if probe.is_original(m)]
    kept_days = [d for d in sorted(old.exdate_days) if on_day(d)]
    if kept_dates:
        master.add("EXDATE", [m.astimezone(probe.zone) for m in kept_dates])
    if kept_days:
        master.add("EXDATE", kept_days)
    overrides = [e for m, e in old.overrides.items() if probe.is_original(m)]
    overrides += [e for d, e in old.override_days.items() if on_day(d)]
    dropped_exdates = len(kept_dates) + len(kept_days) < len(old.exdates) + len(old.exdate_days)
    dropped_overrides = len(overrides) < len(old.overrides) + len(old.override_days)
    dropped = dropped_exdates or dropped_overrides
    return master, overrides, dropped


def custom_timezones(calendar: Calendar) -> list[Timezone]:
    """The VTIMEZONE blocks of a stored file, kept on rewrite when no IANA zone replaces them."""
    return [tz for tz in calendar.walk("VTIMEZONE") if isinstance(tz, Timezone)]
