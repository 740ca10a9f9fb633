"""``tick`` sends every message exactly once: repeated, late, concurrent and crashed runs.

Everything runs on the real local provider in a temporary folder (series scheduled by
``run_schedule`` on fixed slots, edited the way people edit calendar files); fakes appear only
at the provider's edge, to inject failures and crashes into ``send``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as DEFAULT_POLICY
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rmcal.cli import main
from rmcal.config import load_config
from rmcal.errors import ProviderError
from rmcal.model import Config
from rmcal.provider import ItemFailure, Provider
from rmcal.runtime import open_provider
from rmcal.schedule import run_schedule
from rmcal.status import read_programme
from rmcal.store import FAILED, SENDING, SENT, SKIPPED, UNCERTAIN, Store
from rmcal.tick import PENDING, TickResult, due, run_tick
from tests.scenes import cancel_session, decline_session, move_session

CONFIG = """\
programme:
  name: Tick Programme
  purpose: Learn from each other
  organizer: {email: rm@tick.example.org, name: RM Team}
  timezone: Europe/London
  leads:
    - {email: lead.one@tick.example.org, name: Lead One, timezone: Asia/Kolkata, cohorts: [c1]}
provider: {kind: local, folder: ./local}
state: ./state.db
defaults:
  cadence: weekly
  sessions: 4
  duration: 45m
  agenda_lead: 24h
  feedback_delay: 1h
  digest: {weekday: Mon, time: "08:00"}
  window: {days: Mon-Fri, hours: "07:00-21:00"}
cohorts:
  - id: c1
    start: 2027-01-11
    pairs:
      - mentor: {email: ana@tick.example.org, name: Ana Silva, timezone: Europe/London}
        mentee: {email: raj@tick.example.org, name: Raj Patel, timezone: Asia/Kolkata}
        slot: Wed 14:00 Europe/London
      - mentor: {email: li@tick.example.org, name: Li Wei, timezone: Asia/Singapore}
        mentee: {email: tom@tick.example.org, name: Tom Hart, timezone: Europe/London}
        slot: Thu 09:00
