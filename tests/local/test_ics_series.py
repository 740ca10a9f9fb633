"""Series files read back after people edited them: one fixture file per edge case.

Hand-edited calendars live in ``tests/local/fixtures/`` (EXDATE, cancelled, moved and declined
overrides, Outlook's Windows TZIDs, a DATE UNTIL); each reads back as the contract's
``Occurrence``s with the answers, cancellations and moves the file says.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from rmcal.provider import (
    Response,
)
from tests.local.helpers import (
    WIDE,
    by_day,
    created,
    fixture_series,
    london,
    oracle_starts,
    provider,
    spec,
)
from tests.zones import LONDON, UTC


def test_exdate_is_a_cancelled_occurrence_not_a_missing_one(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = fixture_series(p, "series_exdate")
    got = by_day(p.occurrences([series], *WIDE)[series.key])
    assert list(got) == ["03-19", "03-26", "04-02", "04-09", "04-16", "04-23"]
    assert [d for d, o in got.items() if o.cancelled] == ["04-02"]


def test_cancelled_override(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = fixture_series(p, "series_override_cancelled")
    got = by_day(p.occurrences([series], *WIDE)[series.key])
    assert [d for d, o in got.items() if o.cancelled] == ["04-09"]
    assert len(got) == 6


def test_moved_override_keeps_its_original_start(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = fixture_series(p, "series_override_moved")
    got = by_day(p.occurrences([series], *WIDE)[series.key])
    moved = got["03-26"]
    assert moved.moved and not moved.cancelled
    assert moved.original_start == datetime(2025, 3, 26, 14, 0, tzinfo=UTC)
    assert moved.start == london(2025, 3, 27, 16, 0)
    assert moved.end == london(2025, 3, 27, 16, 45)
    assert moved.responses == {
        "ann@example.com": Response.ACCEPTED,
        "bob@example.com": Response.ACCEPTED,
    }
    assert not got["04-02"].moved
    assert got["04-02"].responses["ann@example.com"] is Response.NONE


def test_declined_override_applies_to_that_occurrence_only(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = fixture_series(p, "series_override_declined")
    got = by_day(p.occurrences([series], *WIDE)[series.key])
    assert got["04-16"].responses == {
        "ann@example.com": Response.ACCEPTED,  # not listed in the override: master's answer
        "bob@example.com": Response.DECLINED,
    }
    assert not got["04-16"].cancelled and not got["04-16"].moved
    others = [o for d, o in got.items() if d != "04-16"]
    assert all(o.responses["bob@example.com"] is Response.ACCEPTED for o in others)


def test_master_partstat_applies_to_every_occurrence(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = fixture_series(p, "series_master_partstat")
    got = p.occurrences([series], *WIDE)[series.key]
    assert len(got) == 6
    assert {tuple(sorted(o.responses.items())) for o in got} == {
        (("ann@example.com", Response.ACCEPTED), ("bob@example.com", Response.TENTATIVE))
    }


def test_cancelled_master_cancels_the_series_and_every_occurrence(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = fixture_series(p, "series_master_cancelled")
    assert series.cancelled
    got = p.occurrences([series], *WIDE)[series.key]
    assert len(got) == 6 and all(o.cancelled for o in got)


def test_date_until_is_reported_in_utc(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = fixture_series(p, "series_until_date")
    # UNTIL=20250416 means through the end of 16 April in London (BST): 22:59:59 UTC.
    assert series.rrule == "FREQ=WEEKLY;BYDAY=WE;UNTIL=20250416T225959Z"
    got = p.occurrences([series], *WIDE)[series.key]
    assert len(got) == 5
    # A DATE UNTIL with a DATE-TIME DTSTART breaks RFC 5545 (same value type required), so
    # readers differ: rmcal.recurrence reads it as the whole day (16 April included),
    # recurring_ical_events as its midnight. They agree on everything before that day.
    path = p.folder / "calendars" / "series_until_date.ics"
    assert oracle_starts(path) == [o.original_start for o in got][:-1]


def test_override_without_dtend_keeps_the_series_length(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = fixture_series(p, "series_override_without_dtend")
    first = p.occurrences([series], *WIDE)[series.key][0]
    assert first.start == london(2025, 3, 19, 15, 0)
    assert first.end - first.start == timedelta(minutes=45)


def test_outlook_file_with_windows_tzid_and_utc_ids(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = fixture_series(p, "series_outlook_windows_tzid")
    assert series.timezone == LONDON
    assert series.attendees == ("ann@example.com", "bob@example.com")  # organizer left out
    assert series.organizer == "programme@example.com"
    got = by_day(p.occurrences([series], *WIDE)[series.key])
    assert got["04-02"].cancelled  # EXDATE in UTC matches the 14:00 BST occurrence
    assert got["04-09"].start == london(2025, 4, 9, 17, 0)
    assert got["04-09"].responses["ann@example.com"] is Response.DECLINED
    assert got["04-16"].responses["ann@example.com"] is Response.ACCEPTED


def test_hand_edits_to_a_generated_file_are_read_back(tmp_path: Path) -> None:
    """A person opens the file in an editor: EXDATE, a cancelled, a moved and a declined one."""
    p = provider(tmp_path)
    s = spec(start=london(2025, 3, 19, 14, 0))
    series = created(p, s)
    path = p.folder / "calendars" / f"{s.key}.ics"
    text = path.read_bytes().decode()
    uid = f"{s.key}@rmcal"
    override = (
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250320T000000Z\r\n"
        "RECURRENCE-ID;TZID=Europe/London:{rid}\r\n"
        "DTSTART;TZID=Europe/London:{start}\r\nDTEND;TZID=Europe/London:{end}\r\n{extra}"
        "END:VEVENT\r\n"
    )
    edits = "".join(
        [
            override.format(
                uid=uid,
                rid="20250326T140000",
                start="20250326T140000",
                end="20250326T144500",
                extra="STATUS:CANCELLED\r\n",
            ),
            override.format(
                uid=uid,
                rid="20250409T140000",
                start="20250410T090000",
                end="20250410T094500",
                extra="",
            ),
            override.format(
                uid=uid,
                rid="20250416T140000",
                start="20250416T140000",
                end="20250416T144500",
                extra="ATTENDEE;PARTSTAT=DECLINED:mailto:ann@example.com\r\n",
            ),
        ]
    )
    text = text.replace(
        "END:VEVENT\r\n", "EXDATE;TZID=Europe/London:20250402T140000\r\nEND:VEVENT\r\n" + edits, 1
    )
    path.write_text(text, newline="")

    got = by_day(p.occurrences([series], *WIDE)[s.key])
    assert [d for d, o in got.items() if o.cancelled] == ["03-26", "04-02"]
    assert got["04-09"].moved and got["04-09"].start == london(2025, 4, 10, 9, 0)
    assert got["04-16"].responses["ann@example.com"] is Response.DECLINED
    assert got["04-16"].responses["bob@example.com"] is Response.NONE
    held = sorted(o.start.astimezone(UTC) for o in got.values() if not o.cancelled)
    assert oracle_starts(path) == held  # the independent reader agrees


# -- two overrides for one occurrence (RFC 5545 3.8.7.4: SEQUENCE, then DTSTAMP) --------------


def test_of_two_overrides_the_higher_sequence_wins_wherever_it_stands(tmp_path: Path) -> None:
    # SEQUENCE 2 (moved to Thursday) comes first; SEQUENCE 1 (Bob declines) comes later in
    # the file with a later DTSTAMP. The higher SEQUENCE is the newer version.
    p = provider(tmp_path)
    series = fixture_series(p, "series_two_overrides_sequence")
    got = by_day(p.occurrences([series], *WIDE)[series.key])["03-26"]
    assert got.start == london(2025, 3, 27, 16, 0)
    assert got.responses["bob@example.com"] is Response.ACCEPTED


def test_of_two_overrides_with_one_sequence_the_later_dtstamp_wins(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = fixture_series(p, "series_two_overrides_dtstamp")
    got = by_day(p.occurrences([series], *WIDE)[series.key])
    assert got["03-26"].responses["bob@example.com"] is Response.DECLINED
    assert len(got) == 6  # still one occurrence per slot


def test_a_scripted_edit_changes_the_override_that_counts(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = fixture_series(p, "series_two_overrides_newest_last")
    p.decline_session(series.key, 2, "ann@example.com")
    got = by_day(p.occurrences([series], *WIDE)[series.key])["03-26"]
    assert got.responses["ann@example.com"] is Response.DECLINED
    assert got.start == london(2025, 3, 27, 16, 0)  # the newest version, edited


def test_a_delegation_reads_as_delegated_with_the_delegate_beside(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = fixture_series(p, "series_delegated")
    got = by_day(p.occurrences([series], *WIDE)[series.key])
    assert got["03-26"].responses == {
        "ann@example.com": Response.ACCEPTED,
        "bob@example.com": Response.DELEGATED,
        "carol@example.com": Response.ACCEPTED,
    }
    assert "carol@example.com" not in got["04-02"].responses
