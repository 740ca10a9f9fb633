"""``rmcal tick``: send what is due, exactly once, however often and however late cron runs it.

Two halves, kept apart on purpose:

``due`` is pure. From the pairs' readings (what the calendar says), the ledger (what was
already sent or skipped) and ``now`` it decides which messages are due and which have become
stale. Its rules:

* **agenda**: from ``start - agenda_lead`` until the session starts (a moved session is followed
  to its new time). Stale once the session has started. A cancelled or declined session gets no
  agenda: while it is upcoming nothing is decided (a decline may be withdrawn); once it starts,
  the skip is recorded with its reason.
* **feedback**: from ``end + feedback_delay`` for a held session, until ``FEEDBACK_STALE`` after
  its end. Missed sessions (cancelled, declined, no-show) are recorded as skipped.
* **nudge**: once per missed run and state: key ``nudge:<pair>:<state>:<first missed period>``.
  A pair that recovers before tick sees it is not nudged.
* **digest**: from the lead's weekday and time (in the lead's zone) until the ISO week ends,
  once per lead and ISO week; not sent while none of the lead's pairs has a series, nor once
  all of them finished more than a week before this week's digest time.

``run_tick`` is the I/O around it. For each message it writes the ledger row as ``sending``
(and keeps the exact message bytes in the state file) *before* calling the provider and
``sent``/``failed`` after. A crash in between leaves ``sending`` rows: the next run re-sends the
stored bytes when the provider drops duplicates by ``X-Rmcal-Key``
(``capabilities.idempotent_send``), else marks them ``uncertain`` and reports them, never
sending twice. Concurrent runs are kept apart by the state file's one-writer lock (taken by
the caller, ``Store.open(..., wait=...)``).
"""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_string
from email.message import EmailMessage
from email.policy import default as DEFAULT_POLICY
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from rmcal.attendance import Session
from rmcal.digest import build_digest, iso_week
from rmcal.errors import ProviderError
from rmcal.health import NEEDS_ATTENTION, State, snapshot_changed
from rmcal.mail import recipients
from rmcal.messages import MessageBuilder, session_key
from rmcal.model import Config, Lead
from rmcal.provider import ItemFailure, Provider
from rmcal.status import PairReading, read_programme
from rmcal.store import FAILED, SENDING, SENT, SKIPPED, UNCERTAIN, Store

log = logging.getLogger("rmcal.tick")

FEEDBACK_STALE = timedelta(days=7)
# Ledger states after which a key is never sent again.
FINAL = frozenset({SENT, SKIPPED, UNCERTAIN})
# The state file namespace that holds a message's exact bytes while it is being sent.
PENDING = "mail-pending"


@dataclass(frozen=True)
class DueMail:
    """A message that should go out now."""

    key: str
    kind: str
    due_at: datetime
    reading: PairReading | None = None
    session: Session | None = None
    lead: Lead | None = None

    @property
    def pair_id(self) -> str | None:
        return self.reading.pair.id if self.reading else None


@dataclass(frozen=True)
class Skip:
    """A message that will never be sent, and why (recorded in the ledger as ``skipped``)."""

    key: str
    kind: str
    pair_id: str | None
    reason: str


@dataclass(frozen=True)
class DuePlan:
    send: tuple[DueMail, ...]
    skip: tuple[Skip, ...]


def _state_slug(state: State) -> str:
    return str(state).replace(" ", "-")


def nudge_key(reading: PairReading) -> str | None:
    health = reading.health
    if health.state not in NEEDS_ATTENTION or health.run_start is None:
        return None
    run = health.run_start.date().isoformat()
    return f"nudge:{reading.pair.id}:{_state_slug(health.state)}:{run}"


def digest_key(lead: Lead, now: datetime) -> str:
    return f"digest:{lead.email}:{iso_week(now, lead.timezone)}"


def digest_moment(
    lead: Lead, config: Config, readings: Sequence[PairReading], now: datetime
) -> datetime:
    """This ISO week's digest time for ``lead``: weekday and time in the lead's own zone.

    The weekday/time come from the settings of the lead's pairs when they all agree (a cohort
    may override them), else from the programme defaults.
    """
    zone = ZoneInfo(lead.timezone)
    chosen = {(r.pair.settings.digest_weekday, r.pair.settings.digest_time) for r in readings}
    weekday, at = (
        chosen.pop()
        if len(chosen) == 1
        else (config.defaults.digest_weekday, config.defaults.digest_time)
    )
    local = now.astimezone(zone).date()
    monday = local - timedelta(days=local.weekday())
    return datetime.combine(monday + timedelta(days=weekday), at, tzinfo=zone)