"""
SCHEDULED_AT = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
# Pair 1 meets Wed 13, 20, 27 Jan and 3 Feb at 14:00 UTC; pair 2 Thu 14, 21, 28 Jan, 4 Feb 09:00.
S1 = datetime(2027, 1, 13, 14, 0, tzinfo=UTC)
# What a first run at S1 + 3 h sends: pair 1's feedback, pair 2's first agenda, Monday's digest.
AT_S1_3H = Counter({"agenda": 1, "feedback": 1, "digest": 1})


@dataclass
class World:
    folder: Path
    config: Config

    @property
    def config_path(self) -> Path:
        return self.folder / "rmcal.yaml"

    def tick(self, now: datetime, provider: Provider | None = None, **kw: Any) -> TickResult:
        with Store.open(self.config.state_path) as store:
            real = provider or open_provider(self.config, kv=store)
            return run_tick(self.config, real, store, now=now, retry_delay=0, **kw)

    def outbox(self) -> list[EmailMessage]:
        """Session-loop messages in the outbox (invitations left out), oldest first."""
        found = []
        for path in sorted((self.folder / "local" / "outbox").glob("*.eml")):
            msg = message_from_bytes(path.read_bytes(), policy=DEFAULT_POLICY)
            assert isinstance(msg, EmailMessage)
            if not str(msg["X-Rmcal-Key"]).startswith("invite"):
                found.append(msg)
        return found

    def mail_keys(self) -> list[str]:
        return [str(m["X-Rmcal-Key"]) for m in self.outbox()]

    def ledger(self) -> dict[str, str]:
        with Store.open(self.config.state_path, readonly=True) as store:
            return {row.key: row.status for row in store.mail_rows()}

    def series_file(self, index: int) -> Path:
        pair = self.config.pairs[index]
        for path in (self.folder / "local" / "calendars").glob("*.ics"):
            if pair.id in path.read_text():
                return path
        raise FileNotFoundError(pair.id)


def make_world(folder: Path, text: str = CONFIG) -> World:
    (folder / "rmcal.yaml").write_text(text)
    config = load_config(folder / "rmcal.yaml", now=SCHEDULED_AT)
    with Store.open(config.state_path) as store:
        provider = open_provider(config, kv=store)
        result = run_schedule(config, provider, store, now=SCHEDULED_AT)
        assert not result.undone
    return World(folder, config)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def counts(keys: Sequence[str]) -> Counter[str]:
    return Counter(k.split(":")[0] for k in keys)


def assert_no_duplicates(world: World) -> None:
    keys = world.mail_keys()
    assert len(keys) == len(set(keys)), Counter(keys).most_common(3)


# -- what is due, when ---------------------------------------------------------------------


def test_agenda_is_due_from_the_lead_time_until_the_session_starts(world: World) -> None:
    early = world.tick(S1 - timedelta(hours=24, minutes=1))
    assert [x.kind for x in early.sent] == ["digest"]  # Monday's digest, nothing else yet
    sent = world.tick(S1 - timedelta(hours=23))
    assert [(line.kind, line.key) for line in sent.sent] == [
        ("agenda", f"agenda:{_series_key(world, 0)}:2027-01-13T14:00:00Z")
    ]
    assert sent.sent[0].recipients == ("raj@tick.example.org", "ana@tick.example.org")


def _series_key(world: World, index: int) -> str:
    return world.series_file(index).stem


def test_feedback_follows_a_held_session_after_the_delay(world: World) -> None:
    world.tick(S1 - timedelta(hours=2))
    end = S1 + timedelta(minutes=45)
    assert [x.kind for x in world.tick(end + timedelta(minutes=59)).sent] == []
    result = world.tick(end + timedelta(hours=1, minutes=1))
    assert [x.key for x in result.sent] == [
        f"feedback:{_series_key(world, 0)}:2027-01-13T14:00:00Z"
    ]
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
    assert [x.key for x in stale] == [f"agenda:{_series_key(world, 0)}:2027-01-13T14:00:00Z"]
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
    with Store.open(world.config.state_path, readonly=True) as store:
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


class FlakyProvider:
    """The real provider behind a send that fails for the first ``failures`` calls."""

    def __init__(self, inner: Provider, failures: int, retryable: bool = True) -> None:
        self.inner = inner
        self.failures = failures
        self.retryable = retryable
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def send(self, messages: Sequence[EmailMessage], progress: Any = None) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            return {
                str(m["X-Rmcal-Key"]): ItemFailure("mailbox busy", self.retryable) for m in messages
            }
        return self.inner.send(messages, progress)


def test_a_retryable_failure_is_retried_within_the_run(world: World) -> None:
    provider = FlakyProvider(open_provider(world.config), failures=2)
    result = world.tick(S1 + timedelta(hours=3), provider=provider, retries=2)
    assert result.failed == [] and result.sent
    assert provider.calls == 3
    assert set(world.ledger().values()) <= {SENT, SKIPPED}


def test_failures_after_retries_exit_3_and_a_rerun_finishes(world: World) -> None:
    runner = CliRunner()
    args = ["tick", "-c", str(world.config_path), "--now", (S1 + timedelta(hours=3)).isoformat()]
    provider = FlakyProvider(open_provider(world.config), failures=100, retryable=False)
    result = world.tick(S1 + timedelta(hours=3), provider=provider)
    assert result.sent == [] and Counter(x.kind for x in result.failed) == AT_S1_3H
    assert {world.ledger()[x.key] for x in result.failed} == {FAILED}
    assert world.mail_keys() == []
    # Through the CLI with a provider that fails, exit code 3 lists what is undone ...
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            "rmcal.cli_loop.open_provider",
            lambda config, kv=None: FlakyProvider(
                open_provider(config, kv=kv), failures=100, retryable=False
            ),
        )
        failing = runner.invoke(main, args)
    assert failing.exit_code == 3, failing.output
    assert "FAILED" in failing.output and "mailbox busy" in failing.output
    assert "3 message(s) failed" in failing.output
    # ... and a plain re-run finishes the job, each message once.
    fixed = runner.invoke(main, args)
    assert fixed.exit_code == 0, fixed.output
    assert counts(world.mail_keys()) == AT_S1_3H
    assert_no_duplicates(world)


def test_a_provider_error_records_the_batch_as_failed_and_stops(world: World) -> None:
    class Down(FlakyProvider):
        def send(self, messages: Sequence[EmailMessage], progress: Any = None) -> dict[str, Any]:
            raise ProviderError("local", "send", "outbox not writable", remedy="fix permissions")

    with pytest.raises(ProviderError):
        world.tick(S1 + timedelta(hours=3), provider=Down(open_provider(world.config), 0))
    assert set(world.ledger().values()) == {FAILED, SKIPPED}
    world.tick(S1 + timedelta(hours=3, minutes=5))
    assert counts(world.mail_keys()) == AT_S1_3H


class Crash(BaseException):
    """The process dies (power cut, OOM kill) at a chosen point of a send."""


class CrashingProvider(FlakyProvider):
    """Sends for real, then dies before ``send`` returns: the ledger still says sending."""

    def __init__(self, inner: Provider, idempotent: bool, before: bool = False) -> None:
        super().__init__(inner, 0)
        self.capabilities = replace(inner.capabilities, idempotent_send=idempotent)
        self.before = before

    def send(self, messages: Sequence[EmailMessage], progress: Any = None) -> dict[str, Any]:
        if not self.before:
            self.inner.send(messages, progress)
        raise Crash()


class Idempotent(FlakyProvider):
    def __init__(self, inner: Provider, idempotent: bool) -> None:
        super().__init__(inner, 0)
        self.capabilities = replace(inner.capabilities, idempotent_send=idempotent)


@pytest.mark.parametrize("before", [False, True], ids=["crash after sending", "crash before"])
def test_a_crash_between_send_and_record_is_resolved_by_resending_when_the_provider_dedupes(
    world: World, before: bool
) -> None:
    moment = S1 + timedelta(hours=3)
    with pytest.raises(Crash):
        world.tick(moment, provider=CrashingProvider(open_provider(world.config), True, before))
    assert set(world.ledger().values()) == {SENDING, SKIPPED}
    assert len(world.mail_keys()) == (0 if before else 3)
    result = world.tick(
        moment + timedelta(minutes=1), provider=Idempotent(open_provider(world.config), True)
    )
    assert Counter(x.kind for x in result.resent) == AT_S1_3H
    assert result.sent == [] and result.uncertain == []
    assert counts(world.mail_keys()) == AT_S1_3H
    assert set(world.ledger().values()) == {SENT, SKIPPED}
    with Store.open(world.config.state_path, readonly=True) as store:
        assert all(store.get(PENDING, key) is None for key in world.mail_keys())


def test_a_crash_without_a_deduping_provider_is_reported_uncertain_and_never_resent(
    world: World,
) -> None:
    moment = S1 + timedelta(hours=3)
    with pytest.raises(Crash):
        world.tick(moment, provider=CrashingProvider(open_provider(world.config), False))
    result = world.tick(
        moment + timedelta(minutes=1), provider=Idempotent(open_provider(world.config), False)
    )
    assert Counter(x.kind for x in result.uncertain) == AT_S1_3H
    assert "may or may not" in result.uncertain[0].detail
    assert result.sent == [] and result.resent == []
    assert {world.ledger()[x.key] for x in result.uncertain} == {UNCERTAIN}
    again = world.tick(
        moment + timedelta(minutes=2), provider=Idempotent(open_provider(world.config), False)
    )
    assert again.sent == [] and again.uncertain == []
    assert counts(world.mail_keys()) == AT_S1_3H


def test_uncertain_messages_make_the_cli_exit_3_once(world: World) -> None:
    moment = S1 + timedelta(hours=3)
    with pytest.raises(Crash):
        world.tick(moment, provider=CrashingProvider(open_provider(world.config), False))
    runner = CliRunner()
    args = [
        "tick",
        "-c",
        str(world.config_path),
        "--now",
        (moment + timedelta(minutes=1)).isoformat(),
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            "rmcal.cli_loop.open_provider",
            lambda config, kv=None: Idempotent(open_provider(config, kv=kv), False),
        )
        first = runner.invoke(main, args)
        second = runner.invoke(main, args)
    assert first.exit_code == 3 and "UNCERTAIN" in first.output
    assert "may or may not have been sent" in first.output
    assert second.exit_code == 0 and "nothing due" in second.output


def test_a_second_tick_on_the_same_state_file_waits_or_exits_clearly(world: World) -> None:
    runner = CliRunner()
    args = ["tick", "-c", str(world.config_path), "--now", (S1 + timedelta(hours=3)).isoformat()]
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
    with Store.open(world.config.state_path, readonly=True) as store:
        readings = read_programme(world.config, open_provider(world.config, kv=store), moment)
    feedback = f"feedback:{_series_key(world, 0)}:2027-01-13T14:00:00Z"
    digest = "digest:lead.one@tick.example.org:2027-W02"
    base = due(readings, world.config, {}, moment)
    agenda = f"agenda:{_series_key(world, 1)}:2027-01-14T09:00:00Z"
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


def test_the_tick_report_is_json_for_scripts(world: World) -> None:
    import json

    runner = CliRunner()
    moment = (S1 + timedelta(hours=3)).isoformat()
    out = runner.invoke(main, ["tick", "-c", str(world.config_path), "--now", moment, "--json"])
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
    args = [
        "tick",
        "-c",
        str(world.config_path),
        "--now",
        (moment + timedelta(hours=1)).isoformat(),
    ]
    baseline = runner.invoke(main, [*args, "--baseline"])
    assert baseline.exit_code == 0, baseline.output
    assert "baseline: recorded as done without sending" in baseline.output
    assert runner.invoke(main, args).output.endswith("nothing due\n")
    assert counts(world.mail_keys()) == AT_S1_3H
