"""RFC 5545 calendars for the local provider: building series files and reading them back.

Why a module of its own: the local provider's files are edited by people and other tools
(declines, cancellations, moved sessions), so reading them must accept everything RFC 5545 allows
for those edits (overrides with RECURRENCE-ID, EXDATE, RDATE, STATUS, Windows or custom TZIDs,
floating and all-day times) while writing stays narrow and canonical. Everything here is pure:
bytes in, objects out; ``rmcal_providers.local`` does the file and mail I/O.

Recurrence is expanded only by ``rmcal.recurrence.expand``, so that the slot finder, health and
this reader agree on every occurrence.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Component, Event, Timezone, vCalAddress, vRecur, vText
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from rmcal import recurrence
from rmcal.provider import (
    TAG_KEY,
    Interval,
    Occurrence,
    Response,
    Series,
    SeriesSpec,
)

UTC = ZoneInfo("UTC")
PRODID = "-//rmcal//rmcal local provider//EN"
UID_DOMAIN = "rmcal"
TAG_PREFIX = "X-RMCAL-"
# How far past the last occurrence the generated VTIMEZONE reaches; unbounded series get
# UNBOUNDED_YEARS of transitions (clients that know the IANA name ignore the block anyway).
VTIMEZONE_MARGIN = timedelta(days=366)
_TEXT_ESCAPE = re.compile(r"\\([\\;,nN])")
UNBOUNDED_YEARS = 5

PARTSTAT_RESPONSES = {
    "ACCEPTED": Response.ACCEPTED,
    "TENTATIVE": Response.TENTATIVE,
    "DECLINED": Response.DECLINED,
    "NEEDS-ACTION": Response.NONE,
}
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


class IcsError(ValueError):
    """The calendar text cannot be read as rmcal needs it; the message says what is wrong."""


_T = TypeVar("_T")


def reading(func: Callable[..., _T]) -> Callable[..., _T]:
    """Turn whatever a damaged file makes the parser raise into an IcsError.

    icalendar parses properties lazily, so a broken DTEND surfaces as a ValueError (or worse)
    only when it is used; callers should see one kind of error that they can name a file in.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> _T:
        try:
            return func(*args, **kwargs)
        except IcsError:
            raise
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise IcsError(str(exc) or type(exc).__name__) from exc

    return wrapper


# --- time helpers -------------------------------------------------------------------------------


def zone_name(zone: tzinfo) -> str:
    """The IANA name of a zone (``UTC`` for any UTC), or its own name for a custom VTIMEZONE."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    if zone.utcoffset(datetime(2000, 1, 1)) == timedelta(0) and zone.tzname(None) in (
        "UTC",
        "Z",
        None,
    ):
        return "UTC"
    return str(zone.tzname(datetime(2000, 1, 1)) or "UTC")


def resolve_zone(name: str) -> ZoneInfo | None:
    """An IANA zone for a TZID, mapping Windows names (Outlook exports); None if unknown."""
    name = name.strip()
    candidates = [name, WINDOWS_TO_OLSON.get(name, "")]
    for candidate in candidates:
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return None


def _aware(value: date | datetime, zone: tzinfo) -> datetime:
    """A DATE is local midnight and a floating time is local time in ``zone`` (RFC 5545)."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), zone)
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value


def _prop_time(prop: object, zone: tzinfo, what: str) -> datetime:
    """The value of a DTSTART-like property as an aware datetime (see ``to_time``)."""
    value = getattr(prop, "dt", None)
    if not isinstance(value, date):
        raise IcsError(f"{what} has no date or date-time value")
    return to_time(value, getattr(prop, "params", None) or {}, zone, what)


def to_time(value: date, params: Mapping[str, str], zone: tzinfo, what: str) -> datetime:
    """A parsed time value as an aware datetime, in its IANA zone where one can be found.

    A custom VTIMEZONE with an IANA or Windows TZID is replaced by the IANA zone, so that
    expansion uses the real rules rather than a block that may cover only a few years.
    """
    tzid = params.get("TZID")
    if isinstance(value, datetime) and tzid:
        if value.tzinfo is None:
            iana = resolve_zone(tzid)
            if iana is None:
                raise IcsError(
                    f"{what}: TZID {tzid!r} is neither an IANA zone nor defined by a VTIMEZONE"
                )
            return value.replace(tzinfo=iana)
        if not isinstance(value.tzinfo, ZoneInfo):
            iana = resolve_zone(tzid)
            if iana is not None:
                return value.replace(tzinfo=iana)
    return _aware(value, zone)