def _digest_worthwhile(readings: Sequence[PairReading], moment: datetime) -> bool:
    live = [r for r in readings if r.series is not None]
    if not live:
        return False
    finished = {State.COMPLETED, State.ENDED}
    if all(r.health.state in finished for r in live):
        last_end = max((s.end for r in live for s in r.health.sessions), default=None)
        return last_end is not None and last_end > moment - timedelta(days=7)
    return True


def due(
    readings: Sequence[PairReading],
    config: Config,
    ledger: Mapping[str, str],
    now: datetime,
) -> DuePlan:
    """What is due at ``now`` and what became stale; pure (see the module docstring)."""
    send: list[DueMail] = []
    skip: list[Skip] = []

    def settled(key: str) -> bool:
        return ledger.get(key) in FINAL or ledger.get(key) == SENDING

    for reading in readings:
        series = reading.series
        if series is None:
            continue
        settings = reading.pair.settings
        pair_id = reading.pair.id
        for session in reading.health.sessions:
            key = session_key("agenda", series.key, session)
            opens = session.start - settings.agenda_lead
            if not settled(key) and now >= opens:
                if now >= session.start:
                    why = str(session.reason) if session.reason else "stale: the session started"
                    if ledger.get(key) == FAILED:
                        why = f"stale after failed attempts ({why})"
                    skip.append(Skip(key, "agenda", pair_id, why))
                elif session.reason is None:
                    send.append(DueMail(key, "agenda", opens, reading, session))
            key = session_key("feedback", series.key, session)
            opens = session.end + settings.feedback_delay
            if not settled(key) and not session.upcoming and now >= opens:
                if session.missed:
                    skip.append(Skip(key, "feedback", pair_id, str(session.reason)))
                elif now >= session.end + FEEDBACK_STALE:
                    skip.append(Skip(key, "feedback", pair_id, "stale: more than 7 days after"))
                else:
                    send.append(DueMail(key, "feedback", opens, reading, session))
        key = nudge_key(reading)
        if key is not None and not settled(key):
            opens = reading.health.run_start or now
            send.append(DueMail(key, "nudge", opens, reading))

    for lead in config.programme.leads:
        mine = [r for r in readings if lead.sees(r.pair)]
        if not mine:
            continue
        moment = digest_moment(lead, config, mine, now)
        key = digest_key(lead, now)
        if now >= moment and not settled(key) and _digest_worthwhile(mine, moment):
            send.append(DueMail(key, "digest", moment, lead=lead))

    send.sort(key=lambda m: (m.due_at, m.key))
    return DuePlan(tuple(send), tuple(skip))


# -- running it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One message in a tick report."""

    key: str
    kind: str
    pair_id: str | None = None
    recipients: tuple[str, ...] = ()
    subject: str = ""
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "pair": self.pair_id,
            "to": list(self.recipients),
            "subject": self.subject,
            "detail": self.detail,
        }


@dataclass
class TickResult:
    now: datetime
    dry_run: bool
    sent: list[Line] = field(default_factory=list)
    would_send: list[Line] = field(default_factory=list)
    resent: list[Line] = field(default_factory=list)  # crash leftovers re-sent (idempotent)
    skipped: list[Line] = field(default_factory=list)
    failed: list[Line] = field(default_factory=list)
    uncertain: list[Line] = field(default_factory=list)
    snapshots: int = 0

    @property
    def undone(self) -> list[str]:
        return [f"{line.key}: {line.detail}" for line in self.failed + self.uncertain]

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "sent": [x.as_dict() for x in self.sent],
            "would_send": [x.as_dict() for x in self.would_send],
            "resent": [x.as_dict() for x in self.resent],
            "skipped": [x.as_dict() for x in self.skipped],
            "failed": [x.as_dict() for x in self.failed],
            "uncertain": [x.as_dict() for x in self.uncertain],
            "snapshots": self.snapshots,
        }


def _line(
    key: str, kind: str, pair_id: str | None, msg: EmailMessage | None, detail: str = ""
) -> Line:
    if msg is None:
        return Line(key, kind, pair_id, detail=detail)
    return Line(key, kind, pair_id, tuple(recipients(msg)), str(msg["Subject"]), detail)


