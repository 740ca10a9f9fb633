"""Busy files: people's exported calendars (recurring events, VFREEBUSY, lone exceptions)."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
import recurring_ical_events
from icalendar import Calendar

from rmcal.errors import ProviderError
from tests.local.helpers import (
    FIXTURES,
    provider,
)
from tests.zones import NEW_YORK, UTC, tz


def test_busy_from_an_exported_calendar_with_a_recurring_event(tmp_path: Path) -> None:
    p = provider(tmp_path)
    busy = p.folder / "busy"
    busy.mkdir(parents=True)
    shutil.copy(FIXTURES / "busy_recurring.ics", busy / "Carol@Example.com.ics")
    ny = tz(NEW_YORK)
    start, end = datetime(2025, 3, 8, tzinfo=ny), datetime(2025, 3, 22, tzinfo=ny)
    got = p.busy(["carol@example.com", "dave@example.com"], start, end)
    assert got["dave@example.com"] == ()  # no file: free, not unknown
    expected = [
        # 10 March: EXDATE. 17 March: moved to 15:00. Lunch is transparent, the review cancelled.
        (datetime(2025, 3, 17, 15, 0, tzinfo=ny), datetime(2025, 3, 17, 16, 0, tzinfo=ny)),
        (datetime(2025, 3, 20, 0, 0, tzinfo=ny), datetime(2025, 3, 21, 0, 0, tzinfo=ny)),
    ]
    assert got["carol@example.com"] == tuple(
        (a.astimezone(UTC), b.astimezone(UTC)) for a, b in expected
    )

    # The independent reader sees the same opaque, confirmed events.
    calendar = Calendar.from_ical((FIXTURES / "busy_recurring.ics").read_bytes())
    oracle = [
        e
        for e in recurring_ical_events.of(calendar).between(start, end)
        if str(e.get("TRANSP", "")) != "TRANSPARENT" and str(e.get("STATUS", "")) != "CANCELLED"
    ]
    assert len(oracle) == len(expected)


def test_busy_from_vfreebusy_and_lone_exceptions(tmp_path: Path) -> None:
    p = provider(tmp_path)
    busy = p.folder / "busy"
    busy.mkdir(parents=True)
    shutil.copy(FIXTURES / "busy_vfreebusy_and_lone_exceptions.ics", busy / "dave@example.com.ics")
    got = p.busy(
        ["DAVE@example.com"], datetime(2025, 3, 10, tzinfo=UTC), datetime(2025, 3, 20, tzinfo=UTC)
    )
    # One interval per event or busy period, sorted and not merged: the block and the team
    # sync that overlaps it stay two commitments (the clash watch counts them apart).
    assert got["dave@example.com"] == (
        (datetime(2025, 3, 10, 14, 0, tzinfo=UTC), datetime(2025, 3, 10, 15, 0, tzinfo=UTC)),
        (datetime(2025, 3, 10, 14, 30, tzinfo=UTC), datetime(2025, 3, 10, 15, 30, tzinfo=UTC)),
        (datetime(2025, 3, 11, 9, 0, tzinfo=UTC), datetime(2025, 3, 11, 9, 30, tzinfo=UTC)),
        (datetime(2025, 3, 13, 14, 0, tzinfo=UTC), datetime(2025, 3, 13, 15, 0, tzinfo=UTC)),
        (datetime(2025, 3, 18, 16, 0, tzinfo=UTC), datetime(2025, 3, 18, 17, 0, tzinfo=UTC)),
    )


def test_a_malformed_busy_file_is_named(tmp_path: Path) -> None:
    p = provider(tmp_path)
    busy = p.folder / "busy"
    busy.mkdir(parents=True)
    (busy / "erin@example.com.ics").write_text("BEGIN:VCALENDAR\nthis is not ical\n")
    with pytest.raises(ProviderError) as caught:
        p.busy(
            ["erin@example.com"],
            datetime(2025, 3, 10, tzinfo=UTC),
            datetime(2025, 3, 20, tzinfo=UTC),
        )
    assert "erin@example.com.ics" in str(caught.value)


def test_all_day_and_floating_times_are_read_in_the_zone_of_the_calendars_owner(
    tmp_path: Path,
) -> None:
    # A London programme; the file (an Apple export) names no zone; its owner lives in Los
    # Angeles. Her day of leave is a Los Angeles day, not a London one eight hours earlier.
    p = provider(tmp_path)  # the programme's zone is Europe/London
    busy = p.folder / "busy"
    busy.mkdir(parents=True)
    shutil.copy(FIXTURES / "busy_floating_and_all_day.ics", busy / "lia@example.com.ics")
    la = tz("America/Los_Angeles")
    start, end = datetime(2027, 3, 8, tzinfo=UTC), datetime(2027, 3, 13, tzinfo=UTC)
    got = p.busy(["lia@example.com"], start, end, zones={"lia@example.com": "America/Los_Angeles"})
    assert got["lia@example.com"] == (
        (datetime(2027, 3, 9, tzinfo=la).astimezone(UTC), datetime(2027, 3, 10, tzinfo=la)),
        (datetime(2027, 3, 11, 9, tzinfo=la).astimezone(UTC), datetime(2027, 3, 11, 10, tzinfo=la)),
    )
    # Without the owner's zone, the programme's zone is the only guess left (as before).
    london = tz("Europe/London")
    guessed = p.busy(["lia@example.com"], start, end)
    assert guessed["lia@example.com"][0][0] == datetime(2027, 3, 9, tzinfo=london)


def test_each_file_reads_its_custom_tzid_with_its_own_vtimezone(tmp_path: Path) -> None:
    # Outlook names every non-standard zone "Customized Time Zone": here India in one file and
    # US Pacific in the other. Each file's events are read with that file's own definition,
    # whichever file is read first (the parser caches the first definition it meets).
    p = provider(tmp_path)
    busy = p.folder / "busy"
    busy.mkdir(parents=True)
    shutil.copy(FIXTURES / "busy_custom_tzid_kolkata.ics", busy / "kiran@example.com.ics")
    shutil.copy(FIXTURES / "busy_custom_tzid_pacific.ics", busy / "pat@example.com.ics")
    start, end = datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 15, tzinfo=UTC)
    kiran = (datetime(2027, 3, 8, 4, 30, tzinfo=UTC), datetime(2027, 3, 8, 5, 30, tzinfo=UTC))
    pat = (datetime(2027, 3, 8, 18, 0, tzinfo=UTC), datetime(2027, 3, 8, 19, 0, tzinfo=UTC))
    for order in (
        ["kiran@example.com", "pat@example.com"],
        ["pat@example.com", "kiran@example.com"],
    ):
        for email in order:
            got = p.busy([email], start, end)[email]
            assert got == ((kiran if email.startswith("kiran") else pat),), email
