"""The local provider's contract on real files: create, update, end, find, busy, check.

The codec's own cases are in ``test_ics_*``; here the provider ties files, outbox and clock
together, and a fresh provider on the same folder sees everything (the files are the truth).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from icalendar import Calendar
from rmcal_providers.local import LocalProvider

from rmcal.provider import (
    ItemFailure,
    Provider,
    Response,
    Series,
    SeriesEnd,
    load_provider_factory,
)
from tests.local.helpers import (
    WIDE,
    by_day,
    context,
    created,
    fixture_series,
    leftovers,
    london,
    mail,
    oracle_starts,
    outbox,
    parse_eml,
    provider,
    spec,
)
from tests.zones import LONDON, UTC, tz


def test_entry_point_gives_a_provider(tmp_path: Path) -> None:
    factory = load_provider_factory("local")
    made = factory({"folder": str(tmp_path / "rm")}, context(tmp_path))
    assert isinstance(made, LocalProvider)
    assert isinstance(made, Provider)
    assert made.name == "local"
    caps = made.capabilities
    assert (caps.video, caps.attendance, caps.sends_invitations) == (False, False, True)
    assert caps.batch_size == 1000
    assert any(note.startswith("video:") for note in caps.notes)


def test_validate_recurrence_accepts_what_dateutil_reads() -> None:
    p = LocalProvider({"folder": "/nonexistent/rm"}, context(Path("/tmp")))
    assert p.validate_recurrence("FREQ=MONTHLY;BYDAY=-1FR;COUNT=6") is None
    assert (
        p.validate_recurrence("FREQ=WEEKLY;BYDAY=MO,WE;BYSETPOS=1;UNTIL=20301231T000000Z") is None
    )
    assert p.validate_recurrence("FREQ=SOMETIMES") is not None
    assert p.validate_recurrence("BYDAY=MO") is not None


def test_create_twice_gives_one_file_and_one_invitation(tmp_path: Path) -> None:
    p = provider(tmp_path)
    s = spec(start=london(2025, 3, 19, 14, 0))
    first = created(p, s)
    again = LocalProvider({"folder": str(p.folder)}, context(tmp_path)).create_series([s])
    assert again[s.key] == first
    assert [f.name for f in (p.folder / "calendars").iterdir()] == [f"{s.key}.ics"]
    assert len(outbox(p)) == 1
    assert first.attendees == ("ann@example.com", "bob@example.com")
    assert first.organizer == "programme@example.com"
    assert first.tags == {
        "key": s.key,
        "cohort": "c1",
        "pair": "ann-bob-000001",
        "fingerprint": "fp-1",
    }
    assert leftovers(p.folder) == []


def test_a_spec_the_provider_cannot_write_is_an_item_failure(tmp_path: Path) -> None:
    p = provider(tmp_path)
    good = spec(start=london(2025, 3, 19, 14, 0))
    bad = spec(start=london(2025, 3, 19, 14, 0), pair="other", zone="Mars/Olympus")
    result = p.create_series([bad, good])
    assert isinstance(result[bad.key], ItemFailure) and not result[bad.key].retryable
    assert "Mars/Olympus" in result[bad.key].message
    assert isinstance(result[good.key], Series)
    assert not (p.folder / "calendars" / f"{bad.key}.ics").exists()


def test_find_series_needs_only_the_files(tmp_path: Path) -> None:
    p = provider(tmp_path)
    one = created(p, spec(start=london(2025, 3, 19, 14, 0)))
    created(p, spec(start=london(2025, 3, 20, 10, 0), cohort="c2", pair="cat-dan-000002"))
    (p.folder / "calendars" / "notes.txt").write_text("not a calendar")
    fresh = LocalProvider({"folder": str(p.folder)}, context(tmp_path))  # no memory at all
    assert fresh.find_series("c1") == [one]
    assert [s.cohort_id for s in fresh.find_series("c2")] == ["c2"]
    assert fresh.find_series("nope") == []


def test_find_all_series_reads_every_cohort_from_the_files(tmp_path: Path) -> None:
    p = provider(tmp_path)
    one = created(p, spec(start=london(2025, 3, 19, 14, 0)))
    two = created(p, spec(start=london(2025, 3, 20, 10, 0), cohort="c2", pair="cat-dan-000002"))
    (p.folder / "calendars" / "notes.txt").write_text("not a calendar")
    fresh = LocalProvider({"folder": str(p.folder)}, context(tmp_path))
    assert fresh.find_all_series() == sorted([one, two], key=lambda s: s.key)
    assert (
        LocalProvider({"folder": str(tmp_path / "empty")}, context(tmp_path)).find_all_series()
        == []
    )


def test_a_deleted_file_reports_every_occurrence_cancelled(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = created(p, spec(start=london(2025, 3, 19, 14, 0)))
    (p.folder / "calendars" / f"{series.key}.ics").unlink()
    got = p.occurrences([series], *WIDE)[series.key]
    assert len(got) == 6 and all(o.cancelled for o in got)


def test_update_bumps_sequence_keeps_matching_overrides_and_reinvites(tmp_path: Path) -> None:
    p = provider(tmp_path)
    s = spec(start=london(2025, 3, 19, 14, 0))
    series = created(p, s)
    install = p.folder / "calendars" / f"{s.key}.ics"
    text = install.read_bytes().decode()
    keep = (
        f"BEGIN:VEVENT\r\nUID:{s.key}@rmcal\r\nDTSTAMP:20250320T000000Z\r\n"
        "RECURRENCE-ID;TZID=Europe/London:20250402T140000\r\n"
        "DTSTART;TZID=Europe/London:20250402T140000\r\nDTEND;TZID=Europe/London:20250402T144500\r\n"
        "ATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.com\r\nEND:VEVENT\r\n"
    )
    drop = keep.replace("20250402", "20250423")  # the sixth session, gone when COUNT drops to 4
    text = text.replace("END:VEVENT\r\n", "END:VEVENT\r\n" + keep + drop, 1)
    install.write_text(text, newline="")

    longer = spec(start=s.start, rrule="FREQ=WEEKLY;BYDAY=WE;WKST=MO;COUNT=4", minutes=60)
    updated = p.update_series([(series, longer)])[s.key]
    assert isinstance(updated, Series)
    assert updated.extra["sequence"] == 1
    assert updated.duration == timedelta(minutes=60)
    assert updated.rrule == "FREQ=WEEKLY;BYDAY=WE;WKST=MO;COUNT=4"
    got = by_day(p.occurrences([updated], *WIDE)[s.key])
    assert list(got) == ["03-19", "03-26", "04-02", "04-09"]
    assert got["04-02"].responses["bob@example.com"] is Response.DECLINED
    calendar = Calendar.from_ical(install.read_bytes())
    assert len(calendar.walk("VEVENT")) == 2  # master + the override that still matches

    invitations = [parse_eml(f) for f in outbox(p)]
    assert [m["X-Rmcal-Key"] for m in invitations] == [f"invite:{s.key}:0", f"invite:{s.key}:1"]
    assert invitations[1]["Subject"] == "Updated: Reverse mentoring: Ann & Bob"

    same = p.update_series([(updated, longer)])[s.key]
    assert isinstance(same, Series) and same.extra["sequence"] == 1
    assert len(outbox(p)) == 2  # nothing changed: no write, no invitation


def test_update_keeps_answers_when_only_the_text_changes(tmp_path: Path) -> None:
    p = provider(tmp_path)
    s = spec(start=london(2025, 3, 19, 14, 0))
    series = created(p, s)
    path = p.folder / "calendars" / f"{s.key}.ics"
    edited = path.read_bytes().decode().replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED")
    edited = edited.replace("STATUS:CONFIRMED\r\n", "STATUS:CONFIRMED\r\nLOCATION:Room 4.12\r\n")
    path.write_text(edited, newline="")
    retitled = spec(start=s.start, title="Reverse mentoring: Ann & Bob (cohort 1)")
    updated = p.update_series([(series, retitled)])[s.key]
    assert isinstance(updated, Series) and updated.title.endswith("(cohort 1)")
    first = p.occurrences([updated], *WIDE)[s.key][0]
    assert set(first.responses.values()) == {Response.ACCEPTED}
    moved = spec(start=london(2025, 3, 19, 15, 0), title=retitled.title)
    updated = p.update_series([(updated, moved)])[s.key]
    first = p.occurrences([updated], *WIDE)[s.key][0]
    assert set(first.responses.values()) == {Response.NONE}  # a new time asks again
    assert "LOCATION:Room 4.12" in path.read_bytes().decode()  # what rmcal does not own stays


def test_end_series_keeps_the_past_and_the_file(tmp_path: Path) -> None:
    p = provider(tmp_path)
    s = spec(start=london(2025, 3, 19, 14, 0), rrule="FREQ=WEEKLY;BYDAY=WE;WKST=MO;COUNT=10")
    series = created(p, s)
    path = p.folder / "calendars" / f"{s.key}.ics"
    declined = (
        f"BEGIN:VEVENT\r\nUID:{s.key}@rmcal\r\nDTSTAMP:20250320T000000Z\r\n"
        "RECURRENCE-ID;TZID=Europe/London:20250326T140000\r\n"
        "DTSTART;TZID=Europe/London:20250326T140000\r\nDTEND;TZID=Europe/London:20250326T144500\r\n"
        "ATTENDEE;PARTSTAT=DECLINED:mailto:ann@example.com\r\nEND:VEVENT\r\n"
    )
    path.write_text(
        path.read_bytes().decode().replace("END:VEVENT\r\n", "END:VEVENT\r\n" + declined, 1),
        newline="",
    )

    last = london(2025, 4, 9, 14, 0)
    ended = p.end_series([SeriesEnd(series, last)])[s.key]
    assert isinstance(ended, Series)
    assert ended.rrule == "FREQ=WEEKLY;BYDAY=WE;WKST=MO;UNTIL=20250409T130000Z"
    assert ended.extra["sequence"] == 1
    got = p.occurrences([ended], *WIDE)[s.key]
    assert [o.original_start.astimezone(tz(LONDON)).day for o in got] == [19, 26, 2, 9]
    assert got[1].responses["ann@example.com"] is Response.DECLINED  # the past survives
    assert oracle_starts(path) == [o.start.astimezone(UTC) for o in got]

    request = parse_eml(outbox(p)[-1])
    assert request["X-Rmcal-Key"] == f"invite:{s.key}:1"
    assert (
        "ends with the session on Wednesday 09 April 2025"
        in request.get_body(("plain",)).get_content()
    )
    (part,) = [x for x in request.walk() if x.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    assert "UNTIL=20250409T130000Z" in part.get_content()

    again = p.end_series([SeriesEnd(ended, last)])[s.key]
    assert isinstance(again, Series) and again.extra["sequence"] == 1
    assert len(outbox(p)) == 2


def test_update_of_a_vanished_file_is_a_clear_item_failure(tmp_path: Path) -> None:
    p = provider(tmp_path)
    s = spec(start=london(2025, 3, 19, 14, 0))
    series = created(p, s)
    (p.folder / "calendars" / f"{s.key}.ics").unlink()
    result = p.update_series([(series, s)])[s.key]
    assert isinstance(result, ItemFailure) and "no longer exists" in result.message


def test_busy_includes_own_series_unless_declined_and_clips(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = fixture_series(p, "series_override_declined")
    start, end = london(2025, 3, 19, 14, 30), london(2025, 4, 17)
    got = p.busy(["bob@example.com", "ann@example.com", "programme@example.com"], start, end)
    bob = got["bob@example.com"]
    assert bob[0] == (
        london(2025, 3, 19, 14, 30).astimezone(UTC),
        london(2025, 3, 19, 14, 45).astimezone(UTC),
    )
    bob_days = [a.astimezone(tz(LONDON)).strftime("%m-%d") for a, _ in bob]
    assert bob_days == ["03-19", "03-26", "04-02", "04-09"]  # 16 April: declined
    assert len(got["ann@example.com"]) == 5
    assert got["programme@example.com"] == ()
    assert all(a < b for a, b in bob) and list(bob) == sorted(bob)
    assert series.key == "series_override_declined"


def test_check_reports_an_unwritable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    p = LocalProvider({"folder": str(tmp_path / "file" / "rm")}, context(tmp_path))
    (folder,) = [c for c in p.check() if c.name == "folder"]
    assert not folder.ok and folder.remedy


def test_the_run_clock_stamps_files_and_mail(tmp_path: Path) -> None:
    """``--now`` reaches the folder: DTSTAMP, LAST-MODIFIED, Date and outbox names follow it."""
    now = [datetime(2027, 1, 4, 9, 0, tzinfo=UTC)]
    p = LocalProvider({"folder": str(tmp_path / "rm")}, context(tmp_path, clock=lambda: now[0]))
    s = spec(start=london(2027, 1, 13, 14, 0))
    series = created(p, s)
    now[0] = datetime(2027, 2, 1, 12, 30, tzinfo=UTC)
    retitled = spec(start=s.start, title="Reverse mentoring: Ann & Bob (cohort 1)")
    assert isinstance(p.update_series([(series, retitled)])[s.key], Series)
    assert p.send([mail("agenda:k1")]) == {"agenda:k1": None}

    stamps = sorted((f.name[:16], str(parse_eml(f)["X-Rmcal-Key"])) for f in outbox(p))
    assert stamps == [
        ("20270104T090000Z", f"invite:{s.key}:0"),
        ("20270201T123000Z", "agenda:k1"),
        ("20270201T123000Z", f"invite:{s.key}:1"),
    ]
    assert [parse_eml(f)["Date"].datetime for f in outbox(p)] == [
        datetime(2027, 1, 4, 9, 0, tzinfo=UTC),
        now[0],
        now[0],
    ]
    (master,) = Calendar.from_ical((p.folder / "calendars" / f"{s.key}.ics").read_bytes()).walk(
        "VEVENT"
    )
    assert master["CREATED"].dt == datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    assert master["DTSTAMP"].dt == master["LAST-MODIFIED"].dt == now[0]