def build_message(
    item: DueMail,
    builder: MessageBuilder,
    readings: Sequence[PairReading],
    store: Store,
    now: datetime,
) -> EmailMessage:
    """Render one due item into its message (the digest reads feedback and last week)."""
    if item.kind == "agenda" and item.reading and item.session:
        return builder.agenda(item.reading, item.session, item.key, now)
    if item.kind == "feedback" and item.reading and item.session:
        return builder.feedback(item.reading, item.session, item.key, now)
    if item.kind == "nudge" and item.reading:
        return builder.nudge(item.reading, item.key, now)
    if item.kind == "digest" and item.lead:
        digest = build_digest(
            item.lead,
            readings,
            now,
            feedback=store.feedback(),
            previous=store.latest_snapshots(before=now - timedelta(days=7)),
        )
        return builder.digest(digest, item.key, now)
    raise ValueError(f"cannot build {item.kind} message {item.key}")


def _store_snapshots(store: Store, readings: Sequence[PairReading], now: datetime) -> int:
    latest = store.latest_snapshots()
    records = [
        r.health.snapshot()
        for r in readings
        if snapshot_changed(latest.get(r.pair.id), r.health.snapshot())
    ]
    if records:
        store.add_snapshots(now, records)
    return len(records)


@dataclass(frozen=True)
class Outgoing:
    key: str
    kind: str
    pair_id: str | None
    message: EmailMessage


@dataclass
class Outcomes:
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    uncertain: dict[str, str] = field(default_factory=dict)


_MISSING = ItemFailure("missing")


class _Sender:
    """Sends messages in provider-sized batches with the ledger written around every call."""

    def __init__(
        self,
        provider: Provider,
        store: Store,
        retries: int,
        retry_delay: float,
        sleep: Callable[[float], None],
        progress: Callable[[int], None] | None,
    ) -> None:
        self.provider = provider
        self.store = store
        self.retries = retries
        self.retry_delay = retry_delay
        self.sleep = sleep
        self.progress = progress
        self.idempotent = bool(getattr(provider.capabilities, "idempotent_send", False))

    def _begin(self, item: Outgoing) -> None:
        msg = item.message
        self.store.put(PENDING, item.key, msg.as_string())
        self.store.mark_mail(
            item.key,
            SENDING,
            kind=item.kind,
            pair_id=item.pair_id,
            recipients=recipients(msg),
            subject=str(msg["Subject"]),
            message_id=str(msg["Message-ID"]),
        )

    def _finish(self, key: str, status: str, error: str | None = None) -> None:
        self.store.mark_mail(key, status, error=error)
        self.store.put(PENDING, key, None)

    def send(self, items: Sequence[Outgoing]) -> Outcomes:
        """Send items in batches, retrying retryable failures; every step is in the ledger."""
        outcomes = Outcomes()
        pending = list(items)
        batch_size = max(1, self.provider.capabilities.batch_size)
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.retry_delay * attempt)
            retry: list[Outgoing] = []
            for first in range(0, len(pending), batch_size):
                retry += self._batch(pending[first : first + batch_size], attempt, outcomes)
            pending = retry
            if not pending:
                break
        return outcomes

    def _batch(self, batch: Sequence[Outgoing], attempt: int, outcomes: Outcomes) -> list[Outgoing]:
        for item in batch:
            self._begin(item)
        try:
            results = self.provider.send([item.message for item in batch])
        except ProviderError as exc:
            # The provider says the whole call failed (auth, permission, network after its own
            # retries): nothing of this batch went out. Record it, then stop the run.
            for item in batch:
                self._finish(item.key, FAILED, exc.one_line())
            raise
        retry = []
        for item in batch:
            outcome = results.get(item.key, _MISSING)
            if outcome is None:
                self._finish(item.key, SENT)
                outcomes.sent.append(item.key)
                outcomes.failed.pop(item.key, None)
            elif outcome is _MISSING:
                # The provider did not say: it may have sent it. Never guess.
                why = "the provider reported no result for it"
                if self.idempotent:
                    self._finish(item.key, FAILED, why)
                    outcomes.failed[item.key] = why
                else:
                    self._finish(item.key, UNCERTAIN, why)
                    outcomes.uncertain[item.key] = why
            else:
                assert isinstance(outcome, ItemFailure)
                outcomes.failed[item.key] = outcome.message
                if outcome.retryable and attempt < self.retries:
                    self.store.mark_mail(item.key, FAILED, error=outcome.message)
                    retry.append(item)
                else:
                    self._finish(item.key, FAILED, outcome.message)
            if self.progress and item not in retry:
                self.progress(1)
        return retry


