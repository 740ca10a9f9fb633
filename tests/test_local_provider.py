"""The local provider on real files: what it writes, what it reads back, what it sends.

Generated calendars are checked against an independent implementation (``icalendar`` to parse,
``recurring_ical_events`` to expand), so that rmcal's own expansion is never its only witness.
Hand-edited calendars live in ``tests/fixtures/ics/``, one small file per edge case.
"""

from __future__ import annotations

import base64
import os
import shutil
import socketserver
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
import recurring_ical_events
from icalendar import Calendar
from rmcal_providers.local import LocalProvider, atomic_write, mail_slug

from rmcal import recurrence
from rmcal.errors import ProviderError, SettingsError
from rmcal.model import series_key
from rmcal.provider import (
    Attendee,
    ItemFailure,
    Provider,
    ProviderContext,
    Response,
    Series,
    SeriesSpec,
    load_provider_factory,
)
from tests.zones import KOLKATA, LONDON, NEW_YORK, SYDNEY, UTC, tz

FIXTURES = Path(__file__).parent / "fixtures" / "ics"
ORGANIZER = Attendee("programme@example.com", "Reverse Mentoring Programme")
ANN = Attendee("ann@example.com", "Ann Mentor")  # the junior colleague, Europe/London
BOB = Attendee("bob@example.com", "Bob Mentee")  # the senior leader
NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
WIDE = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


# --- helpers ------------------------------------------------------------------------------------


def context(tmp_path: Path, zone: str = LONDON, env: dict[str, str] | None = None):
    return ProviderContext(
        config_dir=tmp_path,
        state_dir=tmp_path,
        organizer=ORGANIZER,
        programme="Reverse mentoring",
        timezone=zone,
        env=env or {},
    )


def provider(tmp_path: Path, **settings: object) -> LocalProvider:
    settings.setdefault("folder", str(tmp_path / "rm"))
    return LocalProvider(settings, context(tmp_path), clock=lambda: NOW)


def spec(
    *,
    start: datetime,
    zone: str = LONDON,
    rrule: str = "FREQ=WEEKLY;BYDAY=WE;WKST=MO;COUNT=6",
    cohort: str = "c1",
    pair: str = "ann-bob-000001",
    minutes: int = 45,
    attendees: tuple[Attendee, ...] = (ANN, BOB),
    title: str = "Reverse mentoring: Ann & Bob",
) -> SeriesSpec:
    key = series_key(cohort, pair)
    return SeriesSpec(
        key=key,
        cohort_id=cohort,
        pair_id=pair,
        title=title,
        description_html="<p>Ann teaches, Bob <b>owns the agenda</b>; listen &amp; ask.</p>",
        description_text="Ann teaches, Bob owns the agenda; listen & ask.",
        organizer=ORGANIZER,
        attendees=attendees,
        start=start,
        duration=timedelta(minutes=minutes),
        timezone=zone,
        rrule=rrule,
        video=True,
        tags=(("key", key), ("cohort", cohort), ("pair", pair), ("fingerprint", "fp-1")),
    )


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=tz(LONDON))  # type: ignore[misc]


def created(p: LocalProvider, s: SeriesSpec) -> Series:
    result = p.create_series([s])[s.key]
    assert isinstance(result, Series), result
    return result


def oracle_starts(path: Path) -> list[datetime]:
    """Starts of the occurrences that take place, as recurring_ical_events (not rmcal) sees them.

    It leaves EXDATEs out and returns cancelled overrides with their STATUS, so those are
    dropped here.
    """
    calendar = Calendar.from_ical(path.read_bytes())
    events = recurring_ical_events.of(calendar).between(*WIDE)
    return sorted(
        e["DTSTART"].dt.astimezone(UTC)
        for e in events
        if str(e.get("STATUS", "")).upper() != "CANCELLED"
    )


def install_fixture(p: LocalProvider, name: str) -> Path:
    target = p.folder / "calendars" / f"{name}.ics"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / f"{name}.ics", target)
    return target


def fixture_series(p: LocalProvider, name: str) -> Series:
    install_fixture(p, name)
    (found,) = [s for s in p.find_series("fixtures") if s.key == name]
    return found


def outbox(p: LocalProvider) -> list[Path]:
    folder = p.folder / "outbox"
    return sorted(folder.glob("*.eml")) if folder.is_dir() else []


