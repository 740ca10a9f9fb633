"""The one home of sending: every message rmcal mails goes through ``Outbox.send``.

Why one home: the ledger is what makes a send happen exactly once, and it only works if every
sender follows the same protocol (DESIGN.md, "Identity and idempotency"):

1. Before the provider call, the message's ledger row is written as ``sending`` (counting an
   attempt) and its exact bytes are kept in the state file.
2. The provider sends in batches of ``capabilities.batch_size``.
3. After the call each row becomes ``sent``, ``failed`` (refused before it went out; retryable
   failures are retried within the run, waiting a little longer each time) or ``uncertain``:
   the request went out and no answer came back (the provider says so with
   ``ItemFailure(uncertain=True)``, or gives no result at all), so it may have been delivered
   and is never sent again blindly. An uncertain row keeps its bytes, so that resolving it
   re-sends exactly the message that may have gone (same Message-ID).
   A ``ProviderError`` for the whole call (auth, permission, network after the provider's own
   retries) marks the batch ``failed`` and propagates: providers raise it only when nothing of
   the batch went out.

A crash between 1 and 3 leaves ``sending`` rows. ``resolve_interrupted`` settles them on the
next run: it re-sends the stored bytes when the provider drops duplicates by ``X-Rmcal-Key``
(``capabilities.idempotent_send``), else marks them ``uncertain`` and reports them, never
sending twice.

Uncertain rows are settled in one of two ways. Automatically (``settle_uncertain``), where the
provider can look messages up in the organizer's mailbox by Message-ID and the admin switched
that on: a message found there was sent; one still missing ``LOOKUP_DELAY`` after its attempt
is sent once more, but only while the lookup finds a message the ledger knows was sent (so a
platform that rewrote Message-IDs, or a mailbox that keeps no sent copies, can never cause a
second copy). Or by hand, after a person checked the sent items: ``rmcal outbox resolve KEY
--sent`` (``mark_sent_by_hand``) or ``--resend`` (``Outbox.resend_by_hand``). Concurrent runs
are kept apart by the state file's one-writer lock, taken by whoever opened the store.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_string
from email.message import EmailMessage
from email.policy import default as DEFAULT_POLICY
from typing import Protocol

from rmcal.errors import ConfigError, ProviderError
from rmcal.mail import one_line, recipients
from rmcal.provider import Capabilities, ItemFailure, Progress, SentMailLookup
from rmcal.store import MailRow, MailStatus, Store
from rmcal.tables import plural

# The state file namespace that holds a message's exact bytes while it is being sent.
PENDING = "mail-pending"
# Ledger states after which a key is never sent again.
FINAL = frozenset({MailStatus.SENT, MailStatus.SKIPPED, MailStatus.UNCERTAIN})
# How long after an uncertain attempt a message missing from the organizer's mailbox counts as
# not sent. Neither Microsoft nor Google documents how soon a sent message appears there; in
# practice it takes seconds, and fifteen minutes leaves a wide margin for a slow mailbox.
LOOKUP_DELAY = timedelta(minutes=15)
NO_RESULT = "the provider reported no result for it"
FOUND = "found in the organizer's mailbox by its Message-ID: it was sent"
RESENT_MISSING = (
    "re-sent once: the organizer's mailbox did not hold it well after the uncertain attempt"
)
MISSING_STALE = (
    "not in the organizer's mailbox well after the uncertain attempt, and no longer due: "
    "not sent again"
)
BY_HAND_SENT = "recorded as sent by hand (rmcal outbox resolve --sent)"
BY_HAND_RESENT = "re-sent by hand (rmcal outbox resolve --resend)"
REQUEUED = (
    "marked for sending again by hand; its text was not kept, so the next tick renders and "
    "sends it while it is still due"
)
UNTRUSTED = (
    "uncertain sends stay uncertain: the mailbox lookup did not find a message rmcal knows it "
    "sent, so a missing message proves nothing (are Message-IDs rewritten, or sent copies not "
    "kept?); resolve them by hand"
)
NO_CONTROL = (
    "uncertain sends stay uncertain: no earlier message recorded as sent can show that the "
    "mailbox lookup works yet; they are looked up again on the next tick"
)
RESENT_INTERRUPTED = "re-sent after an interrupted run"
INTERRUPTED = (
    "a previous run stopped while sending it; it may or may not have gone out and the provider "
    "cannot tell, so rmcal will not send it again on its own"
)


class Sender(Protocol):
    """The part of the provider contract the outbox uses; every ``Provider`` is one."""

    capabilities: Capabilities

    def send(
        self, messages: Sequence[EmailMessage], progress: Progress | None = None
    ) -> dict[str, ItemFailure | None]: ...


def settled(status: MailStatus | None) -> bool:
    """True when a new run must leave a key alone: final, or still in flight (``sending``)."""
    return status in FINAL or status == MailStatus.SENDING


@dataclass(frozen=True)
class Outgoing:
    """A rendered message and what the ledger records about it."""

    key: str  # also the message's X-Rmcal-Key header
    kind: str
    pair_id: str | None
    message: EmailMessage


@dataclass(frozen=True)
class Delivery:
    """What became of one message: ``sent``, ``failed`` or ``uncertain``, and why."""

    key: str
    kind: str
    pair_id: str | None
    recipients: tuple[str, ...]
    subject: str
    status: MailStatus
    detail: str = ""  # the failure or the doubt; why it was sent again; empty when just sent
    resent: bool = False  # sent again: a crash leftover, or an uncertain send resolved
    found: bool = False  # an uncertain send found in the organizer's mailbox: it was sent

    @classmethod
    def of(
        cls, item: Outgoing, status: MailStatus, detail: str = "", *, resent: bool = False
    ) -> Delivery:
        msg = item.message
        return cls(
            key=item.key,
            kind=item.kind,
            pair_id=item.pair_id,
            recipients=tuple(recipients(msg)),
            subject=one_line(str(msg["Subject"])),
            status=status,
            detail=detail,
            resent=resent,
        )

    @classmethod
    def of_row(
        cls, row: MailRow, status: MailStatus, detail: str, *, found: bool = False
    ) -> Delivery:
        """What became of a ledger row that is settled without sending anything."""
        return cls(
            key=row.key,
            kind=row.kind,
            pair_id=row.pair_id,
            recipients=tuple(filter(None, row.recipients.split(", "))),
            subject=row.subject,
            status=status,
            detail=detail,
            found=found,
        )


class Outbox:
    """Sends through ``provider`` with ``store``'s ledger written around every call."""

    def __init__(
        self,
        provider: Sender,
        store: Store,
        *,
        retries: int = 2,
        retry_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        progress: Callable[[int], None] | None = None,
        lookup_delay: timedelta = LOOKUP_DELAY,
    ) -> None:
        self.provider = provider
        self.lookup_delay = lookup_delay
        self.notes: list[str] = []  # what a report should say besides the deliveries
        self.store = store
        self.retries = retries
        self.retry_delay = retry_delay
        self.sleep = sleep
        self.progress = progress
        self.idempotent = provider.capabilities.idempotent_send

    # -- the ledger ----------------------------------------------------------------------------

    def ledger(self) -> dict[str, MailStatus]:
        """Every key the ledger knows, with its state."""
        return {row.key: row.status for row in self.store.mail_rows()}

    def skip(self, key: str, *, kind: str, pair_id: str | None, reason: str) -> None:
        """Record that ``key`` will never be sent, and why."""
        self.store.mark_mail(key, MailStatus.SKIPPED, kind=kind, pair_id=pair_id, error=reason)

    def _begin(self, item: Outgoing) -> None:
        msg = item.message
        self.store.put(PENDING, item.key, msg.as_string())
        self.store.mark_mail(
            item.key,
            MailStatus.SENDING,
            kind=item.kind,
            pair_id=item.pair_id,
            recipients=recipients(msg),
            subject=str(msg["Subject"]),
            message_id=str(msg["Message-ID"]),
        )

    def _finish(self, key: str, status: MailStatus, error: str | None = None) -> None:
        self.store.mark_mail(key, status, error=error)
        if status is not MailStatus.UNCERTAIN:  # kept to re-send exactly what may have gone
            self.store.put(PENDING, key, None)

    def stored(self, row: MailRow) -> Outgoing | None:
        """The exact message a ledger row was last sent as, if its bytes were kept."""
        raw = self.store.get(PENDING, row.key)
        if raw is None:
            return None
        msg = message_from_string(raw, policy=DEFAULT_POLICY)
        assert isinstance(msg, EmailMessage)  # the default policy builds EmailMessage
        return Outgoing(row.key, row.kind, row.pair_id, msg)

    # -- sending -------------------------------------------------------------------------------

    def send(
        self, items: Sequence[Outgoing], *, resent: bool = False, why: str = ""
    ) -> list[Delivery]:
        """Send ``items`` (retrying retryable failures); one ``Delivery`` per item, in order.

        ``resent``: these were sent before (``why`` says why again); it marks the deliveries.
        """
        outcome: dict[str, tuple[MailStatus, str]] = {}
        pending = list(items)
        batch_size = max(1, self.provider.capabilities.batch_size)
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.retry_delay * attempt)
            retry: list[Outgoing] = []
            for first in range(0, len(pending), batch_size):
                batch = pending[first : first + batch_size]
                retry += self._batch(batch, last=attempt == self.retries, outcome=outcome)
            pending = retry
            if not pending:
                break
        deliveries = []
        for item in items:
            status, detail = outcome[item.key]
            if resent and status is MailStatus.SENT:
                detail = why
            deliveries.append(Delivery.of(item, status, detail, resent=resent))
        return deliveries

    def _batch(
        self,
        batch: Sequence[Outgoing],
        *,
        last: bool,
        outcome: dict[str, tuple[MailStatus, str]],
    ) -> list[Outgoing]:
        """One provider call; returns the items worth another attempt."""
        for item in batch:
            self._begin(item)
        try:
            results = self.provider.send([item.message for item in batch])
        except ProviderError as exc:
            # The provider says the whole call failed: nothing of this batch went out.
            for item in batch:
                self._finish(item.key, MailStatus.FAILED, exc.one_line())
            raise
        retry = []
        for item in batch:
            if item.key not in results:
                # The provider did not say: it may have sent it. Never guess.
                status = MailStatus.FAILED if self.idempotent else MailStatus.UNCERTAIN
                self._finish(item.key, status, NO_RESULT)
                outcome[item.key] = (status, NO_RESULT)
            elif (failure := results[item.key]) is None:
                self._finish(item.key, MailStatus.SENT)
                outcome[item.key] = (MailStatus.SENT, "")
            elif failure.uncertain:
                self._finish(item.key, MailStatus.UNCERTAIN, failure.message)
                outcome[item.key] = (MailStatus.UNCERTAIN, failure.message)
            else:
                outcome[item.key] = (MailStatus.FAILED, failure.message)
                if failure.retryable and not last:
                    self.store.mark_mail(item.key, MailStatus.FAILED, error=failure.message)
                    retry.append(item)
                else:
                    self._finish(item.key, MailStatus.FAILED, failure.message)
            if self.progress and item not in retry:
                self.progress(1)
        return retry

    def resolve_interrupted(self) -> list[Delivery]:
        """Settle the ``sending`` rows a crashed run left (see the module docstring).

        Returns the rows marked uncertain first, then what became of the re-sent ones.
        """
        resend: list[Outgoing] = []
        doubtful: list[Delivery] = []
        for row in self.store.mail_rows(MailStatus.SENDING):
            kept = self.stored(row)
            if self.idempotent and kept is not None:
                resend.append(kept)
                continue
            self._finish(row.key, MailStatus.UNCERTAIN, INTERRUPTED)
            doubtful.append(Delivery.of_row(row, MailStatus.UNCERTAIN, INTERRUPTED))
        if not resend:
            return doubtful
        return doubtful + self.send(resend, resent=True, why=RESENT_INTERRUPTED)

    # -- settling uncertain sends ------------------------------------------------------------

    def uncertain(self) -> list[MailRow]:
        """Every send whose outcome is unknown, oldest first."""
        return self.store.mail_rows(MailStatus.UNCERTAIN)

    def settle_uncertain(
        self, now: datetime, still_due: Callable[[str], bool] = lambda key: True
    ) -> list[Delivery]:
        """Look the uncertain sends up in the organizer's mailbox, where the provider can.

        Found: recorded sent. Missing ``lookup_delay`` after the attempt, while a control
        message (the newest one recorded sent before that delay) is found: it was not sent, so
        it is sent once more with the same bytes if ``still_due(key)`` (an agenda whose session
        has started is not), else recorded skipped. Anything else stays uncertain. A failed
        lookup changes nothing (it is noted in ``notes``).
        """
        lookup = self.provider
        if not self.can_look_up() or not isinstance(lookup, SentMailLookup):
            return []
        rows = [row for row in self.uncertain() if row.message_id]
        if not rows:
            return []
        settled_by = now - self.lookup_delay
        control = self._control(settled_by)
        ids = [str(row.message_id) for row in rows]
        if control is not None:
            ids.append(str(control.message_id))
        try:
            found = lookup.find_sent(ids)
        except ProviderError as exc:
            self.notes.append(
                f"looking up uncertain sends failed, they stay uncertain: {exc.one_line()}"
            )
            return []
        trusted = control is not None and found.get(str(control.message_id), False)
        deliveries: list[Delivery] = []
        resend: list[Outgoing] = []
        waiting = 0
        for row in rows:
            if found.get(str(row.message_id), False):
                self._finish(row.key, MailStatus.SENT, None)
                deliveries.append(Delivery.of_row(row, MailStatus.SENT, FOUND, found=True))
            elif _stamp_time(row.updated_at) > settled_by:
                waiting += 1
            elif trusted and not still_due(row.key):
                self._finish(row.key, MailStatus.SKIPPED, MISSING_STALE)
                deliveries.append(Delivery.of_row(row, MailStatus.SKIPPED, MISSING_STALE))
            elif trusted and (kept := self.stored(row)) is not None:
                resend.append(kept)
        if resend:
            deliveries += self.send(resend, resent=True, why=RESENT_MISSING)
        if waiting:
            self.notes.append(
                f"{plural(waiting, 'uncertain send')} not in the organizer's mailbox yet; looked "
                f"up again once {_minutes(self.lookup_delay)} have passed since the attempt"
            )
        if not trusted and len(rows) > waiting + len(deliveries):
            self.notes.append(UNTRUSTED if control is not None else NO_CONTROL)
        return deliveries

    def can_look_up(self) -> bool:
        """The provider can look mail up and its settings switched that on."""
        return self.provider.capabilities.sent_lookup and isinstance(self.provider, SentMailLookup)

    def _control(self, before: datetime) -> MailRow | None:
        """The newest message recorded sent before ``before``: the lookup must find it."""
        sent = [
            row
            for row in self.store.mail_rows(MailStatus.SENT)
            if row.message_id and _stamp_time(row.updated_at) <= before
        ]
        return max(sent, key=lambda row: row.updated_at, default=None)

    def resend_by_hand(self, key: str, *, dry_run: bool = False) -> Delivery:
        """``rmcal outbox resolve KEY --resend``: send one uncertain message once more.

        The kept bytes go out again (same Message-ID). Where the provider's mailbox lookup is
        on and finds the message, it is recorded sent instead: it went out after all. A row
        without kept bytes (recorded by an older rmcal) is marked failed, so that the next tick
        renders and sends it while it is still due.
        """
        row = uncertain_row(self.store, key)
        if self.can_look_up() and row.message_id:
            assert isinstance(self.provider, SentMailLookup)
            if self.provider.find_sent([row.message_id]).get(row.message_id):
                if not dry_run:
                    self._finish(key, MailStatus.SENT, None)
                return Delivery.of_row(row, MailStatus.SENT, FOUND, found=True)
        kept = self.stored(row)
        if kept is None:
            if not dry_run:
                self._finish(key, MailStatus.FAILED, REQUEUED)
            return Delivery.of_row(row, MailStatus.FAILED, REQUEUED)
        if dry_run:
            return Delivery.of(kept, MailStatus.SENDING, "would be sent again", resent=True)
        (delivery,) = self.send([kept], resent=True, why=BY_HAND_RESENT)
        return delivery


