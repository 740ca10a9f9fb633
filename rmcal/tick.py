"""``rmcal tick``: send what is due, exactly once, however often and however late cron runs it.

Two halves, kept apart on purpose:

``due`` is pure. From the pairs' readings (what the calendar says), the clash watch's findings
(``rmcal.clashes``: free/busy read once per run), the ledger (what was already sent or skipped)
and ``now`` it decides which messages are due and which have become stale. Each due message is
one small type per kind (``AgendaDue``, ``FeedbackDue``, ``NudgeDue``, ``HeadsUpDue``,
``DigestDue``), so rendering is a ``match`` and no field is optional. Its rules:

* **agenda**: from ``start - agenda_lead`` until the session starts (a moved session is followed
  to its new time). Stale once the session has started. A cancelled or declined session gets no
  agenda: while it is upcoming nothing is decided (a decline may be withdrawn); once it starts,
  the skip is recorded with its reason.
* **feedback**: from ``end + feedback_delay`` for a held session, until ``FEEDBACK_STALE`` after
  its end. Missed sessions (cancelled, declined, no-show) are recorded as skipped.
* **nudge**: once per missed run and state: key ``nudge:<pair>:<state>:<first missed period>``.
  A pair that recovers before tick sees it is not nudged.
* **heads-up**: once per clash (``headsup_key``: the session, where it stands, and whose
  commitment), while the session is still ahead and will happen; a clash that is gone before
  tick sees it is never mailed, and one that is gone after its mail is not mailed again.
* **digest**: from the lead's weekday and time (in the lead's zone) until the ISO week ends,
  once per lead and ISO week; not sent while none of the lead's pairs has a series, nor once
  all of them finished more than a week before this week's digest time.

``run_tick`` is the run around it: settle what a crashed run left in flight, let a provider
that learns answers by mail apply them (``ReplyReader``: the local provider's iMIP replies), read
the calendar, read free/busy for the clash watch, store changed health snapshots; where the
provider can look messages up, settle the sends whose outcome was unknown (re-sending only what
is still due); record the skips, render everything, then hand the messages to the ``Outbox``,
which owns the ledger protocol (``rmcal.outbox``). The caller holds the state file's lock
(``runtime.session``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from rmcal.attendance import Session
from rmcal.clashes import (
    NOTHING,
    WATCH_EVERY,
    WATCH_STATE,
    SessionClash,
    Watch,
    read_watch,
    watch_due,
)
from rmcal.digest import Digest, History, iso_week, lead_digest
from rmcal.errors import ProviderError
from rmcal.health import FINISHED, NUDGED, State, snapshot_changed
from rmcal.mail import recipients
from rmcal.messages import MessageBuilder, session_key, utc_key_time
from rmcal.model import Config, Lead
from rmcal.outbox import Delivery, Outbox, Outgoing, settled
from rmcal.provider import Provider, ReplyOutcome, ReplyReader, ReplyReport
from rmcal.readings import PairReading, read_programme
from rmcal.store import MailRow, MailStatus, Store

FEEDBACK_STALE = timedelta(days=7)
BASELINE = "baseline: recorded as done without sending (rmcal tick --baseline)"


# -- what is due -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PairMail:
    """What every message about one pair carries: its key, when it became due, the reading."""

    key: str
    due_at: datetime
    reading: PairReading

    @property
    def pair_id(self) -> str | None:
        return self.reading.pair.id


@dataclass(frozen=True)
class AgendaDue(_PairMail):
    """An upcoming session's agenda, due from ``agenda_lead`` before it starts."""

    kind: ClassVar[str] = "agenda"
    session: Session


@dataclass(frozen=True)
class FeedbackDue(_PairMail):
    """A held session's feedback request, due ``feedback_delay`` after it ended."""

    kind: ClassVar[str] = "feedback"
    session: Session


@dataclass(frozen=True)
class NudgeDue(_PairMail):
    """A pair that turned at risk or off track, nudged once per missed run and state."""

    kind: ClassVar[str] = "nudge"


@dataclass(frozen=True)
class HeadsUpDue(_PairMail):
    """A session someone booked over: the pair hears of it once, with three free times."""

    kind: ClassVar[str] = "headsup"
    clash: SessionClash


@dataclass(frozen=True)
class DigestDue:
    """A lead's weekly digest, due at the lead's weekday and time."""

    kind: ClassVar[str] = "digest"
    key: str
    due_at: datetime
    lead: Lead
    pair_id: ClassVar[None] = None


Due = AgendaDue | FeedbackDue | NudgeDue | HeadsUpDue | DigestDue


@dataclass(frozen=True)
class Skip:
    """A message that will never be sent, and why (recorded in the ledger as ``skipped``)."""

    key: str
    kind: str
    pair_id: str | None
    reason: str


