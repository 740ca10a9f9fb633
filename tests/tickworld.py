"""A small programme on the real local provider in a temporary folder, for tick and outbox tests.

Two pairs on fixed slots, scheduled by ``run_schedule``; ``World`` ticks it at any moment and
reads back the outbox and the ledger. The fault-injecting providers wrap the real one and fail
or "crash" only inside ``send``: everything else runs for real.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as DEFAULT_POLICY
from pathlib import Path
from typing import Any

from rmcal.config import load_config
from rmcal.model import Config
from rmcal.provider import ItemFailure, Provider
from rmcal.runtime import open_provider
from rmcal.schedule import run_schedule
from rmcal.store import MailStatus, Mode, Store
from rmcal.tick import TickResult, run_tick

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

    def args(self, command: str, now: datetime, *extra: str) -> list[str]:
        """The arguments of ``rmcal <command> -c <config> --now <now> <extra...>``."""
        return [command, "-c", str(self.config_path), "--now", now.isoformat(), *extra]

    def tick(self, now: datetime, provider: Provider | None = None, **kw: Any) -> TickResult:
        """One run at ``now`` (ledger rows stamped ``now``) on the real provider or ``provider``."""
        with Store.open(self.config.state_path, clock=lambda: now) as store:
            real = provider or open_provider(self.config, kv=store, clock=lambda: now)
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
        # A key longer than a header line is folded onto a line of its own in the file, and
        # comes back with the fold's leading space (a heads-up key names a person).
        return [str(m["X-Rmcal-Key"]).strip() for m in self.outbox()]

    def ledger(self) -> dict[str, MailStatus]:
        with Store.open(self.config.state_path, mode=Mode.READ_ONLY) as store:
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


def counts(keys: Iterable[str]) -> Counter[str]:
    return Counter(k.split(":")[0] for k in keys)


def assert_no_duplicates(world: World) -> None:
    keys = world.mail_keys()
    assert len(keys) == len(set(keys)), Counter(keys).most_common(3)


def series_key(world: World, index: int) -> str:
    """The series key of pair ``index`` (the local provider names its file after it)."""
    return world.series_file(index).stem


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


class LostAnswers(Idempotent):
    """Sends for real, then loses every answer, as a connection that drops after the server
    took the message: each send is uncertain (on a provider that cannot dedupe)."""

    def __init__(self, inner: Provider) -> None:
        super().__init__(inner, False)

    def send(self, messages: Sequence[EmailMessage], progress: Any = None) -> dict[str, Any]:
        self.inner.send(messages, progress)
        lost = ItemFailure(
            "the connection dropped before the answer: it may or may not have gone out",
            retryable=False,
            uncertain=True,
        )
        return {str(m["X-Rmcal-Key"]): lost for m in messages}
