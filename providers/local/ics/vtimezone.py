"""VTIMEZONE blocks for series files, generated from the IANA rules.

Why a module of its own: clients that do not know IANA names (older Outlook, some phones) need
the zone's transitions in the file, and generating them is slow, so blocks are month-aligned
and cached: a cohort's series in one zone share one generated block.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Timezone

from .values import resolve_zone

# How far past the last occurrence the generated VTIMEZONE reaches; unbounded series get
# UNBOUNDED_YEARS of transitions (clients that know the IANA name ignore the block anyway).
VTIMEZONE_MARGIN = timedelta(days=366)
UNBOUNDED_YEARS = 5


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
    block = Timezone.from_ical(_vtimezone_bytes(tzid, start_month, end_month))
    if not isinstance(block, Timezone):
        raise ValueError(f"{tzid!r}: the generated VTIMEZONE does not read back")
    return block


@functools.lru_cache(maxsize=256)
def _vtimezone_bytes(tzid: str, first_day: date, last_day: date) -> bytes:
    zone = resolve_zone(tzid)
    if zone is None:
        raise ValueError(f"{tzid!r} is not a known time zone")
    block = Timezone.from_tzinfo(zone, tzid=tzid, first_date=first_day, last_date=last_day)
    return block.to_ical()
