"""``tick`` sends every message exactly once: repeated, late and concurrent runs.

Everything runs on the real local provider in a temporary folder (``tests.tickworld``: series
scheduled by ``run_schedule`` on fixed slots, edited the way people edit calendar files); fakes
appear only at the provider's edge, to inject failures and crashes into ``send``. How the
outbox itself retries and resolves crashes is in ``test_outbox.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from rmcal.cli import main
from rmcal.readings import read_programme
from rmcal.runtime import open_provider
from rmcal.store import MailStatus, Mode, Store
from rmcal.tick import due
from tests.golden import check_golden
from tests.scenes import cancel_session, decline_session, move_session
from tests.tickworld import (
    AT_S1_3H,
    S1,
    SCHEDULED_AT,
    Crash,
    CrashingProvider,
    FlakyProvider,
    Idempotent,
    World,
    assert_no_duplicates,
    counts,
    series_key,
)

FAILED, SENDING, SENT = MailStatus.FAILED, MailStatus.SENDING, MailStatus.SENT
SKIPPED, UNCERTAIN = MailStatus.SKIPPED, MailStatus.UNCERTAIN


# -- what is due, when ---------------------------------------------------------------------


def test_agenda_is_due_from_the_lead_time_until_the_session_starts(world: World) -> None:
    early = world.tick(S1 - timedelta(hours=24, minutes=1))
    assert [x.kind for x in early.sent] == ["digest"]  # Monday's digest, nothing else yet
    sent = world.tick(S1 - timedelta(hours=23))
    assert [(line.kind, line.key) for line in sent.sent] == [
        ("agenda", f"agenda:{series_key(world, 0)}:2027-01-13T14:00:00Z")
    ]
    assert sent.sent[0].recipients == ("raj@tick.example.org", "ana@tick.example.org")


def test_feedback_follows_a_held_session_after_the_delay(world: World) -> None:
    world.tick(S1 - timedelta(hours=2))
    end = S1 + timedelta(minutes=45)
    assert [x.kind for x in world.tick(end + timedelta(minutes=59)).sent] == []
    result = world.tick(end + timedelta(hours=1, minutes=1))
    assert [x.key for x in result.sent] == [f"feedback:{series_key(world, 0)}:2027-01-13T14:00:00Z"]
    assert set(result.sent[0].recipients) == {"ana@tick.example.org", "raj@tick.example.org"}


def test_ticking_every_15_minutes_for_two_weeks_sends_each_message_once(world: World) -> None:
    moment = SCHEDULED_AT
    while moment < datetime(2027, 1, 25, 12, 0, tzinfo=UTC):
        world.tick(moment)
        moment += timedelta(
            minutes=15 if S1 - timedelta(days=1) < moment < S1 + timedelta(days=2) else 180
        )
    assert_no_duplicates(world)
    # Sessions 1-2 of both pairs (agenda + feedback each), digests of weeks 1-4.
    assert counts(world.mail_keys()) == Counter({"agenda": 4, "feedback": 4, "digest": 4})
    assert set(world.ledger().values()) == {SENT}


def test_a_repeated_run_at_the_same_moment_sends_nothing(world: World) -> None:
    moment = S1 + timedelta(hours=2)
    first = world.tick(moment)
    assert first.sent
    again = world.tick(moment)
    assert again.sent == [] and again.skipped == []
    assert_no_duplicates(world)


def test_a_late_run_catches_up_what_is_useful_and_records_what_is_stale(world: World) -> None:
    # The first tick ever runs two hours after session 1 ended.
    result = world.tick(S1 + timedelta(hours=3))
    sent = {x.key.split(":")[0] for x in result.sent}
    assert "feedback" in sent and "digest" in sent
    stale = [x for x in result.skipped if x.kind == "agenda"]
    assert [x.key for x in stale] == [f"agenda:{series_key(world, 0)}:2027-01-13T14:00:00Z"]
    assert stale[0].detail == "stale: the session started"
    assert world.ledger()[stale[0].key] == SKIPPED
    # Eight days later, the next run's feedback for session 2 of pair 1 is stale too.
    late = world.tick(S1 + timedelta(days=7) + timedelta(days=8))
    assert any(
        x.kind == "feedback" and x.detail == "stale: more than 7 days after" for x in late.skipped
    )
    assert_no_duplicates(world)


def test_dry_run_lists_and_changes_nothing(world: World) -> None:
    result = world.tick(S1 + timedelta(hours=3), dry_run=True)
    assert Counter(x.kind for x in result.would_send) == AT_S1_3H
    assert result.sent == [] and world.mail_keys() == [] and world.ledger() == {}


def test_cancelled_and_declined_sessions_get_no_agenda_and_no_feedback(world: World) -> None:
    cancel_session(world.series_file(0), 1, how="status")
    decline_session(world.series_file(1), 1, "tom@tick.example.org")
    world.tick(datetime(2027, 1, 13, 0, 0, tzinfo=UTC))
    world.tick(datetime(2027, 1, 16, 0, 0, tzinfo=UTC))
    assert not [k for k in world.mail_keys() if k.endswith("2027-01-13T14:00:00Z")]
    assert not [k for k in world.mail_keys() if k.endswith("2027-01-14T09:00:00Z")]
    ledger = world.ledger()
    with Store.open(world.config.state_path, mode=Mode.READ_ONLY) as store:
        reasons = {
            row.key.split(":")[0] + ":" + row.key[-20:]: row.error
            for row in store.mail_rows(SKIPPED)
        }
    assert reasons == {
        "agenda:2027-01-13T14:00:00Z": "cancelled",
        "feedback:2027-01-13T14:00:00Z": "cancelled",
        "agenda:2027-01-14T09:00:00Z": "declined by mentee",
        "feedback:2027-01-14T09:00:00Z": "declined by mentee",
    }
    assert all(ledger[k] == SKIPPED for k in ledger if k.endswith(("13T14:00:00Z", "14T09:00:00Z")))


def test_the_agenda_follows_a_moved_session(world: World) -> None:
    move_session(world.series_file(0), 2, timedelta(days=2))  # Wed 20 -> Fri 22 Jan
    # 23 hours before the old slot: nothing, the session is now two days later.
    early = world.tick(datetime(2027, 1, 19, 15, 0, tzinfo=UTC))
    assert not [x for x in early.sent if x.key.endswith("2027-01-20T14:00:00Z")]
    result = world.tick(datetime(2027, 1, 21, 15, 0, tzinfo=UTC))
    agenda = [x for x in result.sent if x.kind == "agenda" and x.key.endswith("01-20T14:00:00Z")]
    assert len(agenda) == 1  # keyed by the original slot, sent before the new time
    msg = next(m for m in world.outbox() if m["X-Rmcal-Key"] == agenda[0].key)
    assert "Fri 22 Jan 2027, 14:00 GMT" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_a_nudge_goes_out_once_per_state_change(world: World) -> None:
    cancel_session(world.series_file(0), 2, how="exdate")
    decline_session(world.series_file(0), 3, "ana@tick.example.org")
    moment = datetime(2027, 1, 12, tzinfo=UTC)
    while moment < datetime(2027, 2, 6, tzinfo=UTC):
        world.tick(moment)
        moment += timedelta(hours=6)
    nudges = [k for k in world.mail_keys() if k.startswith("nudge")]
    pair = world.config.pairs[0].id
    assert nudges == [
        f"nudge:{pair}:at-risk:2027-01-18",
        f"nudge:{pair}:off-track:2027-01-18",
    ]
    assert_no_duplicates(world)


def test_the_digest_goes_once_a_week_at_the_leads_own_time(world: World) -> None:
    # Lead One reads her digest on Monday 08:00 in Kolkata = Monday 02:30 UTC.
    monday = datetime(2027, 1, 18, 2, 29, tzinfo=UTC)
    world.tick(monday - timedelta(days=3))  # the week before: W02's digest
    assert all(x.kind != "digest" for x in world.tick(monday).sent)
    sent = world.tick(monday + timedelta(minutes=2)).sent
    assert [x.key for x in sent if x.kind == "digest"] == [
        "digest:lead.one@tick.example.org:2027-W03"
    ]
    for day in range(1, 7):
        later = world.tick(monday + timedelta(days=day))
        assert all(x.kind != "digest" for x in later.sent)
    assert counts(world.mail_keys())["digest"] == 2


# -- failures, crashes and concurrency -----------------------------------------------------


def invoke_with_failing_sends(runner: CliRunner, args: list[str]) -> Result:
    """``rmcal ARGS`` through the CLI with a provider whose every send fails for good."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            "rmcal.runtime.open_provider",
            lambda config, **kw: FlakyProvider(
                open_provider(config, **kw), failures=100, retryable=False
            ),
        )
        return runner.invoke(main, args)