def parse_eml(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        return BytesParser(policy=policy.default).parse(handle)  # type: ignore[return-value]


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def mail(key: str, to: str = "bob@example.com", subject: str = "Agenda") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Reverse Mentoring Programme <programme@example.com>"
    message["To"] = to
    message["Subject"] = subject
    message["X-Rmcal-Key"] = key
    message.set_content("Plain text.\n")
    message.add_alternative("<p>HTML.</p>\n", subtype="html")
    return message


# --- the contract -------------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("settings", "key", "words"),
    [
        ({}, "folder", "required"),
        ({"folder": "/x", "foldr": 1}, "foldr", "did you mean 'folder'"),
        ({"folder": "/x", "smtp": {"host": "h", "port": "25"}}, "smtp.port", "integer"),
        ({"folder": "/x", "smtp": {"host": "h", "port": 70000}}, "smtp.port", "TCP port"),
        ({"folder": "/x", "smtp": {"port": 25}}, "smtp.host", "required"),
        ({"folder": "/x", "smtp": {"host": "h", "starttls": "yes"}}, "smtp.starttls", "true"),
        ({"folder": "/x", "smtp": {"host": "h", "password": "s3cret"}}, "smtp.password", "env"),
        ({"folder": "/x", "smtp": {"host": "h", "user": "u"}}, "smtp.password_env", "required"),
        ({"folder": "/x", "smtp": {"host": "h", "from": "nobody"}}, "smtp.from", "e-mail"),
    ],
)
def test_bad_settings_name_their_key(tmp_path: Path, settings, key: str, words: str) -> None:
    with pytest.raises(SettingsError) as caught:
        LocalProvider(settings, context(tmp_path))
    assert caught.value.key == key
    assert words in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_relative_folder_resolves_against_the_config_folder(tmp_path: Path) -> None:
    made = LocalProvider({"folder": "data"}, context(tmp_path))
    assert made.folder == (tmp_path / "data").resolve()


def test_validate_recurrence_accepts_what_dateutil_reads() -> None:
    p = LocalProvider({"folder": "/nonexistent/rm"}, context(Path("/tmp")))
    assert p.validate_recurrence("FREQ=MONTHLY;BYDAY=-1FR;COUNT=6") is None
    assert (
        p.validate_recurrence("FREQ=WEEKLY;BYDAY=MO,WE;BYSETPOS=1;UNTIL=20301231T000000Z") is None
    )
    assert p.validate_recurrence("FREQ=SOMETIMES") is not None
    assert p.validate_recurrence("BYDAY=MO") is not None


# --- generated files against an independent expansion ------------------------------------------

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


# --- create, idempotency, invitations -----------------------------------------------------------


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