def prop_values(event: Component, name: str) -> list[object]:
    """Every value of a property that may appear once or many times (EXDATE, ATTENDEE)."""
    raw = event.get(name)
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list) else [raw]


def _date_list(event: Component, name: str, zone: tzinfo) -> tuple[set[datetime], set[date]]:
    """EXDATE/RDATE values: instants (UTC) and, for DATE values, whole local days."""
    instants: set[datetime] = set()
    days: set[date] = set()
    for prop in prop_values(event, name):
        params: Mapping[str, str] = getattr(prop, "params", None) or {}
        for item in getattr(prop, "dts", []):
            value = item.dt
            if isinstance(value, tuple):  # an RDATE period: (start, end or duration)
                value = value[0]
            if isinstance(value, datetime):
                instants.add(to_time(value, params, zone, name).astimezone(UTC))
            elif isinstance(value, date):
                days.add(value)
    return instants, days


def until_in_utc(rule: str, zone: tzinfo) -> str:
    """The rule with a floating or DATE UNTIL rewritten in UTC, read in the series zone.

    Mirrors ``rmcal.recurrence.expand`` (a DATE UNTIL means the end of that local day) so that
    the rule reported in ``Series.rrule`` expands exactly like the file.
    """
    parts = recurrence.parse_parts(rule)
    value = parts.get("UNTIL")
    if value and not value.endswith("Z"):
        try:
            moment = (
                datetime.strptime(value, "%Y%m%d").replace(hour=23, minute=59, second=59)
                if len(value) == 8
                else datetime.strptime(value, "%Y%m%dT%H%M%S")
            )
        except ValueError as exc:
            raise IcsError(f"RRULE UNTIL={value} is not a date or date-time") from exc
        parts["UNTIL"] = recurrence.until_text(moment.replace(tzinfo=zone))
    return recurrence.join_parts(parts)


def email_of(address: object) -> str:
    """``mailto:Ann@Example.com`` -> ``ann@example.com``."""
    text = str(address).strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    return text.strip().lower()


def text_of(event: Component, name: str) -> str:
    """A TEXT property's value, unescaped (X- properties arrive raw from the parser)."""
    prop = event.get(name)
    if prop is None:
        return ""
    if isinstance(prop, list):
        prop = prop[0]
    if isinstance(prop, vText):
        return str(prop)
    # X- properties arrive as vUnknown with the escaped text: undo RFC 5545 TEXT escaping.
    raw = prop.to_ical()
    text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    return _TEXT_ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