def test_failures_after_retries_exit_3_and_a_rerun_finishes(world: World) -> None:
    runner = CliRunner()
    args = world.args("tick", S1 + timedelta(hours=3))
    provider = FlakyProvider(open_provider(world.config), failures=100, retryable=False)
    result = world.tick(S1 + timedelta(hours=3), provider=provider)
    assert result.sent == [] and Counter(x.kind for x in result.failed) == AT_S1_3H
    assert {world.ledger()[x.key] for x in result.failed} == {FAILED}
    assert world.mail_keys() == []
    # Through the CLI with a provider that fails, exit code 3 lists what is undone ...
    failing = invoke_with_failing_sends(runner, args)
    assert failing.exit_code == 3, failing.output
    assert "FAILED" in failing.output and "mailbox busy" in failing.output
    assert "3 messages failed" in failing.output
    # ... and a plain re-run finishes the job, each message once.
    fixed = runner.invoke(main, args)
    assert fixed.exit_code == 0, fixed.output
    assert counts(world.mail_keys()) == AT_S1_3H
    assert_no_duplicates(world)


def test_uncertain_messages_make_the_cli_exit_3_once(world: World) -> None:
    moment = S1 + timedelta(hours=3)
    with pytest.raises(Crash):
        world.tick(moment, provider=CrashingProvider(open_provider(world.config), False))
    runner = CliRunner()
    args = world.args("tick", moment + timedelta(minutes=1))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            "rmcal.runtime.open_provider",
            lambda config, **kw: Idempotent(open_provider(config, **kw), False),
        )
        first = runner.invoke(main, args)
        second = runner.invoke(main, args)
    # The message in flight at the crash is uncertain; the two queued behind it were never
    # handed over, so they go out now.
    assert first.exit_code == 3 and "UNCERTAIN" in first.output
    check_golden("tick-uncertain.txt", first.output.replace(str(world.config_path), "rmcal.yaml"))
    assert "may or may not have been sent" in first.output
    assert second.exit_code == 0 and "nothing due" in second.output
    # Later ticks keep reminding, without failing again for the same sends.
    assert "note: 1 earlier send still uncertain; rmcal outbox list -c " in second.output