def _report(result: TickResult, items: Sequence[Outgoing], outcomes: Outcomes, done: str) -> None:
    for item in items:
        line = partial(_line, item.key, item.kind, item.pair_id, item.message)
        if item.key in outcomes.uncertain:
            result.uncertain.append(line(outcomes.uncertain[item.key]))
        elif item.key in outcomes.failed:
            result.failed.append(line(outcomes.failed[item.key]))
        elif done == "resent":
            result.resent.append(line("re-sent after an interrupted run"))
        else:
            result.sent.append(line())


def _resolve_crashed(store: Store, sender: _Sender, result: TickResult) -> None:
    """Rows left ``sending`` by a crash: re-send the stored bytes if the provider dedupes,
    else mark them uncertain (they may have gone out) and report them."""
    resend: list[Outgoing] = []
    for row in store.mail_rows(SENDING):
        raw = store.get(PENDING, row.key)
        if sender.idempotent and raw is not None:
            msg = message_from_string(raw, policy=DEFAULT_POLICY)
            assert isinstance(msg, EmailMessage)
            resend.append(Outgoing(row.key, row.kind, row.pair_id, msg))
            continue
        detail = (
            "a previous run stopped while sending it; it may or may not have gone out and the "
            "provider cannot tell, so rmcal will not send it again: check the organizer's "
            "sent items"
        )
        store.mark_mail(row.key, UNCERTAIN, error=detail)
        store.put(PENDING, row.key, None)
        people = tuple(filter(None, row.recipients.split(", ")))
        result.uncertain.append(Line(row.key, row.kind, row.pair_id, people, row.subject, detail))
    if resend:
        _report(result, resend, sender.send(resend), "resent")


def run_tick(
    config: Config,
    provider: Provider,
    store: Store,
    *,
    now: datetime,
    dry_run: bool = False,
    baseline: bool = False,
    builder: MessageBuilder | None = None,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    retries: int = 2,
    retry_delay: float = 2.0,
    sleep: Callable[[float], None] = clock.sleep,
) -> TickResult:
    """Send everything due at ``now`` through ``provider``, recording each send in ``store``.

    The caller holds the state file's lock (``Store.open(path, wait=...)``). Returns what was
    sent, skipped, failed and left uncertain; the CLI turns failures into exit code 3.

    ``baseline`` records everything due as skipped without sending it: for a state file that
    was lost and started afresh mid-programme, so that messages already sent from the old one
    are not sent again.
    """
    result = TickResult(now=now, dry_run=dry_run)
    builder = builder or MessageBuilder(config)
    sender = _Sender(provider, store, retries, retry_delay, sleep, progress)
    if not dry_run:
        _resolve_crashed(store, sender, result)

    readings = read_programme(config, provider, now)
    if not dry_run:
        result.snapshots = _store_snapshots(store, readings, now)

    ledger = {row.key: row.status for row in store.mail_rows()}
    plan = due(readings, config, ledger, now)

    for item in plan.skip:
        result.skipped.append(Line(item.key, item.kind, item.pair_id, detail=item.reason))
        if not dry_run:
            store.mark_mail(
                item.key, SKIPPED, kind=item.kind, pair_id=item.pair_id, error=item.reason
            )

    if baseline:
        for item in plan.send:
            why = "baseline: recorded as done without sending (rmcal tick --baseline)"
            result.skipped.append(Line(item.key, item.kind, item.pair_id, detail=why))
            if not dry_run:
                store.mark_mail(item.key, SKIPPED, kind=item.kind, pair_id=item.pair_id, error=why)
        return result

    # Render everything first: a template error stops the run before anything is sent.
    messages = [(item, build_message(item, builder, readings, store, now)) for item in plan.send]
    if dry_run:
        result.would_send = [_line(i.key, i.kind, i.pair_id, m) for i, m in messages]
        return result

    outgoing = [Outgoing(i.key, i.kind, i.pair_id, m) for i, m in messages]
    if on_start is not None and outgoing:
        on_start(len(outgoing))
    _report(result, outgoing, sender.send(outgoing), "sent")
    return result
