"""The one home of sending: every message rmcal mails goes through ``Outbox.send``.

Why one home: the ledger is what makes a send happen exactly once, and it only works if every
sender follows the same protocol (DESIGN.md, "Identity and idempotency"):

1. Before the provider call, the message's ledger row is written as ``sending`` (counting an
   attempt) and its exact bytes are kept in the state file.
2. The provider sends in batches of ``capabilities.batch_size``.
3. After the call each row becomes ``sent``, ``failed`` (retryable failures are retried within
   the run, waiting a little longer each time) or ``uncertain``: the provider gave no result
   for it and cannot drop a duplicate, so it may have gone out and is never sent again.
   A ``ProviderError`` for the whole call (auth, permission, network after the provider's own
   retries) marks the batch ``failed`` and propagates: nothing of it went out.

A crash between 1 and 3 leaves ``sending`` rows. ``resolve_interrupted`` settles them on the
next run: it re-sends the stored bytes when the provider drops duplicates by ``X-Rmcal-Key``
(``capabilities.idempotent_send``), else marks them ``uncertain`` and reports them, never
sending twice. Concurrent runs are kept apart by the state file's one-writer lock, taken by
whoever opened the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import message_from_string
from email.message import EmailMessage
from email.policy import default as DEFAULT_POLICY
from typing import Protocol

from rmcal.errors import ProviderError
from rmcal.mail import recipients
from rmcal.provider import Capabilities, ItemFailure, Progress
from rmcal.store import MailStatus, Store

# The state file namespace that holds a message's exact bytes while it is being sent.
PENDING = "mail-pending"
# Ledger states after which a key is never sent again.
FINAL = frozenset({MailStatus.SENT, MailStatus.SKIPPED, MailStatus.UNCERTAIN})
NO_RESULT = "the provider reported no result for it"
INTERRUPTED = (
    "a previous run stopped while sending it; it may or may not have gone out and the provider "
    "cannot tell, so rmcal will not send it again: check the organizer's sent items"
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
    detail: str = ""  # the failure or the doubt; empty when sent
    resent: bool = False  # a crash leftover sent again by an idempotent provider

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
            subject=str(msg["Subject"]),
            status=status,
            detail=detail,
            resent=resent,
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
    ) -> None:
        self.provider = provider
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
        self.store.put(PENDING, key, None)

    # -- sending -------------------------------------------------------------------------------

    def send(self, items: Sequence[Outgoing], *, resent: bool = False) -> list[Delivery]:
        """Send ``items`` (retrying retryable failures); one ``Delivery`` per item, in order."""
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
        return [Delivery.of(item, *outcome[item.key], resent=resent) for item in items]

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
            raw = self.store.get(PENDING, row.key)
            if self.idempotent and raw is not None:
                msg = message_from_string(raw, policy=DEFAULT_POLICY)
                assert isinstance(msg, EmailMessage)  # the default policy builds EmailMessage
                resend.append(Outgoing(row.key, row.kind, row.pair_id, msg))
                continue
            self._finish(row.key, MailStatus.UNCERTAIN, INTERRUPTED)
            doubtful.append(
                Delivery(
                    key=row.key,
                    kind=row.kind,
                    pair_id=row.pair_id,
                    recipients=tuple(filter(None, row.recipients.split(", "))),
                    subject=row.subject,
                    status=MailStatus.UNCERTAIN,
                    detail=INTERRUPTED,
                )
            )
        return doubtful + (self.send(resend, resent=True) if resend else [])
