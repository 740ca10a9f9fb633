"""``rmcal outbox list`` / ``rmcal outbox resolve``, and uncertain sends in ``rmcal status``,
through the real CLI on the local provider.

Uncertain sends are made the way they happen: a run "crashes" after the provider sent (the
ledger still says sending), on a provider that cannot drop duplicates, and the next tick marks
them uncertain.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from rmcal.cli import main
from rmcal.runtime import open_provider
from rmcal.store import MailStatus
from tests.tickworld import S1, Crash, CrashingProvider, Idempotent, World

MOMENT = S1 + timedelta(hours=3)


def run(world: World, command: str, *args: str) -> tuple[int, str]:
    """``rmcal <command> -c <the world's config> <args>``; (exit code, output)."""
    path = command.split()
    result = CliRunner().invoke(main, [*path, "-c", str(world.config_path), *args])
    return result.exit_code, result.output


@pytest.fixture
def doubtful(world: World) -> list[str]:
    """Three uncertain sends (an agenda, a feedback request, a digest); their keys."""
    with pytest.raises(Crash):
        world.tick(MOMENT, provider=CrashingProvider(open_provider(world.config), False))
    result = world.tick(
        MOMENT + timedelta(minutes=1), provider=Idempotent(open_provider(world.config), False)
    )
    return sorted(line.key for line in result.uncertain)


def test_list_shows_each_uncertain_send_with_the_command_that_settles_it(
    world: World, doubtful: list[str]
) -> None:
    code, out = run(world, "outbox list")
    assert code == 0, out
    assert out.startswith("3 sends may or may not have gone out (uncertain):\n")
    for key in doubtful:
        assert (
            f"rmcal outbox resolve -c {world.config_path} {key} --sent (not there: --resend)"
            in (out)
        )
    code, out = run(world, "outbox list", "--json")
    rows = json.loads(out)
    assert sorted(r["key"] for r in rows) == doubtful
    assert {r["status"] for r in rows} == {"uncertain"}
    assert rows[0]["resolve"][1].endswith(" --resend")


def test_list_other_statuses_and_the_whole_ledger(world: World, doubtful: list[str]) -> None:
    code, out = run(world, "outbox list", "--status", "skipped")
    assert code == 0 and out.splitlines()[-1].endswith("1 row.")
    code, out = run(world, "outbox list", "--status", "all", "--json")
    assert {r["status"] for r in json.loads(out)} >= {"uncertain", "skipped"}


def test_resolve_sent_records_it_and_the_next_tick_leaves_it_alone(
    world: World, doubtful: list[str]
) -> None:
    key = doubtful[0]
    code, out = run(world, "outbox resolve", key, "--sent", "--dry-run")
    assert (code, out) == (0, f"{key}: would be recorded as sent\n")
    assert world.ledger()[key] is MailStatus.UNCERTAIN
    code, out = run(world, "outbox resolve", key, "--sent")
    assert (code, out) == (0, f"{key}: recorded as sent\n")
    assert world.ledger()[key] is MailStatus.SENT
    code, out = run(world, "outbox list")
    assert out.startswith("2 sends may or may not have gone out")


def test_resolve_resend_sends_the_same_message_once(world: World, doubtful: list[str]) -> None:
    key = next(k for k in doubtful if k.startswith("agenda:"))
    before = world.mail_keys().count(key)
    code, out = run(world, "outbox resolve", key, "--resend", "--json")
    assert code == 0, out
    answer = json.loads(out)
    assert (answer["status"], answer["resent"], answer["dry_run"]) == ("sent", True, False)
    assert world.ledger()[key] is MailStatus.SENT
    # The local outbox already held it (the crash happened after the send): still one copy.
    assert world.mail_keys().count(key) == before == 1
    code, out = run(world, "outbox resolve", key, "--resend")
    assert code == 2
    assert out == (
        f"rmcal: error: KEY: {key!r} is recorded sent, not uncertain: there is nothing to "
        "resolve; `rmcal outbox list` shows the uncertain sends and their keys\n"
    )


def test_resolve_needs_one_of_sent_and_resend(world: World, doubtful: list[str]) -> None:
    code, out = run(world, "outbox resolve", doubtful[0])
    assert code == 2 and "choose --sent (it went out) or --resend (send it again)" in out


def test_status_lists_uncertain_sends_under_the_table(world: World, doubtful: list[str]) -> None:
    now = MOMENT.isoformat()
    code, out = run(world, "status", "--now", now)
    assert code == 0, out
    section = out.split("3 sends may or may not have gone out (uncertain):\n", 1)[1]
    assert section.count("rmcal outbox resolve") == 3
    code, out = run(world, "status", "--now", now, "--json")
    assert len(json.loads(out)["uncertain_sends"]) == 3
    lead_only = run(world, "status", "--now", now, "--json", "--lead", "lead.one@tick.example.org")
    assert len(json.loads(lead_only[1])["uncertain_sends"]) == 3  # the lead sees all pairs


def test_status_says_nothing_of_uncertain_sends_when_there_are_none(world: World) -> None:
    code, out = run(world, "status", "--now", MOMENT.isoformat())
    assert code == 0 and "uncertain" not in out


def test_list_says_so_when_nothing_is_uncertain(world: World) -> None:
    assert run(world, "outbox list") == (0, "No uncertain sends.\n")
