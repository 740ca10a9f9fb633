"""``rmcal tick``'s report: the one-line-per-message layout (default, ``--quiet``, ``--verbose``)
together with what the exactly-once ledger adds: uncertain sends carry the command that settles
them at every level, sends the mailbox lookup confirmed are listed, the run's notes follow."""

from __future__ import annotations

from datetime import UTC, datetime

from rmcal.cli.tick_report import render_tick, undone_message
from rmcal.tick import Line, TickResult

NOW = datetime(2027, 1, 13, 17, 0, tzinfo=UTC)
KEY = "agenda:rm1:2027-01-14T09:00:00Z"
AGENDA = Line(KEY, "agenda", "p1", ("tom@example.org",), "Session 1: set the agenda")
WHY = "the connection dropped after the request went out"
DOUBT = Line(KEY, "agenda", "p1", AGENDA.recipients, AGENDA.subject, WHY)
BY_HAND = f"rmcal outbox resolve -c 'my programme.yaml' {KEY} --sent"


def result(**lists: list[Line]) -> TickResult:
    return TickResult(now=NOW, dry_run=False, **lists)


def test_an_uncertain_send_says_how_to_settle_it_in_every_mode() -> None:
    tick = result(uncertain=[DOUBT])
    lines = render_tick(tick, config_path="my programme.yaml").splitlines()
    assert lines == [
        "  UNCERTAIN  agenda    to tom@example.org: Session 1: set the agenda",
        f"             {WHY}",  # the key is in the command below, not repeated here
        f"             found in the organizer's sent items? {BY_HAND} (not there: --resend)",
        "tick at 2027-01-13T17:00:00+00:00: 1 uncertain",
    ]
    quiet = render_tick(tick, config_path="my programme.yaml", quiet=True)
    assert quiet.splitlines() == lines  # a problem: --quiet prints it all
    verbose = render_tick(tick, config_path="my programme.yaml", verbose=True).splitlines()
    assert verbose[0] == f"  UNCERTAIN  agenda    {KEY}"
    assert verbose[3] == lines[2]


def test_with_the_mailbox_lookup_on_the_next_tick_settles_it() -> None:
    tick = result(uncertain=[DOUBT])
    tick.lookup = True
    hint = render_tick(tick, config_path="my programme.yaml").splitlines()[2]
    assert hint == (
        f"             the next tick looks it up in the organizer's mailbox (by hand: {BY_HAND})"
    )


def test_a_send_the_lookup_found_is_listed_and_notes_follow_the_messages() -> None:
    tick = result(confirmed=[AGENDA], still_uncertain=[DOUBT, DOUBT])
    tick.notes = ["1 uncertain send not in the organizer's mailbox yet"]
    assert render_tick(tick, config_path="c.yaml").splitlines() == [
        "  confirmed  agenda    to tom@example.org: Session 1: set the agenda",
        "note: 1 uncertain send not in the organizer's mailbox yet",
        "note: 2 earlier sends still uncertain; rmcal outbox list -c c.yaml shows them and how "
        "to settle each",
        "tick at 2027-01-13T17:00:00+00:00: 1 confirmed",
    ]
    # Nothing went wrong in this run: --quiet keeps cron silent, notes included.
    assert render_tick(tick, config_path="c.yaml", quiet=True) == ""


def test_the_closing_line_says_what_happens_to_each_kind_of_problem() -> None:
    tick = result(uncertain=[DOUBT, DOUBT])
    assert undone_message(tick) == (
        "2 messages may or may not have been sent (listed above); tick will not send them "
        "again; settle each with the command shown"
    )
    tick = result(failed=[AGENDA], uncertain=[DOUBT])
    tick.lookup = True
    assert undone_message(tick) == (
        "1 message failed and 1 message may or may not have been sent (listed above); re-run "
        "tick to retry the failed one; the next tick looks the uncertain one up in the "
        "organizer's mailbox"
    )
    tick = result(uncertain=[DOUBT])
    assert undone_message(tick) == (
        "1 message may or may not have been sent (listed above); tick will not send it again; "
        "settle it with the command shown"
    )
    tick = result(uncertain=[DOUBT])
    tick.replies_failed = "imap: login refused"
    assert undone_message(tick) == (
        "1 message may or may not have been sent and replies could not be read (listed above); "
        "re-run tick to read the replies again; tick will not send the uncertain one again; "
        "settle it with the command shown"
    )


def test_the_clash_watch_line_follows_the_messages_and_a_failed_read_is_a_problem() -> None:
    """The clash watch's line comes after the messages and before the notes; --quiet drops it
    unless free/busy could not be read, which is a problem at every level and in the exit-3
    line."""
    from rmcal.clashes import Watch

    window = (NOW, datetime(2027, 2, 1, tzinfo=UTC))
    tick = result(sent=[AGENDA])
    tick.watch = Watch(window=window, people=4, sessions=3, pairs=2)
    tick.notes = ["a note"]
    assert render_tick(tick).splitlines() == [
        "  sent       agenda    to tom@example.org: Session 1: set the agenda",
        "  clash watch: 3 sessions of 2 pairs (free/busy of 4 people until 2027-02-01): no clash",
        "note: a note",
        "tick at 2027-01-13T17:00:00+00:00: 1 sent",
    ]
    assert render_tick(tick, quiet=True) == ""
    failed = result()
    failed.watch_failed = "graph: getSchedule: 503"
    line = "  FAILED     clash watch: graph: getSchedule: 503"
    assert render_tick(failed, quiet=True).splitlines()[0] == line
    assert render_tick(failed).splitlines()[0] == line
    assert undone_message(failed) == (
        "free/busy for the clash watch could not be read (listed above); re-run tick to read "
        "free/busy again"
    )
    failed.replies_failed = "imap: login refused"
    assert undone_message(failed) == (
        "replies could not be read and free/busy for the clash watch could not be read (listed "
        "above); re-run tick to read the replies and free/busy again"
    )
