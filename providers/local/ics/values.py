"""Property values as the codec reads them: times in their zones, addresses, text, rules.

Why a module of its own: icalendar types a property as a union of some thirty value classes and
parses lazily, so every reader needs the same narrowing (is this a date? a rule? an address?)
and the same translation of whatever a damaged file raises into one ``IcsError``. Written once
here, the readers (series files, busy files, the scripted edits) stay about calendars.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import ParamSpec, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Component, Event, vRecur, vText
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from rmcal import recurrence

UTC = ZoneInfo("UTC")
_TEXT_ESCAPE = re.compile(r"\\([\\;,nN])")


class IcsError(ValueError):
    """The calendar text cannot be read as rmcal needs it; the message says what is wrong."""


_P = ParamSpec("_P")
_T = TypeVar("_T")


def reading(func: Callable[_P, _T]) -> Callable[_P, _T]:
    """Turn whatever a damaged file makes the parser raise into an IcsError.

    icalendar parses properties lazily, so a broken DTEND surfaces as a ValueError (or worse)
    only when it is used; callers should see one kind of error that they can name a file in.
    """

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return func(*args, **kwargs)
        except IcsError:
            raise
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise IcsError(str(exc) or type(exc).__name__) from exc

    return wrapper


# Properties that decide when an occurrence is. A broken one must stop the read, never be
# skipped: icalendar 6 drops it and icalendar 7 keeps it as ``vBroken``, and both record it in
# the component's ``errors``, so that is where the codec looks.
TIME_PROPERTIES = frozenset(
    {"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}
)


def check_times(component: Component) -> None:
    """Raise IcsError for a time property the parser could not read (named, with why)."""
    for name, message in getattr(component, "errors", None) or []:
        if str(name).upper() in TIME_PROPERTIES:
            raise IcsError(f"{name}: {message}")


# --- zones and times ----------------------------------------------------------------------------


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


def aware(value: date | datetime, zone: tzinfo) -> datetime:
    """A DATE is local midnight and a floating time is local time in ``zone`` (RFC 5545)."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), zone)
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value


def date_value(prop: object, what: str) -> date:
    """The date or date-time a DTSTART-like property holds (a ``datetime`` is a ``date`` too)."""
    value = getattr(prop, "dt", None)
    if not isinstance(value, date):
        raise IcsError(f"{what} has no date or date-time value")
    return value


def sequence_of(event: Component, default: int = 0) -> int:
    """The event's SEQUENCE (RFC 5545 3.8.7.4); ``default`` when absent or not a number."""
    try:
        return int(str(event.get("SEQUENCE", default)))
    except ValueError:
        return default


_NO_STAMP = datetime.min.replace(tzinfo=UTC)


def revision(event: Component) -> tuple[int, datetime]:
    """How recent one version of an event is: a higher SEQUENCE is newer and, within the same
    SEQUENCE, the later DTSTAMP (RFC 5545 3.8.7.4 and 3.8.7.2); no DTSTAMP is the oldest."""
    stamp = event.get("DTSTAMP")
    moment = _NO_STAMP if stamp is None else prop_time(stamp, UTC, "DTSTAMP").astimezone(UTC)
    return sequence_of(event), moment


def prop_time(prop: object, zone: tzinfo, what: str) -> datetime:
    """The value of a DTSTART-like property as an aware datetime (see ``to_time``)."""
    return to_time(date_value(prop, what), params_of(prop), zone, what)


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
    return aware(value, zone)


def duration_value(prop: object, what: str = "DURATION") -> timedelta:
    """The length a DURATION property holds."""
    value = getattr(prop, "dt", None)
    if not isinstance(value, timedelta):
        raise IcsError(f"{what} is not a duration")
    return value


def date_list(event: Component, name: str, zone: tzinfo) -> tuple[set[datetime], set[date]]:
    """EXDATE/RDATE values: instants (UTC) and, for DATE values, whole local days."""
    instants: set[datetime] = set()
    days: set[date] = set()
    for prop in prop_values(event, name):
        params = params_of(prop)
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


# --- properties ---------------------------------------------------------------------------------


def prop_values(event: Component, name: str) -> list[object]:
    """Every value of a property that may appear once or many times (EXDATE, ATTENDEE)."""
    raw = event.get(name)
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list) else [raw]


def events_of(component: Component) -> list[Event]:
    """Every VEVENT below ``component`` (the parser makes each one an ``Event``)."""
    return [event for event in component.walk("VEVENT") if isinstance(event, Event)]


def params_of(prop: object) -> Mapping[str, str]:
    """A property's parameters (TZID, CN, PARTSTAT, FBTYPE); none for a bare value."""
    params = getattr(prop, "params", None)
    return params if isinstance(params, Mapping) else {}


def param_of(prop: object, name: str, default: str = "") -> str:
    """One parameter of a property as text (``CN``, ``PARTSTAT``)."""
    return str(params_of(prop).get(name, default))


def rule_text(prop: object) -> str:
    """An RRULE property as RFC 5545 text (``FREQ=WEEKLY;BYDAY=WE``)."""
    if not isinstance(prop, vRecur):
        raise IcsError(f"RRULE {prop!r} is not a recurrence rule")
    return prop.to_ical().decode("ascii")


def rules_of(event: Component) -> list[str]:
    """Every RRULE of an event as text (rmcal reads exactly one; a file may hold more)."""
    return [rule_text(prop) for prop in prop_values(event, "RRULE")]


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
