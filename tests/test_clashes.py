"""The clash watch: a session someone has booked over is noticed, told once, and listed.

On the real local provider (``tests.tickworld``): people's calendars are busy files, written the
way calendar apps export them; the pair's own series is busy time too (the provider reads it),
so "excluding the session itself" is exercised, not assumed. Pair 0 (Ana in London, Raj in
Kolkata) meets Wednesdays 14:00 UTC from 13 Jan 2027; pair 1 (Li in Singapore, Tom in London)
Thursdays 09:00 UTC from 14 Jan; both windows are 07:00-21:00 in each person's own zone.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rmcal.clashes import WATCH_EVERY, find_clashes, watch_due, week_of
from rmcal.cli import main
from rmcal.errors import ProviderError
from rmcal.schedule import CLASH_CHECK_BUDGET, ClashCheck, clash_check
from rmcal.slots import fits_window
from rmcal.tick import headsup_key
from tests.builders import pair, person, weekly_reading, window
from tests.scenes import move_session
from tests.tickworld import AT_S1_3H, CONFIG, S1, World, counts, make_world, series_key

Interval = tuple[datetime, datetime]
RAJ = "raj@tick.example.org"
TOM = "tom@tick.example.org"
SESSION_2 = datetime(2027, 1, 20, 14, 0, tzinfo=UTC)  # pair 0, 45 minutes
TOM_SESSION = datetime(2027, 1, 21, 9, 0, tzinfo=UTC)  # pair 1, 45 minutes


def book(world: World, email: str, *meetings: Interval) -> None:
    """``email``'s calendar as an Outlook export in the local provider's busy folder."""
    folder = world.folder / "local" / "busy"
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Microsoft Corporation//Outlook 16//EN"]
    for number, (start, end) in enumerate(meetings):
        lines += [
            "BEGIN:VEVENT",
            f"UID:meeting-{number}@elsewhere.example",
            "DTSTAMP:20270101T000000Z",
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{end:%Y%m%dT%H%M%SZ}",
            "SUMMARY:Another commitment",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    (folder / f"{email}.ics").write_text("\r\n".join(lines) + "\r\n")


def key_of(message: Any) -> str:
    return str(message["X-Rmcal-Key"]).strip()  # a long key is folded onto its own line


def headsups(world: World) -> list[Any]:
    return [m for m in world.outbox() if key_of(m).startswith("headsup:")]


def text(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content())


def test_a_session_booked_over_gets_one_heads_up_with_free_times(world: World) -> None:
    book(world, RAJ, (SESSION_2 - timedelta(minutes=30), SESSION_2 + timedelta(minutes=30)))
    runner = CliRunner()
    first = runner.invoke(main, world.args("tick", S1 + timedelta(hours=3), "--json"))
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    key = f"headsup:{series_key(world, 0)}:2027-01-20T14:00:00Z:{RAJ}"
    assert [line["key"] for line in report["sent"] if line["kind"] == "headsup"] == [key]
    assert counts(world.mail_keys()) == AT_S1_3H + Counter({"headsup": 1})

    # Three free times, the nearest one a day first, all that week and inside both hours.
    (clash,) = report["clash_watch"]["clashes"]
    assert clash["busy"] == RAJ and clash["session"] == 2
    assert clash["free"] == [
        "2027-01-19T19:30:00+05:30",
        "2027-01-20T20:00:00+05:30",
        "2027-01-21T19:30:00+05:30",
    ]
    (message,) = headsups(world)
    assert set(message["To"].addresses[i].addr_spec for i in range(2)) == {
        "ana@tick.example.org",
        RAJ,
    }
    assert message["Subject"] == (
        "Your session on Wed 20 Jan clashes with another commitment of Raj's"
    )
    body = text(message)
    assert "another commitment in Raj Patel's calendar" in body
    assert "- Tue 19 Jan, 19:30 IST for Raj, Tue 19 Jan, 14:00 GMT for Ana" in body
    assert message.get_body(("html",)) is not None

    # The lead's digest of the same run lists it.
    (digest,) = [m for m in world.outbox() if key_of(m).startswith("digest:")]
    assert "SESSIONS BOOKED OVER" in text(digest)
    assert "- Ana Silva & Raj Patel: session 2, Wed 20 Jan, 19:30 IST" in text(digest)

    # Free/busy is read once a day: four hours later the watch waits for tomorrow's read.
    again = runner.invoke(main, world.args("tick", S1 + timedelta(hours=4)))
    assert again.exit_code == 0, again.output
    assert "clash watch: read once a day; next read after 2027-01-14 13:00 UTC" in again.output
    # Exactly once: a day later the clash is still there, and it is not told again.
    again = runner.invoke(main, world.args("tick", S1 + timedelta(days=1)))
    assert again.exit_code == 0, again.output
    assert "1 clash, told earlier" in again.output
    assert len(headsups(world)) == 1


def test_the_session_itself_and_meetings_that_touch_it_are_no_clash(world: World) -> None:
    book(
        world,
        TOM,
        (TOM_SESSION - timedelta(minutes=45), TOM_SESSION),  # ends as the session starts
        (TOM_SESSION + timedelta(minutes=45), TOM_SESSION + timedelta(hours=2)),  # starts at end
    )
    result = world.tick(S1 + timedelta(hours=3))
    assert result.watch.sessions == 4 and result.watch.people == 4
    assert result.watch.clashes == ()
    assert headsups(world) == []


def test_a_commitment_at_exactly_the_sessions_time_is_a_clash(world: World) -> None:
    # Free/busy names no event: the session shows once in Tom's busy time and is taken out
    # once; a second interval of the same times is another commitment.
    book(world, TOM, (TOM_SESSION, TOM_SESSION + timedelta(minutes=45)))
    result = world.tick(S1 + timedelta(hours=3))
    assert [(c.person.email, c.session.number) for c in result.watch.clashes] == [(TOM, 2)]


def test_a_floating_time_is_read_in_the_zone_of_the_person_whose_calendar_it_is(
    world: World,
) -> None:
    # Li's calendar app (in Singapore) exports "17:00-18:00" without a zone: that is 09:00 UTC,
    # the time of Li and Tom's session, not 17:00 in the programme's London.
    folder = world.folder / "local" / "busy"
    folder.mkdir(parents=True)
    (folder / "li@tick.example.org.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 14//EN\r\n"
        "BEGIN:VEVENT\r\nUID:school-run@li\r\nDTSTAMP:20270101T000000Z\r\n"
        "DTSTART:20270121T170000\r\nDTEND:20270121T180000\r\nSUMMARY:School run\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    result = world.tick(S1 + timedelta(hours=3))
    assert [(c.person.email, c.session.start) for c in result.watch.clashes] == [
        ("li@tick.example.org", TOM_SESSION)
    ]


def test_a_session_moved_onto_another_commitment_is_a_new_clash(world: World) -> None:
    book(world, RAJ, (SESSION_2 - timedelta(minutes=30), SESSION_2 + timedelta(minutes=30)))
    world.tick(S1 + timedelta(hours=3))
    assert len(headsups(world)) == 1

    # They follow the advice: the session moves an hour later, clear of the meeting.
    move_session(world.series_file(0), 2, timedelta(hours=1))
    moved = world.tick(S1 + timedelta(days=1, hours=3))  # the next day's read
    assert moved.watch.clashes == ()
    # Then Raj's afternoon fills up again: a new clash, a new heads-up on the next read.
    later = SESSION_2 + timedelta(hours=1)
    book(world, RAJ, (later, later + timedelta(hours=1)))
    assert world.tick(S1 + timedelta(days=1, hours=6)).watch.clashes == ()  # read once a day
    world.tick(S1 + timedelta(days=2, hours=3))
    keys = [key_of(m) for m in headsups(world)]
    assert keys[1] == f"{keys[0]}@2027-01-20T15:00:00Z"


def test_only_the_next_clash_watch_days_are_read(tmp_path: Path) -> None:
    world = make_world(
        tmp_path, CONFIG.replace("  sessions: 4\n", "  sessions: 4\n  clash_watch_days: 3\n")
    )
    book(world, RAJ, (SESSION_2, SESSION_2 + timedelta(hours=1)))
    early = world.tick(S1 + timedelta(hours=3))
    assert early.watch.window is not None
    assert early.watch.window[1] <= datetime(2027, 1, 18, tzinfo=UTC)  # this week only
    assert early.watch.clashes == ()
    near = world.tick(datetime(2027, 1, 18, 15, 0, tzinfo=UTC))
    assert [c.session.number for c in near.watch.clashes] == [2]
    assert len(headsups(world)) == 1


class CountingProvider:
    """The real provider, counting free/busy reads (or failing them)."""

    def __init__(self, inner: Any, fail: bool = False) -> None:
        self.inner = inner
        self.fail = fail
        self.reads: list[Sequence[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def busy(self, emails: Sequence[str], start: datetime, end: datetime, **kw: Any) -> Any:
        self.reads.append(emails)
        if self.fail:
            raise ProviderError("local", "read free/busy", "the busy folder is unreachable")
        return self.inner.busy(emails, start, end, **kw)


def _provider(world: World, now: datetime, fail: bool = False) -> CountingProvider:
    from rmcal.runtime import open_provider

    return CountingProvider(open_provider(world.config, clock=lambda: now), fail=fail)


def test_a_watch_of_zero_days_reads_no_free_busy(tmp_path: Path) -> None:
    world = make_world(
        tmp_path, CONFIG.replace("  sessions: 4\n", "  sessions: 4\n  clash_watch_days: 0\n")
    )
    now = S1 + timedelta(hours=3)
    provider = _provider(world, now)
    result = world.tick(now, provider=provider)  # type: ignore[arg-type]
    assert provider.reads == []
    assert result.watch.window is None


def test_one_read_covers_everyone(world: World) -> None:
    now = S1 + timedelta(hours=3)
    provider = _provider(world, now)
    world.tick(now, provider=provider)  # type: ignore[arg-type]
    assert [sorted(r) for r in provider.reads] == [
        sorted(["ana@tick.example.org", RAJ, "li@tick.example.org", TOM])
    ]


def test_a_failed_read_stops_only_the_heads_ups(world: World) -> None:
    now = S1 + timedelta(hours=3)
    result = world.tick(now, provider=_provider(world, now, fail=True))  # type: ignore[arg-type]
    assert counts(world.mail_keys()) == AT_S1_3H  # agenda, feedback and digest still went out
    assert result.watch_failed is not None and "busy folder is unreachable" in result.watch_failed
    assert result.undone == [f"clash watch: {result.watch_failed}"]


def test_unknown_free_busy_is_reported_not_mailed() -> None:
    p = pair(person("mentor", "Europe/London"), person("mentee", "Europe/London"))
    first = datetime(2027, 1, 11, 10, tzinfo=UTC)
    reading = weekly_reading(p, first, first - timedelta(days=1))
    session = reading.health.sessions[0]
    busy = {p.mentor.email: None, p.mentee.email: ((session.start, session.end),) * 2}
    watch = find_clashes([reading], busy, first - timedelta(days=1))
    assert watch.unknown == (p.mentor.email,)
    assert [c.person.email for c in watch.clashes] == [p.mentee.email]
    assert headsup_key(watch.clashes[0]).endswith(f":2027-01-11T10:00:00Z:{p.mentee.email}")


def test_free_times_lie_in_the_week_inside_both_windows_and_clear_of_busy_time() -> None:
    p = pair(
        person("mentor", "Asia/Kathmandu", window("13:00", "16:00")),
        person("mentee", "Europe/Berlin", window("08:00", "12:00")),
    )
    first = datetime(2027, 3, 1, 8, 15, tzinfo=UTC)  # Mon 13:00 Kathmandu, 09:15 Berlin
    now = first - timedelta(days=2)
    reading = weekly_reading(p, first, now)
    session = reading.health.sessions[0]
    # The mentee is busy over the session and all Tuesday morning.
    tuesday = (datetime(2027, 3, 2, 7, tzinfo=UTC), datetime(2027, 3, 2, 11, tzinfo=UTC))
    busy = {
        p.mentor.email: ((session.start, session.end),),
        p.mentee.email: ((session.start, session.end), (session.start, session.end), tuesday),
    }
    (clash,) = find_clashes([reading], busy, now).clashes
    begin, end = week_of(session.start, p)
    assert len(clash.free) == 3
    for moment in clash.free:
        assert begin <= moment and moment + timedelta(minutes=45) <= end
        assert not (moment < session.end and moment + timedelta(minutes=45) > session.start)
        assert not (moment < tuesday[1] and moment + timedelta(minutes=45) > tuesday[0])
        for who in p.people:
            assert fits_window(who.zone, p.window_of(who), moment, timedelta(minutes=45))
    # Nearest first, a day each: Monday just before the session (just after is as near, and
    # later), then the session's time on the nearest days with room (Tuesday is busy).
    assert [m.astimezone(p.mentee.zone).strftime("%a %H:%M") for m in clash.free] == [
        "Mon 08:30",
        "Wed 09:15",
        "Thu 09:15",
    ]


# -- schedule: unchanged series ------------------------------------------------------------


def test_a_rerun_of_schedule_reports_clashes_of_unchanged_series(world: World) -> None:
    third = SESSION_2 + timedelta(weeks=1)
    book(
        world, RAJ, (SESSION_2, SESSION_2 + timedelta(hours=1)), (third, third + timedelta(hours=1))
    )
    runner = CliRunner()
    now = S1 + timedelta(hours=3)
    rerun = runner.invoke(main, world.args("schedule", now))
    assert rerun.exit_code == 0, rerun.output
    assert "Ana Silva / Raj Patel (unchanged series):" in rerun.output
    assert "Wed 2027-01-20 14:00 GMT: busy: raj@tick.example.org" in rerun.output
    assert "Wed 2027-01-27 14:00 GMT: busy: raj@tick.example.org" in rerun.output
    assert "Clashes checked for 2 unchanged series from now on (free/busy of 4 people)." in (
        rerun.output
    )
    assert rerun.output.splitlines()[-1] == "Nothing changed: 2 series already match the config."
    quiet = runner.invoke(main, world.args("schedule", now, "--no-check-clashes"))
    assert "unchanged series)" not in quiet.output
    assert "not checked (--no-check-clashes)" in quiet.output


class _Caps:
    def __init__(self, people: int | None, days: int | None) -> None:
        from rmcal.provider import Capabilities

        self.capabilities = Capabilities(
            video=False,
            attendance=False,
            batch_size=1,
            sends_invitations=False,
            busy_people_per_call=people,
            busy_window=None if days is None else timedelta(days=days),
        )


@pytest.mark.parametrize(
    ("pairs", "weeks", "people", "days", "calls", "checked"),
    [
        (200, 40, 20, 61, 100, True),  # Graph: 20 groups of 20 people x 5 windows of 61 days
        (200, 60, 20, 61, 140, False),  # over the budget: not by default
        (200, 40, 50, 90, 32, True),  # Google: 8 groups of 50 x 4 windows of 90 days
        (2000, 40, None, None, 0, True),  # local: no network at all
    ],
)
def test_whether_a_rerun_checks_clashes_is_its_cost_in_round_trips(
    pairs: int, weeks: int, people: int | None, days: int | None, calls: int, checked: bool
) -> None:
    from rmcal.plan import Keep
    from rmcal.provider import Series

    now = datetime(2027, 1, 4, tzinfo=UTC)
    kept = []
    for n in range(pairs):
        p = pair(person(f"m{n}", "Europe/London"), person(f"e{n}", "Europe/London"))
        series = Series("k", "x", "t", now, timedelta(hours=1), "UTC", "FREQ=WEEKLY", (), {})
        kept.append(Keep(p, series, None))
    check = clash_check(kept, set(), _Caps(people, days), now, now + timedelta(weeks=weeks), None)
    assert check == ClashCheck(
        checked=checked, series=pairs, people=2 * pairs, calls=calls, asked=None
    )
    if not checked:
        assert check.describe().endswith(
            f"more than {CLASH_CHECK_BUDGET}; pass --check-clashes to check them anyway."
        )
    forced = clash_check(kept, set(), _Caps(people, days), now, now + timedelta(weeks=weeks), True)
    assert forced is not None and forced.checked


def test_the_watch_reads_once_a_day_and_on_the_run_that_sends_a_digest(world: World) -> None:
    """An idle cron tick reads no free/busy: the watch reads when its last read is 20 hours
    old, and on the run that sends a lead's digest, which lists the clashes."""
    assert world.tick(S1 + timedelta(hours=3)).watch.window is not None  # first run: read
    sunday = datetime(2027, 1, 17, 14, 0, tzinfo=UTC)
    assert world.tick(sunday).watch.window is not None  # four days later: read
    book(world, TOM, (TOM_SESSION - timedelta(minutes=30), TOM_SESSION + timedelta(minutes=30)))
    idle = world.tick(sunday + timedelta(hours=2))
    assert idle.watch.window is None and idle.watch_next == sunday + WATCH_EVERY
    assert headsups(world) == []
    # Monday 08:05: 18 hours after Sunday's read, but the digest is due: read, and told.
    monday = world.tick(datetime(2027, 1, 18, 8, 5, tzinfo=UTC))
    assert [c.person.email for c in monday.watch.clashes] == [TOM]
    assert len(headsups(world)) == 1
    assert world.tick(datetime(2027, 1, 18, 9, 0, tzinfo=UTC)).watch.window is None


@pytest.mark.parametrize(
    ("last", "hours", "reads"),
    [(None, 0, True), (0, 1, False), (0, 19.9, False), (0, 20, True), (10, 0, True)],
)
def test_watch_due_once_a_day_and_after_a_clock_set_back(
    last: int | None, hours: float, reads: bool
) -> None:
    """A last read in the future (``--now`` set back, a clock corrected) reads again."""
    now = datetime(2027, 1, 13, 12, tzinfo=UTC)
    read_at = None if last is None else now + timedelta(hours=last)
    assert watch_due(read_at, now + timedelta(hours=hours)) is reads
