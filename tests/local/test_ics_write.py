"""Series files as the codec writes them, checked against an independent implementation.

``icalendar`` parses and ``recurring_ical_events`` expands what rmcal wrote, so that rmcal's own
expansion is never its only witness; the DST cases cover both hemispheres and half-hour zones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from rmcal import recurrence
from tests.local.helpers import (
    WIDE,
    created,
    london,
    oracle_starts,
    provider,
    spec,
)
from tests.zones import KOLKATA, LONDON, NEW_YORK, SYDNEY, UTC, tz

DST_CASES = {
    # London weekly 14:00 from 12 March: New York moves on 9 March, London on 30 March, so for
    # three weeks the New York participant sees the session an hour earlier; Kolkata (no DST,
    # +05:30) sees it move from 19:30 to 18:30.
    "london_newyork_kolkata": (london(2025, 3, 12, 14, 0), LONDON, "FREQ=WEEKLY;BYDAY=WE;COUNT=8"),
    # Southern hemisphere: Sydney leaves DST on 6 April and enters it on 5 October.
    "sydney_autumn": (
        datetime(2025, 3, 20, 9, 30, tzinfo=tz(SYDNEY)),
        SYDNEY,
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;COUNT=8",
    ),
    "sydney_spring_until": (
        datetime(2025, 9, 1, 17, 0, tzinfo=tz(SYDNEY)),
        SYDNEY,
        "FREQ=WEEKLY;BYDAY=MO;UNTIL=20251103T000000Z",
    ),
    "london_monthly_last_wednesday": (
        london(2025, 9, 24, 8, 0),
        LONDON,
        "FREQ=MONTHLY;BYDAY=-1WE;COUNT=6",
    ),
    "kolkata_half_hour": (
        datetime(2025, 10, 20, 18, 30, tzinfo=tz(KOLKATA)),
        KOLKATA,
        "FREQ=WEEKLY;BYDAY=MO;COUNT=4",
    ),
}


@pytest.mark.parametrize("case", sorted(DST_CASES))
def test_generated_ics_expands_the_same_in_an_independent_implementation(
    tmp_path: Path, case: str
) -> None:
    first, zone, rule = DST_CASES[case]
    p = provider(tmp_path)
    s = spec(start=first, zone=zone, rrule=rule)
    series = created(p, s)
    path = p.folder / "calendars" / f"{s.key}.ics"

    expected = recurrence.expand(recurrence.normalize(rule), first)
    assert oracle_starts(path) == [m.astimezone(UTC) for m in expected]
    got = p.occurrences([series], *WIDE)[s.key]
    assert [o.original_start for o in got] == [m.astimezone(UTC) for m in expected]
    assert [o.start for o in got] == expected
    assert all(o.end - o.start == timedelta(minutes=45) for o in got)
    # The wall-clock time holds in the series zone, whatever DST does.
    assert {(o.start.hour, o.start.minute) for o in got} == {(first.hour, first.minute)}
    assert series.rrule == recurrence.normalize(rule)
    assert series.timezone == zone and series.start == first

    calendar = Calendar.from_ical(path.read_bytes())
    assert calendar.get("METHOD") is None
    assert [str(t["TZID"]) for t in calendar.walk("VTIMEZONE")] == [zone]
    (event,) = calendar.walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == zone
    assert str(event["UID"]) == f"{s.key}@rmcal"


def test_participants_elsewhere_see_the_dst_gap(tmp_path: Path) -> None:
    first, zone, rule = DST_CASES["london_newyork_kolkata"]
    p = provider(tmp_path)
    series = created(p, spec(start=first, zone=zone, rrule=rule))
    got = p.occurrences([series], *WIDE)[series.key]
    in_new_york = [o.start.astimezone(tz(NEW_YORK)).hour for o in got]
    in_kolkata = [o.start.astimezone(tz(KOLKATA)).strftime("%H:%M") for o in got]
    assert in_new_york == [10, 10, 10, 9, 9, 9, 9, 9]
    assert in_kolkata == ["19:30", "19:30", "19:30", "18:30", "18:30", "18:30", "18:30", "18:30"]


def test_stored_file_is_folded_and_carries_every_property(tmp_path: Path) -> None:
    p = provider(tmp_path)
    long_title = "Reverse mentoring — " + "a title long enough to need folding " * 3
    s = spec(start=london(2025, 3, 19, 14, 0), title=long_title)
    created(p, s)
    raw = (p.folder / "calendars" / f"{s.key}.ics").read_bytes()
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    assert b"\r\n " in raw  # folded continuation lines
    text = raw.replace(b"\r\n ", b"").decode()
    for needle in (
        "PRODID:-//rmcal//",
        "VERSION:2.0",
        "BEGIN:VTIMEZONE",
        "DTSTART;TZID=Europe/London:20250319T140000",
        "DTEND;TZID=Europe/London:20250319T144500",
        "RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=WE;WKST=MO",
        'ORGANIZER;CN="Reverse Mentoring Programme":mailto:programme@example.com',
        "PARTSTAT=NEEDS-ACTION",
        "ROLE=REQ-PARTICIPANT",
        "RSVP=TRUE:mailto:ann@example.com",
        "SEQUENCE:0",
        "X-ALT-DESC;FMTTYPE=text/html:<p>Ann teaches",
        f"X-RMCAL-KEY:{s.key}",
        "X-RMCAL-COHORT:c1",
        "X-RMCAL-PAIR:ann-bob-000001",
        "X-RMCAL-FINGERPRINT:fp-1",
        f"SUMMARY:{long_title.strip()}",
    ):
        assert needle in text, needle
    assert "METHOD" not in text