def uncertain_row(store: Store, key: str) -> MailRow:
    """The ledger row of an uncertain send, or a one-line refusal naming what ``key`` is."""
    row = store.mail(key)
    if row is None or row.status is not MailStatus.UNCERTAIN:
        state = "not in the ledger" if row is None else f"recorded {row.status}"
        raise ConfigError(
            f"{key!r} is {state}, not uncertain: there is nothing to resolve",
            key="KEY",
            hint="`rmcal outbox list` shows the uncertain sends and their keys",
        )
    return row


def mark_sent_by_hand(store: Store, key: str, *, dry_run: bool = False) -> Delivery:
    """``rmcal outbox resolve KEY --sent``: the admin found it in the sent items."""
    row = uncertain_row(store, key)
    if not dry_run:
        store.mark_mail(key, MailStatus.SENT, error=BY_HAND_SENT)
        store.put(PENDING, key, None)
    return Delivery.of_row(row, MailStatus.SENT, BY_HAND_SENT)


def resolve_command(config_path: str, key: str, flag: str = "--sent") -> str:
    """The command that settles one uncertain send by hand, ready to paste into a shell."""
    return f"rmcal outbox resolve -c {shlex.quote(config_path)} {shlex.quote(key)} {flag}"


def resolve_hint(config_path: str, key: str) -> str:
    """What to do about one uncertain send, for reports."""
    return (
        f"found in the organizer's sent items? {resolve_command(config_path, key)} "
        "(not there: --resend)"
    )


def _stamp_time(stamp: str) -> datetime:
    """A ledger time stamp (ISO 8601, UTC) as an aware datetime."""
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _minutes(delay: timedelta) -> str:
    return f"{round(delay.total_seconds() / 60)} minutes"
