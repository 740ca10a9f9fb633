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
    assert got["dave@example.com"] == (
        (datetime(2025, 3, 10, 14, 0, tzinfo=UTC), datetime(2025, 3, 10, 15, 30, tzinfo=UTC)),
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
