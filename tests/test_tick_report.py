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
        "tick to retry the failed ones; the next tick looks the uncertain ones up in the "
        "organizer's mailbox"
    )
    tick = result(uncertain=[DOUBT])
    tick.replies_failed = "imap: login refused"
    assert undone_message(tick) == (
        "1 message may or may not have been sent and replies could not be read (listed above); "
        "re-run tick to read the replies again; tick will not send the uncertain ones again; "
        "settle each with the command shown"
    )
