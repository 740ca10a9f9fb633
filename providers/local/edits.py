"""People's edits to a series file, scripted: decline, cancel or move one session.

Why a module of its own: ``rmcal demo`` and the session-loop tests need the calendar to change
the way it does when people use their calendar apps, between runs and behind rmcal's back. These
functions write exactly what those apps save (an override VEVENT with RECURRENCE-ID, an EXDATE,
STATUS:CANCELLED), with no SEQUENCE bump and no invitation, so that what rmcal reads back is
what it would read from a real person. Pure: they change a parsed calendar in place; the
provider reads and writes the file (``EditableCalendar`` in ``rmcal.provider``).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from icalendar import Calendar, Event, vCalAddress

from rmcal.provider import Cancellation
from rmcal.recurrence import expand

from .ics.values import date_value, email_of, events_of, prop_values, revision, rules_of


def _master(calendar: Calendar) -> Event:
    for event in events_of(calendar):
        if event.get("RECURRENCE-ID") is None:
            return event
    raise ValueError("no master VEVENT in the file")


def _moment(event: Event, name: str) -> datetime:
    """A DTSTART/DTEND with a time of day (series rmcal writes always have one)."""
    value = date_value(event[name], name)
    if not isinstance(value, datetime):
        raise ValueError(f"{name} is a date without a time; sessions have a start time")
    return value


def session_start(calendar: Calendar, number: int, *, name: str) -> datetime:
    """The original start of session ``number`` (1-based) of the series in file ``name``."""
    master = _master(calendar)
    rules = rules_of(master)
    if not rules:
        raise ValueError(f"{name} holds no RRULE")
    starts = expand(rules[0], _moment(master, "DTSTART"))
    if not 1 <= number <= len(starts):
        raise ValueError(f"{name} has {len(starts)} sessions, not {number}")
    return starts[number - 1]


def occurrence_override(calendar: Calendar, original: datetime) -> Event:
    """The override VEVENT for one occurrence; a copy of the master (as calendar apps write
    it) when there is none yet."""
    master = _master(calendar)
    found = [
        event
        for event in events_of(calendar)
        if (rid := event.get("RECURRENCE-ID")) is not None
        and date_value(rid, "RECURRENCE-ID") == original
    ]
    if found:
        return max(reversed(found), key=revision)  # the one readers count: the newest
    event = copy.deepcopy(master)
    duration = _moment(master, "DTEND") - _moment(master, "DTSTART")
    for prop in ("RRULE", "EXDATE", "RDATE", "DTSTART", "DTEND"):
        event.pop(prop, None)
    event.add("RECURRENCE-ID", original)
    event.add("DTSTART", original)
    event.add("DTEND", original + duration)
    calendar.add_component(event)
    return event


def decline(calendar: Calendar, *, number: int, email: str, name: str) -> datetime:
    """``email`` declines one occurrence: an override whose ATTENDEE says PARTSTAT=DECLINED."""
    original = session_start(calendar, number, name=name)
    event = occurrence_override(calendar, original)
    found = False
    for attendee in prop_values(event, "ATTENDEE"):
        if isinstance(attendee, vCalAddress) and email_of(attendee) == email.lower():
            attendee.params["PARTSTAT"] = "DECLINED"
            found = True
    if not found:
        raise ValueError(f"{email} is not invited to {name}")
    return original


def cancel(calendar: Calendar, *, number: int, how: Cancellation, name: str) -> datetime:
    """The organizer cancels one occurrence: ``exdate`` on the master, or an override with
    ``STATUS:CANCELLED`` (what Outlook and Google write)."""
    original = session_start(calendar, number, name=name)
    if how == "exdate":
        _master(calendar).add("EXDATE", original)
    elif how == "status":
        event = occurrence_override(calendar, original)
        event.pop("STATUS", None)
        event.add("STATUS", "CANCELLED")
    else:
        raise ValueError(f"cancel how={how!r}: use 'exdate' or 'status'")
    return original


def move(calendar: Calendar, *, number: int, by: timedelta, name: str) -> tuple[datetime, datetime]:
    """Someone drags one occurrence to another time: an override with a new DTSTART/DTEND."""
    original = session_start(calendar, number, name=name)
    event = occurrence_override(calendar, original)
    duration = _moment(event, "DTEND") - _moment(event, "DTSTART")
    for prop in ("DTSTART", "DTEND"):
        event.pop(prop)
    event.add("DTSTART", original + by)
    event.add("DTEND", original + by + duration)
    return original, original + by