# --- one UID: master, overrides, instances ------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    """One occurrence of a recurring event as the file says it is.

    ``original`` is the slot the recurrence gave it; ``start``/``end`` where it really is;
    ``event`` is the override VEVENT when there is one, else the master (for attendees, TRANSP).
    """

    original: datetime
    start: datetime
    end: datetime
    cancelled: bool
    event: Event


class Recurring:
    """One UID of a calendar: the master VEVENT and its overrides, with times resolved.

    A lone override (an export that holds only an exception) or a master without RRULE both
    work: the recurrence set is then the single DTSTART.
    """

    def __init__(
        self, uid: str, master: Event | None, overrides: Iterable[Event], zone: tzinfo
    ) -> None:
        self.uid = uid
        self.overrides: dict[datetime, Event] = {}
        self.override_days: dict[date, Event] = {}
        base = master
        if base is None:
            items = list(overrides)
            base, overrides = items[0], items[1:]
            self.master_is_override = True
        else:
            self.master_is_override = False
        self.master: Event = base
        if base.get("DTSTART") is None:
            raise IcsError(f"event {uid!r} has no DTSTART")
        start_value = base["DTSTART"].dt
        self.all_day = not isinstance(start_value, datetime)
        self.first = _prop_time(base["DTSTART"], zone, "DTSTART")
        self.zone: tzinfo = self.first.tzinfo or zone
        self.duration = self._duration(base)
        self.cancelled = str(base.get("STATUS", "")).upper() == "CANCELLED"
        rules = prop_values(base, "RRULE") if not self.master_is_override else []
        if len(rules) > 1:
            raise IcsError(f"event {uid!r} has {len(rules)} RRULEs; rmcal reads exactly one")
        self.rule: str | None = None
        if rules:
            text = rules[0].to_ical().decode("ascii")  # type: ignore[attr-defined]
            try:
                self.rule = recurrence.normalize(until_in_utc(text, self.zone))
                recurrence.expand(self.rule, self.first, before=self.first + timedelta(days=1))
            except (ValueError, TypeError) as exc:
                raise IcsError(f"event {uid!r}: RRULE {text!r} cannot be expanded: {exc}") from exc
        self.rdates, _ = _date_list(base, "RDATE", self.zone)
        self.exdates, self.exdate_days = _date_list(base, "EXDATE", self.zone)
        for override in overrides:
            rid = override.get("RECURRENCE-ID")
            if rid is None:
                continue
            if isinstance(rid.dt, datetime):
                moment = _prop_time(rid, self.zone, "RECURRENCE-ID").astimezone(UTC)
                self.overrides[moment] = override
            else:
                self.override_days[rid.dt] = override

    def _duration(self, event: Event) -> timedelta:
        """DTEND - DTSTART (exact), or DURATION; RFC 5545 defaults when both are absent."""
        if event.get("DTEND") is not None:
            start = _prop_time(event["DTSTART"], self.zone, "DTSTART")
            end = _prop_time(event["DTEND"], self.zone, "DTEND")
            if self.all_day:
                return timedelta(days=(end.date() - start.date()).days)
            return end.astimezone(UTC) - start.astimezone(UTC)
        if event.get("DURATION") is not None:
            return event["DURATION"].dt  # type: ignore[no-any-return]
        return timedelta(days=1) if self.all_day else timedelta(0)

    # The recurrence set ---------------------------------------------------------------------

    def originals(self, after: datetime | None, before: datetime) -> list[datetime]:
        """Original starts in [after, before), rule and RDATE together, sorted."""
        if self.rule is None:
            found = [self.first]
        else:
            found = recurrence.expand(self.rule, self.first, after=after, before=before)
            found.append(self.first)  # DTSTART always counts, even off-rule (RFC 5545)
        found += [moment.astimezone(self.zone) for moment in self.rdates]
        keyed = {
            moment.astimezone(UTC): moment
            for moment in found
            if (after is None or moment >= after) and moment < before
        }
        return [keyed[k] for k in sorted(keyed)]

    def is_original(self, moment: datetime) -> bool:
        """Whether ``moment`` is a start the recurrence set gives (an override must match one)."""
        return any(
            found.astimezone(UTC) == moment.astimezone(UTC)
            for found in self.originals(moment, moment + timedelta(seconds=1))
        )

    def override_for(self, original: datetime) -> Event | None:
        found = self.overrides.get(original.astimezone(UTC))
        if found is None:
            found = self.override_days.get(original.astimezone(self.zone).date())
        return found

    def is_excluded(self, original: datetime) -> bool:
        return (
            original.astimezone(UTC) in self.exdates
            or original.astimezone(self.zone).date() in self.exdate_days
        )

    def instance(self, original: datetime) -> Instance:
        """The occurrence for one original start, with its override and EXDATE applied."""
        override = self.override_for(original)
        event = override if override is not None else self.master
        cancelled = self.cancelled or self.is_excluded(original)
        start = original
        duration = self.duration
        if override is not None:
            cancelled = cancelled or str(override.get("STATUS", "")).upper() == "CANCELLED"
            if override.get("DTSTART") is not None:
                start = _prop_time(override["DTSTART"], self.zone, "DTSTART")
            if override.get("DTEND") is not None or override.get("DURATION") is not None:
                # An override without DTEND/DURATION keeps the series length: people who move
                # a session by hand often change DTSTART only.
                duration = Recurring._override_duration(override, start, self.zone)
        if self.all_day:
            wall = start.replace(tzinfo=None) + duration
            end = wall.replace(tzinfo=start.tzinfo)
        else:
            end = (start.astimezone(UTC) + duration).astimezone(start.tzinfo)
        return Instance(original, start, end, cancelled, event)

    @staticmethod
    def _override_duration(override: Event, start: datetime, zone: tzinfo) -> timedelta:
        if override.get("DTEND") is not None:
            end = _prop_time(override["DTEND"], zone, "DTEND")
            if not isinstance(override["DTEND"].dt, datetime):
                return timedelta(days=(end.date() - start.date()).days)
            return end.astimezone(UTC) - start.astimezone(UTC)
        return override["DURATION"].dt  # type: ignore[no-any-return]

    @reading
    def instances(self, after: datetime, before: datetime) -> list[Instance]:
        """Every occurrence whose original start lies in [after, before)."""
        return [self.instance(original) for original in self.originals(after, before)]

    @reading
    def overlapping(self, after: datetime, before: datetime) -> list[Instance]:
        """Every occurrence whose actual time overlaps [after, before), moved ones included."""
        reach = max(self.duration, timedelta(days=1))
        found: dict[datetime, Instance] = {}
        for inst in self.instances(after - reach, before):
            found[inst.original.astimezone(UTC)] = inst
        for rid, _override in list(self.overrides.items()):
            if rid not in found and self.is_original(rid):
                found[rid] = self.instance(rid.astimezone(self.zone))
        for day in self.override_days:
            midnight = _aware(day, self.zone)
            for original in self.originals(midnight, midnight + timedelta(days=1)):
                found.setdefault(original.astimezone(UTC), self.instance(original))
        return sorted(
            (inst for inst in found.values() if inst.start < before and inst.end > after),
            key=lambda inst: inst.start,
        )


def group_events(calendar: Component, zone: tzinfo) -> list[Recurring]:
    """The calendar's VEVENTs grouped by UID into masters with their overrides."""
    masters: dict[str, Event] = {}
    overrides: dict[str, list[Event]] = {}
    order: dict[str, None] = {}  # first-seen order, without a quadratic membership test
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID", "")).strip()
        if not uid:
            raise IcsError("a VEVENT has no UID")
        order.setdefault(uid)
        if event.get("RECURRENCE-ID") is None:
            if uid in masters:
                raise IcsError(f"UID {uid!r} has two events without RECURRENCE-ID")
            masters[uid] = event
        else:
            overrides.setdefault(uid, []).append(event)
    out: list[Recurring] = []
    for uid in order:
        if uid in masters:
            out.append(Recurring(uid, masters[uid], overrides.get(uid, []), zone))
        else:
            # Exceptions without their master (an export that only holds the instances one was
            # invited to): each is an event of its own.
            out += [Recurring(uid, None, [item], zone) for item in overrides[uid]]
    return out


