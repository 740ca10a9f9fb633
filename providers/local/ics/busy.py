"""Busy files (``busy/<email>.ics``): a person's exported calendar read as busy time.

Why a module of its own: these files come from any calendar app (Outlook, Google, Apple), with
recurring events, lone exceptions, VFREEBUSY blocks and all-day events, and only one question
is asked of them: when is this person busy? Pure: bytes in, intervals out.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from icalendar import Event

from rmcal.intervals import Interval

from .recurring import group_events, parse_calendar
from .values import UTC, aware, param_of, prop_values, reading, resolve_zone


@reading
def busy_intervals(data: bytes, start: datetime, end: datetime, zone: tzinfo) -> list[Interval]:
    """Busy time in an exported calendar over [start, end), clipped, unmerged.

    Recurring events are expanded (with their overrides and EXDATEs); TRANSP:TRANSPARENT and
    STATUS:CANCELLED events or occurrences are free. VFREEBUSY periods count unless FBTYPE=FREE.
    Floating and all-day times are read in the zone the file names (X-WR-TIMEZONE), else in
    ``zone``: the caller passes the zone of the person whose calendar it is, so that a Los
    Angeles day of leave is a Los Angeles day whatever the programme's zone. Custom TZIDs are
    read with the file's own VTIMEZONE blocks (``group_events``).

    One interval per event occurrence, not merged with its neighbours: a clash check can then
    tell the session itself from a meeting that merely touches it.
    """
    out: list[Interval] = []
    for calendar in parse_calendar(data, multiple=True):
        local = zone
        named = calendar.get("X-WR-TIMEZONE")
        if named is not None:
            local = resolve_zone(str(named)) or zone
        for event in group_events(calendar, local):
            for inst in event.overlapping(start, end):
                if inst.cancelled or transparent(inst.event):
                    continue
                out.append((max(inst.start, start), min(inst.end, end)))
        for block in calendar.walk("VFREEBUSY"):
            for prop in prop_values(block, "FREEBUSY"):
                if param_of(prop, "FBTYPE", "BUSY").upper() == "FREE":
                    continue
                for period in getattr(prop, "dts", []) or [prop]:
                    value = getattr(period, "dt", None)
                    if not isinstance(value, tuple):
                        continue
                    first = aware(value[0], local)
                    second = value[1]
                    last = first + second if isinstance(second, timedelta) else aware(second, local)
                    if first < end and last > start:
                        out.append((max(first, start), min(last, end)))
    return [(a.astimezone(UTC), b.astimezone(UTC)) for a, b in out if a < b]


def transparent(event: Event) -> bool:
    """TRANSP:TRANSPARENT: on the calendar, but free time (lunch, focus blocks people mark so)."""
    return str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT"
