"""One UID of a calendar: its master, its overrides and the occurrences they make.

Why a module of its own: series files and busy files both need the recurrence set of an event
as people and other tools leave it (overrides with RECURRENCE-ID, EXDATE, RDATE, STATUS,
floating and all-day times), and both must agree on it. Recurrence is expanded only by
``rmcal.recurrence.expand``, so that the slot finder, health and this reader agree on every
occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import TypeVar

from icalendar import Calendar, Component, Event

from rmcal import recurrence

from .values import (
    UTC,
    IcsError,
    aware,
    check_times,
    date_list,
    date_value,
    duration_value,
    events_of,
    prop_time,
    reading,
    revision,
    rules_of,
    until_in_utc,
)

_K = TypeVar("_K", date, datetime)


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


def _keep_newer(found: dict[_K, Event], key: _K, override: Event) -> None:
    """Two overrides for one occurrence: the newer one counts (``values.revision``: higher
    SEQUENCE, then later DTSTAMP); on a tie, the one later in the file, as before."""
    current = found.get(key)
    if current is None or revision(override) >= revision(current):
        found[key] = override


class Recurring:
    """One UID of a calendar: the master VEVENT and its overrides, with times resolved.

    A lone override (an export that holds only an exception) or a master without RRULE both
    work: the recurrence set is then the single DTSTART. Several overrides for one occurrence
    (a file merged from two exports, a calendar app that appended a new version) resolve to
    the newest, whatever their order in the file.
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
        overrides = list(overrides)
        for event in (base, *overrides):
            check_times(event)
        if base.get("DTSTART") is None:
            raise IcsError(f"event {uid!r} has no DTSTART")
        self.all_day = not isinstance(date_value(base["DTSTART"], "DTSTART"), datetime)
        self.first = prop_time(base["DTSTART"], zone, "DTSTART")
        self.zone: tzinfo = self.first.tzinfo or zone
        self.duration = self._duration(base)
        self.cancelled = str(base.get("STATUS", "")).upper() == "CANCELLED"
        rules = rules_of(base) if not self.master_is_override else []
        if len(rules) > 1:
            raise IcsError(f"event {uid!r} has {len(rules)} RRULEs; rmcal reads exactly one")
        self.rule: str | None = None
        if rules:
            text = rules[0]
            try:
                self.rule = recurrence.normalize(until_in_utc(text, self.zone))
                recurrence.expand(self.rule, self.first, before=self.first + timedelta(days=1))
            except (ValueError, TypeError) as exc:
                raise IcsError(f"event {uid!r}: RRULE {text!r} cannot be expanded: {exc}") from exc
        self.rdates, _ = date_list(base, "RDATE", self.zone)
        self.exdates, self.exdate_days = date_list(base, "EXDATE", self.zone)
        for override in overrides:
            rid = override.get("RECURRENCE-ID")
            if rid is None:
                continue
            if isinstance(date_value(rid, "RECURRENCE-ID"), datetime):
                moment = prop_time(rid, self.zone, "RECURRENCE-ID").astimezone(UTC)
                _keep_newer(self.overrides, moment, override)
            else:
                _keep_newer(self.override_days, date_value(rid, "RECURRENCE-ID"), override)

    def _duration(self, event: Event) -> timedelta:
        """DTEND - DTSTART (exact), or DURATION; RFC 5545 defaults when both are absent."""
        if event.get("DTEND") is not None:
            start = prop_time(event["DTSTART"], self.zone, "DTSTART")
            end = prop_time(event["DTEND"], self.zone, "DTEND")
            if self.all_day:
                return timedelta(days=(end.date() - start.date()).days)
            return end.astimezone(UTC) - start.astimezone(UTC)
        if event.get("DURATION") is not None:
            return duration_value(event["DURATION"])
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
                start = prop_time(override["DTSTART"], self.zone, "DTSTART")
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
            end = prop_time(override["DTEND"], zone, "DTEND")
            if not isinstance(date_value(override["DTEND"], "DTEND"), datetime):
                return timedelta(days=(end.date() - start.date()).days)
            return end.astimezone(UTC) - start.astimezone(UTC)
        return duration_value(override["DURATION"])

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
            midnight = aware(day, self.zone)
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
    for event in events_of(calendar):
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