def responses(event: Event, organizer: str) -> dict[str, Response]:
    """Each attendee's PARTSTAT in the platform-neutral vocabulary (organizer left out)."""
    out: dict[str, Response] = {}
    for attendee in prop_values(event, "ATTENDEE"):
        email = email_of(attendee)
        if not email or email == organizer:
            continue
        params: Mapping[str, str] = getattr(attendee, "params", {}) or {}
        partstat = str(params.get("PARTSTAT", "NEEDS-ACTION")).upper()
        out[email] = PARTSTAT_RESPONSES.get(partstat, Response.NONE)
    return out


def parse_calendar(data: bytes, *, multiple: bool = False) -> list[Calendar]:
    """Parse ICS bytes, turning every parser complaint into an IcsError."""
    try:
        if multiple:
            found = Calendar.from_ical(data, multiple=True)
            calendars = list(found)
        else:
            calendars = [Calendar.from_ical(data)]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise IcsError(f"not an iCalendar file: {exc}") from exc
    for calendar in calendars:
        if calendar.name != "VCALENDAR":
            raise IcsError(f"top-level component is {calendar.name}, not VCALENDAR")
    return calendars


# --- a series file ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesFile:
    """A parsed ``calendars/<key>.ics``: the calendar plus its one recurring event."""

    calendar: Calendar
    event: Recurring

    @property
    def master(self) -> Event:
        return self.event.master

    @property
    def sequence(self) -> int:
        try:
            return int(self.master.get("SEQUENCE", 0))
        except (TypeError, ValueError):
            return 0

    @property
    def organizer(self) -> str:
        value = self.master.get("ORGANIZER")
        return email_of(value) if value is not None else ""

    @property
    def tags(self) -> dict[str, str]:
        """``X-RMCAL-COHORT:c1`` -> ``{"cohort": "c1"}``, every X-RMCAL-* property."""
        out: dict[str, str] = {}
        for name in self.master:
            if name.upper().startswith(TAG_PREFIX):
                out[name[len(TAG_PREFIX) :].lower()] = text_of(self.master, name)
        return out

    @property
    def key(self) -> str:
        found = self.tags.get(TAG_KEY)
        if found:
            return found
        return self.event.uid.split("@", 1)[0]

    @property
    def rule(self) -> str:
        """The series rule; a master without RRULE is a series of one."""
        return self.event.rule or "FREQ=DAILY;COUNT=1"

    def attendees(self) -> tuple[str, ...]:
        organizer = self.organizer
        seen: list[str] = []
        for attendee in prop_values(self.master, "ATTENDEE"):
            email = email_of(attendee)
            if email and email != organizer and email not in seen:
                seen.append(email)
        return tuple(seen)

    def to_series(self, path: str) -> Series:
        """The contract's view of this file (rule normalised, UNTIL in UTC)."""
        first = self.event.first
        return Series(
            key=self.key,
            provider_id=self.event.uid,
            title=text_of(self.master, "SUMMARY"),
            start=first,
            duration=self.event.duration,
            timezone=zone_name(self.event.zone),
            rrule=self.rule,
            attendees=self.attendees(),
            tags=self.tags,
            organizer=self.organizer,
            video_url=None,
            cancelled=self.event.cancelled,
            extra={"path": path, "sequence": self.sequence, "uid": self.event.uid},
        )

    def answers(self, inst: Instance) -> dict[str, Response]:
        """Who answered what for one occurrence: the override's PARTSTATs over the master's.

        An attendee an override does not list keeps the master's answer, so that a hand-written
        override that only says ``DECLINED`` for one person leaves the other as they were.
        """
        found = responses(self.master, self.organizer)
        if inst.event is not self.master:
            found.update(responses(inst.event, self.organizer))
        return found

    @reading
    def occurrences(self, start: datetime, end: datetime) -> list[Occurrence]:
        """Occurrences with original start in [start, end), cancelled ones included."""
        out: list[Occurrence] = []
        for inst in self.event.instances(start, end):
            answers = self.answers(inst)
            out.append(
                Occurrence(
                    series_key=self.key,
                    original_start=inst.original.astimezone(UTC),
                    start=inst.start.astimezone(self.event.zone),
                    end=inst.end.astimezone(self.event.zone),
                    cancelled=inst.cancelled,
                    responses=answers,
                )
            )
        return out