def test_invitation_is_a_real_imip_request(tmp_path: Path) -> None:
    p = provider(tmp_path)
    s = spec(start=london(2025, 3, 19, 14, 0))
    created(p, s)
    (path,) = outbox(p)
    assert path.name.startswith("20250301T090000Z-invite-")
    message = parse_eml(path)
    assert message["X-Rmcal-Key"] == f"invite:{s.key}:0"
    assert message["Subject"] == "Reverse mentoring: Ann & Bob"
    assert message["From"].addresses[0].addr_spec == "programme@example.com"
    assert [a.addr_spec for a in message["To"].addresses] == ["ann@example.com", "bob@example.com"]
    assert message["Date"].datetime == NOW
    assert message["Message-ID"].endswith("@example.com>")
    kinds = [part.get_content_type() for part in message.walk()]
    assert kinds == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
        "application/ics",
    ]
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and "Bob owns the agenda" in plain.get_content()
    assert "Wednesday 19 March 2025, 14:00-14:45 (Europe/London); 6 sessions" in plain.get_content()
    assert html is not None and "<b>owns the agenda</b>" in html.get_content()
    (calendar_part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_content_charset() == "utf-8"
    invite = Calendar.from_ical(calendar_part.get_content())
    assert str(invite["METHOD"]) == "REQUEST"
    (event,) = invite.walk("VEVENT")
    assert int(event["SEQUENCE"]) == 0 and str(event["UID"]) == f"{s.key}@rmcal"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "invite.ics"
    assert Calendar.from_ical(attachment.get_content()).to_ical() == invite.to_ical()


def test_a_spec_the_provider_cannot_write_is_an_item_failure(tmp_path: Path) -> None:
    p = provider(tmp_path)
    good = spec(start=london(2025, 3, 19, 14, 0))
    bad = spec(start=london(2025, 3, 19, 14, 0), pair="other", zone="Mars/Olympus")
    result = p.create_series([bad, good])
    assert isinstance(result[bad.key], ItemFailure) and not result[bad.key].retryable
    assert "Mars/Olympus" in result[bad.key].message
    assert isinstance(result[good.key], Series)
    assert not (p.folder / "calendars" / f"{bad.key}.ics").exists()


# --- reading back what people edited ------------------------------------------------------------


def by_day(occurrences) -> dict[str, object]:
    return {o.original_start.astimezone(tz(LONDON)).strftime("%m-%d"): o for o in occurrences}


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


def test_find_series_needs_only_the_files(tmp_path: Path) -> None:
    p = provider(tmp_path)
    one = created(p, spec(start=london(2025, 3, 19, 14, 0)))
    created(p, spec(start=london(2025, 3, 20, 10, 0), cohort="c2", pair="cat-dan-000002"))
    (p.folder / "calendars" / "notes.txt").write_text("not a calendar")
    fresh = LocalProvider({"folder": str(p.folder)}, context(tmp_path))  # no memory at all
    assert fresh.find_series("c1") == [one]
    assert [s.cohort_id for s in fresh.find_series("c2")] == ["c2"]
    assert fresh.find_series("nope") == []


def test_a_malformed_file_is_named_in_the_error(tmp_path: Path) -> None:
    p = provider(tmp_path)
    path = install_fixture(p, "series_missing_dtstart")
    with pytest.raises(ProviderError) as caught:
        p.find_series("fixtures")
    assert str(path) in str(caught.value)
    assert "DTSTART" in str(caught.value)
    assert caught.value.remedy
    (check,) = [c for c in p.check() if c.name == "calendars"]
    assert not check.ok and str(path) in check.detail


def test_a_broken_property_is_named_with_its_file(tmp_path: Path) -> None:
    p = provider(tmp_path)
    path = install_fixture(p, "series_broken_dtend")
    with pytest.raises(ProviderError) as caught:
        p.find_series("fixtures")
    message = caught.value.one_line()
    assert message.startswith(f"local: read {path}: ") and "DTEND" in message


def test_a_deleted_file_reports_every_occurrence_cancelled(tmp_path: Path) -> None:
    p = provider(tmp_path)
    series = created(p, spec(start=london(2025, 3, 19, 14, 0)))
    (p.folder / "calendars" / f"{series.key}.ics").unlink()
    got = p.occurrences([series], *WIDE)[series.key]
    assert len(got) == 6 and all(o.cancelled for o in got)


# --- update and end -----------------------------------------------------------------------------


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
    ended = p.end_series([(series, last)])[s.key]
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

    again = p.end_series([(ended, last)])[s.key]
    assert isinstance(again, Series) and again.extra["sequence"] == 1
    assert len(outbox(p)) == 2


def test_update_of_a_vanished_file_is_a_clear_item_failure(tmp_path: Path) -> None:
    p = provider(tmp_path)
    s = spec(start=london(2025, 3, 19, 14, 0))
    series = created(p, s)
    (p.folder / "calendars" / f"{s.key}.ics").unlink()
    result = p.update_series([(series, s)])[s.key]
    assert isinstance(result, ItemFailure) and "no longer exists" in result.message


# --- free/busy ----------------------------------------------------------------------------------


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


# --- mail ---------------------------------------------------------------------------------------


def test_send_writes_each_key_once_and_completes_headers(tmp_path: Path) -> None:
    p = provider(tmp_path)
    message = mail("agenda:rmabc:2025-03-19T14:00:00+00:00")
    result = p.send([message, mail("")])
    assert result["agenda:rmabc:2025-03-19T14:00:00+00:00"] is None
    assert isinstance(result["#1"], ItemFailure)
    assert p.send([message]) == {"agenda:rmabc:2025-03-19T14:00:00+00:00": None}
    (path,) = outbox(p)
    assert (
        path.name == f"20250301T090000Z-{mail_slug('agenda:rmabc:2025-03-19T14:00:00+00:00')}.eml"
    )
    stored = parse_eml(path)
    assert stored["Date"].datetime == NOW
    assert stored["Message-ID"].endswith("@example.com>")
    assert message["Message-ID"] is None  # the caller's message is not modified
    assert stored.get_body(("plain",)).get_content() == "Plain text.\n"
    assert path.read_bytes().count(b"\r\n") > 5  # RFC 5322 line endings


def test_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "deep" / "file.ics"
    atomic_write(target, b"old")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []

    monkeypatch.undo()
    p = provider(tmp_path)
    s = spec(start=london(2025, 3, 19, 14, 0))
    monkeypatch.setattr(os, "replace", crash)
    result = p.create_series([s])[s.key]
    assert isinstance(result, ItemFailure) and result.retryable
    assert not (p.folder / "calendars" / f"{s.key}.ics").exists()
    assert leftovers(p.folder) == []
    monkeypatch.undo()
    assert isinstance(p.create_series([s])[s.key], Series)
    assert leftovers(p.folder) == []


# --- SMTP against a fake server on 127.0.0.1 ----------------------------------------------------


class FakeSmtp(socketserver.ThreadingTCPServer):
    """Just enough SMTP (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, QUIT) to receive mail."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, password: str) -> None:
        super().__init__(("127.0.0.1", 0), FakeSmtpHandler)
        self.password = password
        self.received: list[tuple[str, list[str], bytes]] = []
        self.logins: list[str] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class FakeSmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self) -> None:
        server: FakeSmtp = self.server  # type: ignore[assignment]
        sender, recipients = "", []
        self.reply("220 fake.example ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode().rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250-fake.example\r\n250-AUTH PLAIN\r\n250 8BITMIME")
            elif verb == "AUTH":
                _, user, password = base64.b64decode(command.split()[2]).decode().split("\0")
                server.logins.append(user)
                self.reply("235 ok" if password == server.password else "535 bad credentials")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].split()[0].strip("<>"), []
                self.reply("250 ok")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go ahead")
                lines = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                server.received.append((sender, recipients, b"".join(lines)))
                self.reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtp]:
    server = FakeSmtp(password="pa55-word")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def smtp_provider(tmp_path: Path, port: int, password: str = "pa55-word") -> LocalProvider:
    settings = {
        "folder": str(tmp_path / "rm"),
        "smtp": {
            "host": "127.0.0.1",
            "port": port,
            "starttls": False,
            "user": "rmcal",
            "password_env": "RM_SMTP_PASSWORD",
            "from": "bounces@example.com",
        },
    }
    ctx = context(tmp_path, env={"RM_SMTP_PASSWORD": password})
    return LocalProvider(settings, ctx, clock=lambda: NOW)


def test_smtp_delivers_once_and_invitations_too(tmp_path: Path, smtp_server: FakeSmtp) -> None:
    p = smtp_provider(tmp_path, smtp_server.port)
    assert p.send([mail("agenda:k1", to="Bob <bob@example.com>")]) == {"agenda:k1": None}
    assert p.send([mail("agenda:k1", to="Bob <bob@example.com>")]) == {"agenda:k1": None}
    assert len(smtp_server.received) == 1
    sender, recipients, data = smtp_server.received[0]
    assert (sender, recipients) == ("bounces@example.com", ["bob@example.com"])
    delivered = BytesParser(policy=policy.default).parsebytes(data)
    assert delivered["X-Rmcal-Key"] == "agenda:k1"
    assert smtp_server.logins == ["rmcal"]

    s = spec(start=london(2025, 3, 19, 14, 0))
    created(p, s)
    assert len(smtp_server.received) == 2
    _, recipients, data = smtp_server.received[1]
    assert sorted(recipients) == ["ann@example.com", "bob@example.com"]
    assert b'method="REQUEST"' in data
    assert [c.ok for c in p.check()] == [True, True, True, True]


def test_smtp_failure_is_retryable_and_retried(tmp_path: Path, smtp_server: FakeSmtp) -> None:
    wrong = smtp_provider(tmp_path, smtp_server.port, password="not-it")
    result = wrong.send([mail("agenda:k2")])
    failure = result["agenda:k2"]
    assert isinstance(failure, ItemFailure) and failure.retryable
    assert "refused" in failure.message and "not-it" not in failure.message
    assert len(outbox(wrong)) == 1 and smtp_server.received == []
    (check,) = [c for c in wrong.check() if c.name == "smtp"]
    assert not check.ok and "1 message(s) waiting" in check.detail and "not-it" not in check.detail

    right = smtp_provider(tmp_path, smtp_server.port)
    assert right.send([mail("agenda:k3")]) == {"agenda:k3": None}  # flushes k2 as well
    assert sorted(parse_eml_bytes(d)["X-Rmcal-Key"] for _, _, d in smtp_server.received) == [
        "agenda:k2",
        "agenda:k3",
    ]
    assert right.send([mail("agenda:k2")]) == {"agenda:k2": None}
    assert len(smtp_server.received) == 2 and len(outbox(right)) == 2


def test_smtp_server_down_fails_fast_per_message(tmp_path: Path) -> None:
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as probe:
        port = probe.server_address[1]  # a port nobody listens on once closed
    p = smtp_provider(tmp_path, port)
    result = p.send([mail("a:1"), mail("a:2")])
    assert all(isinstance(r, ItemFailure) and r.retryable for r in result.values())
    assert "cannot reach SMTP server" in result["a:1"].message  # type: ignore[union-attr]
    assert len(outbox(p)) == 2


def parse_eml_bytes(data: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(data)  # type: ignore[return-value]


def test_check_reports_an_unwritable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    p = LocalProvider({"folder": str(tmp_path / "file" / "rm")}, context(tmp_path))
    (folder,) = [c for c in p.check() if c.name == "folder"]
    assert not folder.ok and folder.remedy
