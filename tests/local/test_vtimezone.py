"""VTIMEZONE blocks with yearly rules, checked by an independent parser.

A client that does not know IANA names expands a series with the block in the file. The test
renames the zone in a written file to a name no library knows, so that ``icalendar`` and
``recurring_ical_events`` can only use rmcal's block, and checks that every occurrence keeps the
UTC offset the IANA rules give it, across DST changes and years past the old dated range.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from icalendar import Calendar

from providers.local.ics.vtimezone import vtimezone, yearly_rules
from rmcal import recurrence
from tests.local.helpers import created, provider, spec
from tests.zones import LONDON, NEW_YORK, SYDNEY, UTC

CASES = {
    # Weekly for two and a half years from London's winter: crosses six DST changes.
    "london_weekly_years": (datetime(2027, 1, 11, 9, 0), LONDON, "FREQ=WEEKLY;BYDAY=MO;COUNT=130"),
    # Southern hemisphere, every two weeks, open-ended (expanded over eight years).
    "sydney_open_ended": (datetime(2027, 3, 4, 17, 0), SYDNEY, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"),
    # Monthly on the last Sunday: lands on the changeover days themselves, after the change.
    "new_york_monthly": (datetime(2027, 1, 10, 15, 0), NEW_YORK, "FREQ=MONTHLY;BYDAY=2SU;COUNT=40"),
}
UNTIL = datetime(2035, 1, 1, tzinfo=UTC)


def without_iana_name(path: Path, zone: str, name: str) -> Calendar:
    """The written calendar with its zone renamed to one no library knows (icalendar caches a
    block by its TZID for the whole process, so each case needs a name of its own)."""
    text = path.read_bytes().decode().replace(zone, f"Rmcal Test/{name}")
    return Calendar.from_ical(text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_occurrence_keeps_its_utc_offset_in_an_independent_parser(
    tmp_path: Path, case: str
) -> None:
    wall, zone, rule = CASES[case]
    first = wall.replace(tzinfo=ZoneInfo(zone))
    p = provider(tmp_path)
    s = spec(start=first, zone=zone, rrule=rule)
    created(p, s)
    path = p.folder / "calendars" / f"{s.key}.ics"
    (block,) = Calendar.from_ical(path.read_bytes()).walk("VTIMEZONE")
    text = block.to_ical().decode()
    assert "RRULE:FREQ=YEARLY" in text and "RDATE" not in text and "only works" not in text

    calendar = without_iana_name(path, zone, case)
    events = recurring_ical_events.of(calendar).between(first - timedelta(days=1), UNTIL)
    expected = recurrence.expand(recurrence.normalize(rule), first, before=UNTIL)
    assert len(events) == len(expected) > 20
    for event, want in zip(sorted(events, key=lambda e: e["DTSTART"].dt), expected, strict=True):
        got = event["DTSTART"].dt
        assert str(got.tzinfo) != zone  # the parser used rmcal's block, not the IANA zone
        assert (got.replace(tzinfo=None), got.utcoffset()) == (
            want.replace(tzinfo=None),
            want.utcoffset(),
        ), want


def test_a_zone_without_one_yearly_pattern_keeps_dated_transitions() -> None:
    """Jerusalem changes on the Friday before the last Sunday of March: no BYDAY rule says
    that, so the block lists the dated changes, and still gives the right offsets."""
    zone = ZoneInfo("Asia/Jerusalem")
    assert yearly_rules(zone, 2026, 2029) is None
    block = vtimezone("Asia/Jerusalem", datetime(2027, 1, 10, 9, tzinfo=zone), None)
    assert "RRULE" not in block.to_ical().decode()
    own = block.to_tz()
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    while moment < datetime(2031, 12, 1, tzinfo=UTC):
        assert moment.astimezone(own).utcoffset() == moment.astimezone(zone).utcoffset(), moment
        moment += timedelta(hours=7)


def test_a_zone_without_dst_is_one_fixed_observance() -> None:
    zone = ZoneInfo("Asia/Kolkata")
    text = vtimezone("Asia/Kolkata", datetime(2027, 1, 10, 9, tzinfo=zone), None).to_ical()
    assert text.decode().count("BEGIN:STANDARD") == 1 and b"RRULE" not in text
    assert b"TZOFFSETTO:+0530" in text