@dataclass(frozen=True)
class DuePlan:
    send: tuple[Due, ...]
    skip: tuple[Skip, ...]


def _state_slug(state: State) -> str:
    return str(state).replace(" ", "-")


def nudge_key(reading: PairReading) -> str | None:
    health = reading.health
    if health.state not in NUDGED or health.run_start is None:
        return None
    run = health.run_start.date().isoformat()
    return f"nudge:{reading.pair.id}:{_state_slug(health.state)}:{run}"


def _watch_read_at(store: Store) -> datetime | None:
    """When the clash watch last read free/busy (``None``: never, or an unreadable value)."""
    text = store.get(*WATCH_STATE)
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def headsup_key(clash: SessionClash) -> str:
    """``headsup:<series>:<original start>:<person>``, plus ``@<start>`` once it was moved.

    One clash is one person's commitment over one session where it now stands: read again,
    the same clash keeps its key (one mail); a session moved onto another commitment is a new
    clash. The other commitment itself is not in the key: free/busy does not name it.
    """
    series = clash.reading.series
    session = clash.session
    key = f"headsup:{series.key if series else ''}:{utc_key_time(session.original_start)}"
    key += f":{clash.person.email}"
    if session.occurrence.moved:
        key += f"@{utc_key_time(session.start)}"
    return key


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
    if all(r.health.state in FINISHED for r in live):
        last_end = max((s.end for r in live for s in r.health.sessions), default=None)
        return last_end is not None and last_end > moment - timedelta(days=7)
    return True


def due(
    readings: Sequence[PairReading],
    config: Config,
    ledger: Mapping[str, MailStatus],
    now: datetime,
    clashes: Sequence[SessionClash] = (),
) -> DuePlan:
    """What is due at ``now`` and what became stale; pure (see the module docstring)."""
    send: list[Due] = []
    skip: list[Skip] = []

    def unsettled(key: str) -> bool:
        return not settled(ledger.get(key))

    for reading in readings:
        series = reading.series
        if series is None:
            continue
        settings = reading.pair.settings
        pair_id = reading.pair.id
        for session in reading.health.sessions:
            key = session_key("agenda", series.key, session)
            opens = session.start - settings.agenda_lead
            if unsettled(key) and now >= opens:
                if now >= session.start:
                    why = str(session.reason) if session.reason else "stale: the session started"
                    if ledger.get(key) == MailStatus.FAILED:
                        why = f"stale after failed attempts ({why})"
                    skip.append(Skip(key, "agenda", pair_id, why))
                elif session.reason is None:
                    send.append(AgendaDue(key, opens, reading, session))
            key = session_key("feedback", series.key, session)
            opens = session.end + settings.feedback_delay
            if unsettled(key) and not session.upcoming and now >= opens:
                if session.missed:
                    skip.append(Skip(key, "feedback", pair_id, str(session.reason)))
                elif now >= session.end + FEEDBACK_STALE:
                    skip.append(Skip(key, "feedback", pair_id, "stale: more than 7 days after"))
                else:
                    send.append(FeedbackDue(key, opens, reading, session))
        nudge = nudge_key(reading)
        if nudge is not None and unsettled(nudge):
            send.append(NudgeDue(nudge, reading.health.run_start or now, reading))

    for clash in clashes:
        key = headsup_key(clash)
        if unsettled(key) and clash.session.will_happen and now < clash.session.start:
            send.append(HeadsUpDue(key, now, clash.reading, clash))

    send += digests_due(readings, config, ledger, now)
    send.sort(key=lambda m: (m.due_at, m.key))
    return DuePlan(tuple(send), tuple(skip))


