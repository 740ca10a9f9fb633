"""A series file (``calendars/<key>.ics``) read back: the contract's view of one calendar.

Why a module of its own: the file is the truth about a series (rmcal keeps no copy), so turning
it into a ``Series`` and its ``Occurrence``s, answers included, is the whole read side of the
local provider; the writer (``write``) and the provider's file I/O build on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from icalendar import Calendar, Event

from rmcal.provider import TAG_KEY, Occurrence, Response, Series

from .recurring import Instance, Recurring, group_events, parse_calendar
from .values import (
    UTC,
    IcsError,
    email_of,
    param_of,
    prop_values,
    reading,
    sequence_of,
    text_of,
    zone_name,
)

UID_DOMAIN = "rmcal"
TAG_PREFIX = "X-RMCAL-"
PARTSTAT_RESPONSES = {
    "ACCEPTED": Response.ACCEPTED,
    "TENTATIVE": Response.TENTATIVE,
    "DECLINED": Response.DECLINED,
    "NEEDS-ACTION": Response.NONE,
    "DELEGATED": Response.DELEGATED,
}


def uid_for(key: str) -> str:
    """The UID of a series file: deterministic, so creating a key twice finds the file."""
    return f"{key}@{UID_DOMAIN}"


def responses(event: Event, organizer: str) -> dict[str, Response]:
    """Each attendee's PARTSTAT in the platform-neutral vocabulary (organizer left out)."""
    out: dict[str, Response] = {}
    for attendee in prop_values(event, "ATTENDEE"):
        email = email_of(attendee)
        if not email or email == organizer:
            continue
        partstat = param_of(attendee, "PARTSTAT", "NEEDS-ACTION").upper()
        out[email] = PARTSTAT_RESPONSES.get(partstat, Response.NONE)
    return out


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
        return sequence_of(self.master)

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
        wanted = uid_for(stem)
        groups = [g for g in groups if g.uid == wanted] or groups
        if len(groups) > 1:
            uids = ", ".join(g.uid for g in groups)
            raise IcsError(f"holds several events ({uids}); a series file holds one UID")
    event = groups[0]
    if event.all_day:
        raise IcsError("the series is an all-day event; rmcal series have a start time")
    return SeriesFile(calendar, event)