@reading
def read_series(data: bytes, *, stem: str, zone: tzinfo) -> SeriesFile:
    """Parse a series file; ``stem`` (the file name) picks the event when a file holds several.

    ``zone`` reads floating times (a hand-written file without TZID).
    """
    (calendar,) = parse_calendar(data)
    groups = group_events(calendar, zone)
    if not groups:
        raise IcsError("holds no VEVENT")
    orphans = sorted({g.uid for g in groups if g.master_is_override})
    if orphans:
        raise IcsError(f"event {orphans[0]!r} has overrides but no master VEVENT")
    if len(groups) > 1:
        wanted = f"{stem}@{UID_DOMAIN}"
        groups = [g for g in groups if g.uid == wanted] or groups
        if len(groups) > 1:
            uids = ", ".join(g.uid for g in groups)
            raise IcsError(f"holds several events ({uids}); a series file holds one UID")
    event = groups[0]
    if event.all_day:
        raise IcsError("the series is an all-day event; rmcal series have a start time")
    return SeriesFile(calendar, event)


# --- building -----------------------------------------------------------------------------------


def uid_for(key: str) -> str:
    return f"{key}@{UID_DOMAIN}"


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = " ".join(name.split())
    for param, value in params.items():
        address.params[param.replace("_", "-")] = value
    return address