def digests_due(
    readings: Sequence[PairReading],
    config: Config,
    ledger: Mapping[str, MailStatus],
    now: datetime,
) -> list[DigestDue]:
    """The leads' digests due at ``now`` (part of ``due``; alone, it tells the clash watch
    whether this run sends a digest, without judging every session)."""
    out = []
    for lead in config.programme.leads:
        mine = [r for r in readings if lead.sees(r.pair)]
        if not mine:
            continue
        moment = digest_moment(lead, config, mine, now)
        key = digest_key(lead, now)
        if now >= moment and not settled(ledger.get(key)) and _digest_worthwhile(mine, moment):
            out.append(DigestDue(key, moment, lead))
    return out


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

    @classmethod
    def rendered(cls, item: Due, msg: EmailMessage) -> Line:
        return cls(item.key, item.kind, item.pair_id, tuple(recipients(msg)), str(msg["Subject"]))

    @classmethod
    def delivered(cls, delivery: Delivery, detail: str | None = None) -> Line:
        d = delivery
        text = d.detail if detail is None else detail
        return cls(d.key, d.kind, d.pair_id, d.recipients, d.subject, text)

    @classmethod
    def of_row(cls, row: MailRow) -> Line:
        """A ledger row as a report line (an earlier uncertain send, say)."""
        who = tuple(filter(None, row.recipients.split(", ")))
        return cls(row.key, row.kind, row.pair_id, who, row.subject, row.error or "")

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
    resent: list[Line] = field(default_factory=list)  # crash leftovers, resolved uncertain sends
    confirmed: list[Line] = field(default_factory=list)  # uncertain sends found in the mailbox
    skipped: list[Line] = field(default_factory=list)
    failed: list[Line] = field(default_factory=list)
    uncertain: list[Line] = field(default_factory=list)  # this run's
    still_uncertain: list[Line] = field(default_factory=list)  # earlier runs', unresolved
    notes: list[str] = field(default_factory=list)
    lookup: bool = False  # uncertain sends are looked up in the organizer's mailbox by tick
    snapshots: int = 0
    replies: ReplyReport | None = None  # answers read from the organizer's mailbox
    replies_failed: str | None = None  # why they could not be read (the run went on)
    watch: Watch = NOTHING  # the clash watch's read and what it found
    watch_failed: str | None = None  # why free/busy could not be read (the run went on)
    watch_next: datetime | None = None  # the watch was read recently: not before this time

    @property
    def undone(self) -> list[str]:
        undone = [f"{line.key}: {line.detail}" for line in self.failed + self.uncertain]
        if self.replies_failed is not None:
            undone.append(f"replies: {self.replies_failed}")
        if self.watch_failed is not None:
            undone.append(f"clash watch: {self.watch_failed}")
        return undone

    def reply_lines(self, *, applied: bool) -> list[Line]:
        """The replies applied (or, with ``applied=False``, ignored) as report lines."""
        outcomes = self.replies.outcomes if self.replies is not None else ()
        return [
            Line(o.series_key or o.message_id, "reply", detail=o.detail)
            for o in outcomes
            if o.applied == applied
        ]

    def record(self, deliveries: Sequence[Delivery]) -> None:
        """File what the outbox reports under sent, re-sent, failed or uncertain."""
        for d in deliveries:
            if d.status is MailStatus.UNCERTAIN:
                self.uncertain.append(Line.delivered(d))
            elif d.status is MailStatus.SKIPPED:
                self.skipped.append(Line.delivered(d))
            elif d.status is MailStatus.FAILED:
                self.failed.append(Line.delivered(d))
            elif d.found:
                self.confirmed.append(Line.delivered(d))
            elif d.resent:
                self.resent.append(Line.delivered(d))
            else:
                self.sent.append(Line.delivered(d))

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "sent": [x.as_dict() for x in self.sent],
            "would_send": [x.as_dict() for x in self.would_send],
            "resent": [x.as_dict() for x in self.resent],
            "confirmed": [x.as_dict() for x in self.confirmed],
            "skipped": [x.as_dict() for x in self.skipped],
            "failed": [x.as_dict() for x in self.failed],
            "uncertain": [x.as_dict() for x in self.uncertain],
            "still_uncertain": [x.as_dict() for x in self.still_uncertain],
            "notes": list(self.notes),
            "snapshots": self.snapshots,
            "replies": None if self.replies is None else _replies_dict(self.replies),
            "replies_failed": self.replies_failed,
            "clash_watch": self.watch.as_dict(headsup_key),
            "clash_watch_failed": self.watch_failed,
            "clash_watch_next": None if self.watch_next is None else self.watch_next.isoformat(),
        }


def _outcome_dict(outcome: ReplyOutcome) -> dict[str, Any]:
    when = outcome.occurrence
    return {
        "message_id": outcome.message_id,
        "attendee": outcome.attendee,
        "response": None if outcome.response is None else str(outcome.response),
        "series": outcome.series_key,
        "occurrence": None if when is None else when.isoformat(),
        "applied": outcome.applied,
        "detail": outcome.detail,
        "source": outcome.source,
    }


def _replies_dict(report: ReplyReport) -> dict[str, Any]:
    return {
        "source": report.source,
        "examined": report.examined,
        "outcomes": [_outcome_dict(o) for o in report.outcomes],
    }


