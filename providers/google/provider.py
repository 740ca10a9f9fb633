"""Google Workspace provider: Calendar v3 for series and free/busy, Gmail v1 for mail.

Acts as one organizer mailbox (service account with domain-wide delegation, or that user's own
OAuth token for a trial). This class is only the contract rmcal's core sees; each part of it
lives in a module of its own, all sharing one ``GoogleClient`` (transport, credentials, API
clients, paced callers):

* ``settings``: the ``provider:`` section, checked once; ``auth``: credentials and the token
  endpoint's errors; ``client``: the connection; ``batch``: pacing, batching, retries and error
  wording for every request;
* ``freebusy``; ``reads`` (series and occurrences) with ``sync`` (the sync-token cache) and
  ``meet`` (measured attendance); ``writes`` (create, update, end); ``gmail`` (sending, over
  ``sendhttp``, and finding sent mail again);
  ``checks`` (``rmcal auth check``);
* ``events``: the pure translation of event JSON to and from rmcal's types.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from google.auth.credentials import Credentials

from rmcal.errors import SettingsError
from rmcal.provider import (
    BusyMap,
    Capabilities,
    Check,
    ItemFailure,
    Occurrence,
    Progress,
    ProviderContext,
    Series,
    SeriesEnd,
    SeriesSpec,
)

from ..sendrun import SendRun
from . import auth, checks, freebusy, gmail, quota, reads, writes
from .batch import Pacer
from .client import GoogleClient
from .settings import (
    PROVIDER,
    SCOPE_DIRECTORY,
    SCOPE_MEET,
    GoogleSettings,
    parse_settings,
    short_scope,
)


class GoogleProvider:
    """The rmcal provider for Google Workspace (entry point ``google``)."""

    name = PROVIDER

    def __init__(
        self,
        settings: Mapping[str, Any],
        context: ProviderContext,
        *,
        transport: Any | None = None,
        credentials: Credentials | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        now: Callable[[], datetime] | None = None,
        open_browser: bool = True,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """Check the settings (``SettingsError`` on the first wrong key); no network yet.

        ``transport`` (an ``httplib2.Http``-compatible object), ``credentials``, ``sleep``,
        ``clock``, ``rng``, ``now`` and ``open_browser`` exist for tests and embedding; the
        CLI passes none.
        """
        self.settings: GoogleSettings = parse_settings(settings, context)
        self.context = context
        self.client = GoogleClient(
            self.settings,
            transport=transport,
            credentials=credentials,
            sleep=sleep,
            clock=clock,
            rng=rng,
        )
        self._now = now or (lambda: datetime.now(UTC))
        self._open_browser = open_browser
        # Real time, not ``context.clock`` (``--now``): what the quota counts is real minutes.
        self._wall = wall
        quota.restore(self._pacers(), context.kv, wall)
        self._sends = SendRun()  # what this run's sends learnt (``sendrun.SendRun``)
        self.capabilities = _capabilities(self.settings)

    def busy(
        self,
        emails: Sequence[str],
        start: datetime,
        end: datetime,
        *,
        zones: Mapping[str, str] | None = None,
    ) -> BusyMap:
        """Busy intervals per person; None for a calendar Google reports an error for.

        ``zones`` is not needed: Google reads each calendar in its owner's zone itself.
        """
        return freebusy.busy(self.client, emails, start, end)

    def find_series(self, cohort_id: str) -> list[Series]:
        """The cohort's series by rmcal's private property; deleted ones come back cancelled."""
        return reads.find_series(self.client, cohort_id, self.context.timezone)

    def find_all_series(self) -> list[Series]:
        """Every series rmcal tagged, whatever its cohort (one read of the calendar's events)."""
        return reads.find_all_series(self.client, self.context.timezone)

    def create_series(
        self, specs: Sequence[SeriesSpec], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Insert each series with its key as event id; a 409 is resolved by reading it."""
        return writes.create_series(self.client, specs, progress)

    def update_series(
        self, changes: Sequence[tuple[Series, SeriesSpec]], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Patch each series to match its spec; Google mails the changes to the pair."""
        return writes.update_series(self.client, changes, progress)

    def end_series(
        self, ends: Sequence[SeriesEnd], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Cut each rule at the last kept occurrence (or delete a series not yet begun)."""
        return writes.end_series(self.client, ends, progress)

    def occurrences(
        self, series: Sequence[Series], start: datetime, end: datetime
    ) -> dict[str, list[Occurrence]]:
        """Every occurrence with original start in [start, end), cancelled ones included."""
        return reads.occurrences(
            self.client, series, start, end, context=self.context, now=self._now
        )

    def send(
        self, messages: Sequence[EmailMessage], progress: Progress | None = None
    ) -> dict[str, ItemFailure | None]:
        """Send each message from the organizer's mailbox; never blindly re-sent."""
        return gmail.send(self.client, messages, progress, run=self._sends)

    def find_sent(self, message_ids: Sequence[str]) -> dict[str, bool]:
        """Whether the organizer's mailbox holds each Message-ID (``sent_items_lookup``)."""
        return gmail.find_sent(self.client, message_ids)

    def validate_recurrence(self, rrule: str) -> str | None:
        """Google takes any RFC 5545 RRULE; only one that does not parse is refused."""
        return writes.recurrence_problem(rrule)

    def check(self) -> list[Check]:
        """One row per thing rmcal needs: credentials, each scope, calendar, free/busy, mail."""
        return checks.check(self.client, self._now)

    def login(self) -> str:
        """OAuth installed-app sign-in for ``auth: oauth``; saves the token (mode 0600)."""
        if self.settings.auth != "oauth":
            raise SettingsError(
                "auth",
                "is service_account: there is nothing to sign in to",
                hint="use `rmcal auth check`; login is for auth: oauth trials",
            )
        creds = auth.run_login(self.settings, self.context.echo, open_browser=self._open_browser)
        self.client.use_credentials(creds)
        return self.settings.subject

    def close(self) -> None:
        """Keep the last minute's calls for the next run (``quota``); drop pooled connections
        (httplib2 keeps them per host)."""
        try:
            quota.save(self._pacers(), self.context.kv, self._wall)
        finally:
            self.client.close()

    def _pacers(self) -> dict[str, Pacer]:
        return {"calendar": self.client.calls.pacer, "gmail": self.client.mail_calls.pacer}


def _capabilities(settings: GoogleSettings) -> Capabilities:
    """What rmcal can promise on Google, with the limits it works within spelled out."""
    notes = [
        "invitations: Google mails them to the pair (sendUpdates=all)",
        f"free/busy: {freebusy.BUSY_PEOPLE_PER_CALL} people and "
        f"{freebusy.BUSY_WINDOW.days} days per call",
    ]
    if settings.attendance:
        notes.append("attendance: Google Meet conference records (kept 30 days by Google)")
    else:
        notes.append(
            "attendance: off; set provider.attendance: true and authorise "
            f"{short_scope(SCOPE_MEET)} and {short_scope(SCOPE_DIRECTORY)} to measure it"
        )
    return Capabilities(
        video=True,
        attendance=settings.attendance,
        batch_size=settings.batch_size,
        sends_invitations=True,
        notes=tuple(notes),
        sent_lookup=settings.sent_items_lookup,
        busy_people_per_call=freebusy.BUSY_PEOPLE_PER_CALL,
        busy_window=freebusy.BUSY_WINDOW,
    )
