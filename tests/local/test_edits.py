"""Scripted edits (``EditableCalendar``): a decline, a cancellation, a move, as apps save them.

Each edit is read back twice: by the provider (the contract's ``Occurrence``) and by an
independent reader (``recurring_ical_events``), and none of them is rmcal bookkeeping (no new
SEQUENCE, no invitation).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from rmcal_providers.local import LocalProvider

from rmcal.provider import EditableCalendar, Occurrence, Response, Series
from tests.local.helpers import (
    WIDE,
    by_day,
    created,
    london,
    oracle_starts,
    outbox,
    provider,
    spec,
)
from tests.zones import UTC


def scheduled(tmp_path: Path) -> tuple[LocalProvider, Series, Path]:
    """Six Wednesdays at 14:00 London from 19 March 2025, for Ann and Bob."""
    p = provider(tmp_path)
    series = created(p, spec(start=london(2025, 3, 19, 14, 0)))
    return p, series, p.folder / "calendars" / f"{series.key}.ics"


def read_back(p: LocalProvider, series: Series) -> dict[str, Occurrence]:
    return by_day(p.occurrences([series], *WIDE)[series.key])


def test_the_local_provider_is_a_calendar_scripts_can_edit(tmp_path: Path) -> None:
    assert isinstance(provider(tmp_path), EditableCalendar)


def vevents(path: Path) -> list[object]:
    return list(Calendar.from_ical(path.read_bytes()).walk("VEVENT"))


def test_a_decline_is_an_override_for_that_session_only(tmp_path: Path) -> None:
    p, series, path = scheduled(tmp_path)
    original = p.decline_session(series.key, 2, "Bob@Example.com")
    assert original == london(2025, 3, 26, 14, 0)
    got = read_back(p, series)
    assert got["03-26"].responses == {
        "ann@example.com": Response.NONE,
        "bob@example.com": Response.DECLINED,
    }
    others = [o for day, o in got.items() if day != "03-26"]
    assert all(o.responses["bob@example.com"] is Response.NONE for o in others)
    assert len(vevents(path)) == 2
    assert len(outbox(p)) == 1  # the first invitation only: a person's edit is not re-sent
    assert "SEQUENCE:0" in path.read_text()


def test_both_ways_of_cancelling_read_back_as_cancelled(tmp_path: Path) -> None:
    p, series, path = scheduled(tmp_path)
    assert p.cancel_session(series.key, 3, how="status") == london(2025, 4, 2, 14, 0)
    assert p.cancel_session(series.key, 4) == london(2025, 4, 9, 14, 0)  # EXDATE by default
    got = read_back(p, series)
    assert [day for day, o in got.items() if o.cancelled] == ["04-02", "04-09"]
    assert "EXDATE;TZID=Europe/London:20250409T140000" in path.read_text()
    held = sorted(o.start.astimezone(UTC) for o in got.values() if not o.cancelled)
    assert oracle_starts(path) == held


def test_a_move_keeps_the_length_and_the_original_slot(tmp_path: Path) -> None:
    p, series, path = scheduled(tmp_path)
    before, after = p.move_session(series.key, 2, timedelta(days=1, hours=2))
    assert (before, after) == (london(2025, 3, 26, 14, 0), london(2025, 3, 27, 16, 0))
    moved = read_back(p, series)["03-26"]
    assert moved.moved and not moved.cancelled
    assert (moved.start, moved.end) == (after, after + timedelta(minutes=45))
    assert after.astimezone(UTC) in oracle_starts(path)


def test_edits_of_one_session_share_its_override(tmp_path: Path) -> None:
    p, series, path = scheduled(tmp_path)
    p.decline_session(series.key, 5, "ann@example.com")
    p.move_session(series.key, 5, timedelta(hours=1))
    assert len(vevents(path)) == 2
    got = read_back(p, series)["04-16"]
    assert got.responses["ann@example.com"] is Response.DECLINED
    assert got.start == london(2025, 4, 16, 15, 0)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda p, key: p.decline_session(key, 7, "ann@example.com"), "has 6 sessions, not 7"),
        (lambda p, key: p.decline_session(key, 0, "ann@example.com"), "has 6 sessions, not 0"),
        (lambda p, key: p.decline_session(key, 1, "eve@example.com"), "eve@example.com is not"),
        (lambda p, key: p.cancel_session(key, 1, how="delete"), "use 'exdate' or 'status'"),
    ],
)
def test_an_impossible_edit_says_why_and_leaves_the_file(
    tmp_path: Path, edit: Callable[[LocalProvider, str], object], words: str
) -> None:
    p, series, path = scheduled(tmp_path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=words):
        edit(p, series.key)
    assert path.read_bytes() == before


def test_the_edit_returns_the_start_rmcal_keys_the_session_by(tmp_path: Path) -> None:
    p, series, _ = scheduled(tmp_path)
    original = p.cancel_session(series.key, 1)
    (first,) = [o for o in p.occurrences([series], *WIDE)[series.key] if o.cancelled]
    assert first.original_start == original.astimezone(UTC)
    assert original == datetime(2025, 3, 19, 14, 0, tzinfo=UTC)  # GMT until 30 March