def test_a_second_tick_on_the_same_state_file_waits_or_exits_clearly(world: World) -> None:
    runner = CliRunner()
    args = world.args("tick", S1 + timedelta(hours=3))
    holding, release = threading.Event(), threading.Event()

    def another_run() -> None:  # holds the state file until told to stop
        with Store.open(world.config.state_path):
            holding.set()
            release.wait(10)
            time.sleep(0.5)

    other = threading.Thread(target=another_run)
    other.start()
    holding.wait(10)
    busy = runner.invoke(main, args)
    assert busy.exit_code == 1
    assert "another rmcal process" in busy.output and "--wait SECONDS" in busy.output
    assert world.ledger() == {}
    release.set()  # the other run finishes half a second later; this one waits for it
    waited = runner.invoke(main, [*args, "--wait", "10"])
    other.join()
    assert waited.exit_code == 0, waited.output
    assert counts(world.mail_keys()) == AT_S1_3H


def test_two_processes_ticking_at_once_send_each_message_once(world: World) -> None:
    rmcal = Path(sys.executable).with_name("rmcal")
    args = [str(rmcal), "tick", "-c", str(world.config_path), "--wait", "30"]
    moment = (S1 + timedelta(hours=3)).isoformat()
    runs = [
        subprocess.Popen([*args, "--now", moment], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    assert counts(world.mail_keys()) == AT_S1_3H
    assert sum(out.decode().count("  sent ") for out, _ in outputs) == 3


# -- the pure part -------------------------------------------------------------------------


def test_due_is_pure_and_follows_the_ledger(world: World) -> None:
    moment = S1 + timedelta(hours=3)
    with Store.open(world.config.state_path, mode=Mode.READ_ONLY) as store:
        readings = read_programme(world.config, open_provider(world.config, kv=store), moment)
    feedback = f"feedback:{series_key(world, 0)}:2027-01-13T14:00:00Z"
    digest = "digest:lead.one@tick.example.org:2027-W02"
    base = due(readings, world.config, {}, moment)
    agenda = f"agenda:{series_key(world, 1)}:2027-01-14T09:00:00Z"
    assert [m.key for m in base.send] == [digest, agenda, feedback]  # by due time
    assert due(readings, world.config, {}, moment) == base
    for status, expected in [
        (SENT, [digest, agenda]),
        (SKIPPED, [digest, agenda]),
        (UNCERTAIN, [digest, agenda]),
        (SENDING, [digest, agenda]),
        (FAILED, [digest, agenda, feedback]),
    ]:
        plan = due(readings, world.config, {feedback: status}, moment)
        assert [m.key for m in plan.send] == expected, status
    stale = due(readings, world.config, {feedback: FAILED}, S1 + timedelta(days=8))
    assert any(s.key == feedback and s.reason.startswith("stale") for s in stale.skip)


def test_the_tick_report_as_an_operator_reads_it(world: World) -> None:
    runner = CliRunner()
    args = world.args("tick", S1 + timedelta(hours=3))
    dry = runner.invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    check_golden("tick-dry-run.txt", dry.output)
    real = runner.invoke(main, args)
    assert real.exit_code == 0, real.output
    check_golden("tick.txt", real.output)
    again = runner.invoke(main, args)
    assert again.output == (
        "  clash watch: read once a day; next read after 2027-01-14 13:00 UTC\n"
        "tick at 2027-01-13T17:00:00+00:00: nothing due\n"
    )


def test_the_tick_report_is_json_for_scripts(world: World) -> None:
    runner = CliRunner()
    moment = S1 + timedelta(hours=3)
    out = runner.invoke(main, world.args("tick", moment, "--json"))
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert sorted(x["kind"] for x in data["sent"]) == ["agenda", "digest", "feedback"]
    assert data["skipped"][0]["detail"] == "stale: the session started"


def test_after_losing_the_state_file_a_baseline_run_prevents_resending(world: World) -> None:
    moment = S1 + timedelta(hours=3)
    assert counts(x.key for x in world.tick(moment).sent) == AT_S1_3H
    for suffix in ("", "-wal", "-shm"):
        Path(f"{world.config.state_path}{suffix}").unlink(missing_ok=True)
    runner = CliRunner()
    args = world.args("tick", moment + timedelta(hours=1))
    baseline = runner.invoke(main, [*args, "--baseline"])
    assert baseline.exit_code == 0, baseline.output
    assert "baseline: recorded as done without sending" in baseline.output
    assert runner.invoke(main, args).output.endswith("nothing due\n")
    assert counts(world.mail_keys()) == AT_S1_3H


def test_now_reaches_the_ledgers_timestamps(world: World) -> None:
    moment = S1 + timedelta(hours=3)
    args = world.args("tick", moment)
    assert CliRunner().invoke(main, args).exit_code == 0
    with Store.open(world.config.state_path, mode=Mode.READ_ONLY) as store:
        stamps = {row.created_at[:16] for row in store.mail_rows()}
    assert stamps == {"2027-01-13T17:00"}


def test_a_late_run_counts_what_it_skips_in_one_line_and_verbose_lists_it(world: World) -> None:
    late = S1 + timedelta(weeks=3)  # every earlier agenda and feedback is stale by now
    runner = CliRunner()
    dry = runner.invoke(main, [*world.args("tick", late), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    skipped = [line for line in dry.output.splitlines() if "skipped" in line]
    assert len(skipped) == 1 and skipped[0].startswith("tick at ")
    verbose = runner.invoke(main, ["--verbose", *world.args("tick", late), "--dry-run"])
    listed = [line for line in verbose.output.splitlines() if line.startswith("  skipped ")]
    count = int(skipped[0].split(" skipped")[0].rsplit(" ", 1)[-1])
    assert count > 2 and len(listed) == count
    assert "stale" in verbose.output


def test_quiet_prints_nothing_when_all_is_well_and_only_problems_otherwise(world: World) -> None:
    runner = CliRunner()
    args = world.args("tick", S1 + timedelta(hours=3), "--quiet")
    failing = invoke_with_failing_sends(runner, args)
    assert failing.exit_code == 3
    lines = failing.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1] if line.startswith("  FAILED")] == ["FAILED"] * 3
    assert lines[-1] == "tick at 2027-01-13T17:00:00+00:00: 1 skipped, 3 failed"
    assert failing.stderr.startswith("rmcal: 3 messages failed (listed above)")
    quiet = runner.invoke(main, args)
    assert quiet.exit_code == 0 and quiet.output == ""
    assert counts(world.mail_keys()) == AT_S1_3H  # it did send
    assert runner.invoke(main, args).output == ""  # nothing due: still nothing