def build_message(
    item: Due,
    builder: MessageBuilder,
    readings: Sequence[PairReading],
    history: History,
    now: datetime,
    clashes: Sequence[SessionClash] = (),
) -> EmailMessage:
    """Render one due item into its message (the digest reads feedback, last week and the
    clash watch's findings)."""
    match item:
        case AgendaDue(key=key, reading=reading, session=session):
            return builder.agenda(reading, session, key, now)
        case FeedbackDue(key=key, reading=reading, session=session):
            return builder.feedback(reading, session, key, now)
        case NudgeDue(key=key, reading=reading):
            return builder.nudge(reading, key, now)
        case HeadsUpDue(key=key, clash=clash):
            return builder.headsup(clash, key, now)
        case DigestDue(key=key, lead=lead):
            digest = lead_digest(lead, readings, now, history, clashes=clashes)
            return builder.digest(digest, key, now)


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
    sleep: Callable[[float], None] = time.sleep,
) -> TickResult:
    """Send everything due at ``now`` through ``provider``, recording each send in ``store``.

    The caller holds the state file's lock (``runtime.session``). Returns what was sent,
    skipped, failed and left uncertain; the CLI turns failures into exit code 3.

    ``baseline`` records everything due as skipped without sending it: for a state file that
    was lost and started afresh mid-programme, so that messages already sent from the old one
    are not sent again.
    """
    result = TickResult(now=now, dry_run=dry_run)
    builder = builder or MessageBuilder(config)
    outbox = Outbox(
        provider, store, retries=retries, retry_delay=retry_delay, sleep=sleep, progress=progress
    )
    if not dry_run:
        result.record(outbox.resolve_interrupted())

    # Answers that arrived by mail go into the calendar first, so that a session declined by
    # reply gets no agenda on this very run. A mailbox that cannot be read stops nothing else:
    # the run goes on with the calendar as it is and exits 3.
    if isinstance(provider, ReplyReader):
        try:
            result.replies = provider.read_replies(now, apply=not dry_run)
        except ProviderError as exc:
            result.replies_failed = exc.one_line()
    readings = read_programme(config, provider, now)
    if not dry_run:
        result.snapshots = _store_snapshots(store, readings, now)

    # Free/busy for the sessions ahead: once a day, and on the run that sends a lead's digest
    # (it lists the clashes). Like the mailbox, a read that fails stops only the heads-ups:
    # agendas and feedback still go out, and the run exits 3.
    last_read = _watch_read_at(store)
    digest_due = bool(digests_due(readings, config, outbox.ledger(), now))
    if digest_due or watch_due(last_read, now):
        try:
            result.watch = read_watch(provider, readings, now)
        except ProviderError as exc:
            result.watch_failed = exc.one_line()
        else:
            if not dry_run:
                store.put(*WATCH_STATE, now.isoformat())
    elif last_read is not None:
        result.watch_next = last_read + WATCH_EVERY
    clashes = result.watch.clashes

    if not dry_run:
        # An uncertain send the mailbox proves unsent goes again only while it would still be
        # due had it never been tried (an agenda whose session has started would not).
        untried = {k: s for k, s in outbox.ledger().items() if s is not MailStatus.UNCERTAIN}
        still = {item.key for item in due(readings, config, untried, now, clashes).send}
        result.record(outbox.settle_uncertain(now, still_due=still.__contains__))

    plan = due(readings, config, outbox.ledger(), now, clashes)
    skips = [(s.key, s.kind, s.pair_id, s.reason) for s in plan.skip]
    if baseline:
        skips += [(i.key, i.kind, i.pair_id, BASELINE) for i in plan.send]
    for key, kind, pair_id, why in skips:
        result.skipped.append(Line(key, kind, pair_id, detail=why))
        if not dry_run:
            outbox.skip(key, kind=kind, pair_id=pair_id, reason=why)
    if not baseline:
        # Render everything first: a template error stops the run before anything is sent.
        messages = [
            (item, build_message(item, builder, readings, store, now, clashes))
            for item in plan.send
        ]
        if dry_run:
            result.would_send = [Line.rendered(item, msg) for item, msg in messages]
        else:
            outgoing = [Outgoing(item.key, item.kind, item.pair_id, msg) for item, msg in messages]
            if on_start is not None and outgoing:
                on_start(len(outgoing))
            result.record(outbox.send(outgoing))
    result.lookup = outbox.can_look_up()
    reported = {line.key for line in result.uncertain}
    result.still_uncertain = [Line.of_row(r) for r in outbox.uncertain() if r.key not in reported]
    result.notes = list(outbox.notes)
    return result


# -- a digest on demand ----------------------------------------------------------------------


def send_digest_copy(
    outbox: Outbox, builder: MessageBuilder, digest: Digest, to: str, now: datetime
) -> Delivery:
    """``rmcal digest --to``: a lead's digest to any address now, through the same ledger.

    Its key names the address and the second, so a copy never stands in for (or blocks) the
    lead's weekly digest.
    """
    lead = digest.lead
    key = f"digest-preview:{lead.email}:{iso_week(now, lead.timezone)}:{to}"
    key += f":{now.isoformat(timespec='seconds')}"
    msg = builder.digest(digest, key, now, to=to)
    (delivery,) = outbox.send([Outgoing(key, "digest-preview", None, msg)])
    return delivery