def is_iana(tzid: str) -> bool:
    """Whether ``tzid`` is itself an IANA name (not merely mappable from a Windows name)."""
    try:
        ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def vtimezone(tzid: str, first: datetime, last: datetime | None) -> Timezone:
    """A VTIMEZONE covering the series, for clients that do not know IANA names.

    ``tzid`` may be a Windows name (kept as the block's TZID, rules of the IANA zone it maps to).
    """
    zone = resolve_zone(tzid)
    if zone is None:
        raise ValueError(f"{tzid!r} is not a known time zone")
    start_day = first.date() - timedelta(days=1)
    end_day = (
        (last + VTIMEZONE_MARGIN).date()
        if last is not None
        else first.date().replace(year=first.year + UNBOUNDED_YEARS)
    )
    # Month-aligned spans let a cohort's series share one generated block (it is slow to make).
    start_month = start_day.replace(day=1)
    end_month = (end_day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return Timezone.from_ical(_vtimezone_bytes(tzid, start_month, end_month))


@functools.lru_cache(maxsize=256)
def _vtimezone_bytes(tzid: str, first_day: date, last_day: date) -> bytes:
    zone = resolve_zone(tzid)
    block = Timezone.from_tzinfo(zone, tzid=tzid, first_date=first_day, last_date=last_day)
    return block.to_ical()


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
    start = _prop_time(event["DTSTART"], UTC, "DTSTART")
    rules = prop_values(event, "RRULE")
    attendees = sorted(
        (email_of(a), str(getattr(a, "params", {}).get("CN", "")))
        for a in prop_values(event, "ATTENDEE")
    )
    organizer = event.get("ORGANIZER")
    return (
        start.astimezone(UTC),
        zone_name(start.tzinfo or UTC),
        Recurring("sig", event, [], UTC).duration,
        recurrence.normalize(rules[0].to_ical().decode()) if rules else "",  # type: ignore[attr-defined]
        text_of(event, "SUMMARY"),
        text_of(event, "DESCRIPTION"),
        text_of(event, "X-ALT-DESC"),
        (email_of(organizer), str(organizer.params.get("CN", ""))) if organizer else None,
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
        key=lambda e: _prop_time(e["RECURRENCE-ID"], UTC, "RECURRENCE-ID").astimezone(UTC),
    )
    for override in items:
        body.add_component(override)
    first = _prop_time(master["DTSTART"], UTC, "DTSTART")
    starts = [first] + [
        _prop_time(e["DTSTART"], UTC, "DTSTART") for e in items if e.get("DTSTART") is not None
    ]
    rules = prop_values(master, "RRULE")
    last: datetime | None = first
    if rules:
        text = rules[0].to_ical().decode()  # type: ignore[attr-defined]
        last = recurrence.last_start(until_in_utc(text, first.tzinfo or UTC), first)
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
    copy = Calendar.from_ical(calendar.to_ical())
    copy.pop("METHOD", None)
    copy.add("METHOD", "REQUEST")
    return copy


def prune(series: SeriesFile, master: Event) -> tuple[Event, list[Event], bool]:
    """Keep the overrides and EXDATEs of ``series`` that the rule in ``master`` still produces.

    Returns the master (EXDATE rewritten), the kept overrides, and whether anything was dropped.
    """
    old = series.event
    master.pop("EXDATE", None)
    probe = Recurring(old.uid, master, [], old.zone)

    def on_day(day: date) -> bool:
        start = _aware(day, probe.zone)
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
    return [tz for tz in calendar.walk("VTIMEZONE") if isinstance(tz, Timezone)]


# --- free/busy ----------------------------------------------------------------------------------


@reading
def busy_intervals(data: bytes, start: datetime, end: datetime, zone: tzinfo) -> list[Interval]:
    """Busy time in an exported calendar over [start, end), clipped, unmerged.

    Recurring events are expanded (with their overrides and EXDATEs); TRANSP:TRANSPARENT and
    STATUS:CANCELLED events or occurrences are free. VFREEBUSY periods count unless FBTYPE=FREE.
    ``zone`` reads floating and all-day times when the file does not name one (X-WR-TIMEZONE).
    """
    out: list[Interval] = []
    for calendar in parse_calendar(data, multiple=True):
        local = zone
        named = calendar.get("X-WR-TIMEZONE")
        if named is not None:
            local = resolve_zone(str(named)) or zone
        for event in group_events(calendar, local):
            for inst in event.overlapping(start, end):
                if inst.cancelled or _transparent(inst.event):
                    continue
                out.append((max(inst.start, start), min(inst.end, end)))
        for block in calendar.walk("VFREEBUSY"):
            for prop in prop_values(block, "FREEBUSY"):
                params: Mapping[str, str] = getattr(prop, "params", {}) or {}
                if str(params.get("FBTYPE", "BUSY")).upper() == "FREE":
                    continue
                for period in getattr(prop, "dts", []) or [prop]:
                    value = getattr(period, "dt", None)
                    if not isinstance(value, tuple):
                        continue
                    first = _aware(value[0], local)
                    second = value[1]
                    last = (
                        first + second if isinstance(second, timedelta) else _aware(second, local)
                    )
                    if first < end and last > start:
                        out.append((max(first, start), min(last, end)))
    return [(a.astimezone(UTC), b.astimezone(UTC)) for a, b in out if a < b]


def _transparent(event: Event) -> bool:
    return str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT"
