"""The one contract between rmcal's core and a calendar/mail platform.

A provider knows HTTP, ICS or SMTP; it knows nothing of cohorts, health or templates. The core
knows nothing of Graph or Google. Providers are found through the entry-point group
``rmcal.providers``: the entry point names a factory (usually the class) called as
``factory(settings, context)``. The core never imports a provider module by name, so a third
party can ship ``rmcal-caldav`` without touching rmcal.

Every batch method takes many items and returns one result per item keyed by the item's key, so
that one bad pair never sinks a cohort: a value is either the thing asked for or an
``ItemFailure``. Whole-call failures (auth, network after retries) raise ``ProviderError``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from rmcal.errors import ConfigError, RmcalError
from rmcal.intervals import Interval

ENTRY_POINT_GROUP = "rmcal.providers"
MAIL_KEY_HEADER = "X-Rmcal-Key"


def mail_key(message: EmailMessage) -> str | None:
    """The ledger key a message carries in ``X-Rmcal-Key``, or None when it has none.

    The one way a key is read back from a message. A key longer than about 66 characters does
    not fit on the header's first line, so serialising folds it there (``X-Rmcal-Key:`` then a
    line break and a space); a message parsed back from those bytes (a stored message re-sent
    by the outbox, an .eml in the local outbox) reads the key with a leading space, which would
    no longer match the ledger. So the value is unfolded and trimmed here.
    """
    value = message.get(MAIL_KEY_HEADER)
    key = " ".join(str(value).split()) if value is not None else ""
    return key or None


# Names of the tags rmcal writes into every series it creates (ICS X-properties, Graph
# single-value extended properties, Google private extended properties).
TAG_KEY = "key"
TAG_COHORT = "cohort"
TAG_PAIR = "pair"
TAG_FINGERPRINT = "fingerprint"
TAGS = (TAG_KEY, TAG_COHORT, TAG_PAIR, TAG_FINGERPRINT)


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str


@dataclass(frozen=True)
class SeriesSpec:
    """What one pair's recurring series should look like; the core's single source of truth.

    ``rrule`` is an RFC 5545 RRULE value (no ``RRULE:`` prefix, no DTSTART); its COUNT or UNTIL
    bounds the series. ``start`` is the first occurrence, aware, in ``timezone`` (IANA), and the
    rule expands in that zone's wall-clock time, so DST keeps the local hour.
    """

    key: str
    cohort_id: str
    pair_id: str
    title: str
    description_html: str
    description_text: str
    organizer: Attendee
    attendees: tuple[Attendee, ...]
    start: datetime
    duration: timedelta
    timezone: str
    rrule: str
    video: bool
    tags: tuple[tuple[str, str], ...]

    @property
    def tag_map(self) -> dict[str, str]:
        return dict(self.tags)


@dataclass(frozen=True)
class Series:
    """A series as the provider holds it right now (read back, never remembered)."""

    key: str
    provider_id: str
    title: str
    start: datetime  # first occurrence, aware, in ``timezone``
    duration: timedelta
    timezone: str  # IANA
    rrule: str  # as the provider now expresses it, normalised to RFC 5545 (UNTIL in UTC)
    attendees: tuple[str, ...]  # lower-cased e-mails, organizer excluded
    tags: Mapping[str, str]
    organizer: str = ""
    video_url: str | None = None
    cancelled: bool = False  # the whole series was cancelled/deleted in the calendar
    extra: Mapping[str, Any] = field(default_factory=dict)  # provider-private (etag, ids)

    @property
    def cohort_id(self) -> str:
        return self.tags.get(TAG_COHORT, "")

    @property
    def pair_id(self) -> str:
        return self.tags.get(TAG_PAIR, "")


@dataclass(frozen=True)
class SeriesEnd:
    """How one series ends: after the occurrence starting at ``last`` (kept), or, with ``last``
    None, cancelled whole, for a series none of whose sessions has taken place (there is no
    past to keep, and a lone first session would be a meeting nobody plans to hold).

    ``description_html`` and ``description_text`` are the series' text re-rendered for its
    end, so that the calendar and the update mail no longer promise "6 sessions" of a series
    that now keeps two; empty strings leave the text as it is.
    """

    series: Series
    last: datetime | None
    description_html: str = ""
    description_text: str = ""

    @property
    def cancels(self) -> bool:
        return self.last is None


class Response(StrEnum):
    """An attendee's answer for one occurrence, in the platform-neutral vocabulary."""

    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"
    NONE = "none"  # not answered (needsAction, notResponded)
    ORGANIZER = "organizer"
    # Passed the session to someone else (RFC 5545 PARTSTAT=DELEGATED; the delegate is listed
    # as another attendee). Graph and Google have no such answer: there, a stand-in shows as a
    # configured person left off an occurrence that lists someone else.
    DELEGATED = "delegated"


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a series, as the calendar reports it.

    ``original_start`` is the slot the recurrence gave it (the stable key, aware UTC);
    ``start``/``end`` are where it actually is (moved occurrences differ). Providers report a
    cancelled occurrence explicitly even where the platform only omits it.
    ``attended_seconds`` is ``None`` when attendance is not measured, else seconds per e-mail.
    """

    series_key: str
    original_start: datetime
    start: datetime
    end: datetime
    cancelled: bool = False
    responses: Mapping[str, Response] = field(default_factory=dict)
    attended_seconds: Mapping[str, int] | None = None

    @property
    def moved(self) -> bool:
        return self.start != self.original_start


@dataclass(frozen=True)
class ItemFailure:
    """One item of a batch call that did not succeed.

    ``retryable`` means another try within this run, after a short wait, may succeed (the outbox
    makes it); a provider that already waited out its own retry budget says False. A failed item
    is tried again by a later run anyway, while it is still useful.

    ``uncertain`` means the request went out and no answer came back (a dropped connection, a
    timeout, a 5xx that does not say "not done"): it may have taken effect, so it must never be
    repeated blindly. For a mail the outbox records it *uncertain*.
    """

    message: str
    retryable: bool = True
    uncertain: bool = False


@dataclass(frozen=True)
class Capabilities:
    """What the provider can do, so the core can say what it will and won't do."""

    video: bool  # can attach a video-meeting link to a series
    attendance: bool  # measured attendance is configured and readable
    batch_size: int  # items per batched write
    sends_invitations: bool  # the platform mails invitations itself when a series is created
    notes: tuple[str, ...] = ()  # human-readable caveats ("attendance: not configured")
    # True when ``send`` itself drops a message whose X-Rmcal-Key it already sent, so the core
    # may re-send a message whose outcome a crash left unknown (else it reports it uncertain).
    idempotent_send: bool = False
    # True when the provider implements ``SentMailLookup`` and its settings switched it on (the
    # permission to read the organizer's mail is then the admin's choice, see the docs).
    sent_lookup: bool = False
    # What one free/busy request may cover (people, time span), so that the core can count
    # the round trips a read costs before making it (``schedule --check-clashes``). None:
    # no limit, the read makes no network request (the local provider's files).
    busy_people_per_call: int | None = None
    busy_window: timedelta | None = None


@dataclass(frozen=True)
class Check:
    """One line of ``rmcal auth check``: a thing rmcal needs, whether it works, how to fix it.

    ``warn`` marks a row that does not fail but needs the admin's eye: something that expires
    soon, or a permission that only writing or sending could prove (``remedy`` says how to
    confirm it by hand).
    """

    name: str
    ok: bool
    detail: str = ""
    remedy: str | None = None
    warn: bool = False


BusyMap = dict[str, tuple[Interval, ...] | None]  # None: unknown (no mailbox, not shared)
Progress = Callable[[int], None]  # called with how many items just finished
Clock = Callable[[], datetime]  # aware "now"; follows --now / RMCAL_NOW


def wall_clock() -> datetime:
    """The real time, aware UTC (the default clock)."""
    return datetime.now(UTC)


class KeyValue(Protocol):
    """Small persistent values a provider keeps between runs (sync tokens), in the state file.

    Keep only what a fresh read can rebuild: ``rmcal forget`` deletes any entry whose value
    mentions a forgotten person's address or cohort.
    """

    def get(self, namespace: str, key: str) -> str | None: ...

    def put(self, namespace: str, key: str, value: str | None) -> None: ...


class MemoryKeyValue:
    """A KeyValue that forgets at exit: for dry runs, validation and tests."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], str] = {}

    def get(self, namespace: str, key: str) -> str | None:
        return self._data.get((namespace, key))

    def put(self, namespace: str, key: str, value: str | None) -> None:
        if value is None:
            self._data.pop((namespace, key), None)
        else:
            self._data[(namespace, key)] = value


@dataclass(frozen=True)
class ProviderContext:
    """What a provider may know about the world around it (never cohorts or templates)."""

    config_dir: Path
    state_dir: Path
    organizer: Attendee
    programme: str
    timezone: str
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("rmcal.provider"))
    env: Mapping[str, str] = field(default_factory=dict)  # where secrets come from
    kv: KeyValue = field(default_factory=MemoryKeyValue)
    echo: Callable[[str], None] = print  # for interactive flows (device code, browser login)
    # What "now" is for anything the provider stamps (Date, DTSTAMP, sent-at): the same clock
    # the core runs on, so that --now moves the whole run, files and ledger alike.
    clock: Clock = wall_clock
    # ``--full``: read the calendar in full, ignoring what the state file keeps to read only
    # changes (sync tokens, delta links); what the full read finds replaces it.
    full_read: bool = False


@runtime_checkable
class Provider(Protocol):
    """The calendar/mail platform. See ``docs/providers.md`` for the long form."""

    name: str
    capabilities: Capabilities

    def busy(
        self,
        emails: Sequence[str],
        start: datetime,
        end: datetime,
        *,
        zones: Mapping[str, str] | None = None,
    ) -> BusyMap:
        """Busy intervals per person over [start, end); batches and splits as its API needs.

        Sorted, one interval per event where the platform reports events (not merged with a
        neighbour), so that a clash check can tell a session from a meeting that touches it.
        ``zones`` maps e-mail to that person's IANA zone, for calendars that hold floating or
        all-day times without saying whose zone they are in (the local provider's busy files);
        platforms that know each mailbox's zone ignore it.
        """
        ...

    def find_series(self, cohort_id: str) -> list[Series]:
        """The series rmcal made for a cohort, found by rmcal's tag in the calendar itself."""
        ...

    def find_all_series(self) -> list[Series]:
        """Every series rmcal made in this calendar, whatever its cohort, by the same tags.

        ``schedule`` needs them to notice series whose cohort left the config, and pairs that
        already meet under another cohort id. Cancelled ones are included, as in find_series.
        """
        ...

    def create_series(
        self, specs: Sequence[SeriesSpec], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Create series idempotently: a key that already exists is returned, not duplicated."""
        ...

    def update_series(
        self, changes: Sequence[tuple[Series, SeriesSpec]], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Make existing series match their specs (recurrence, duration, text, attendees)."""
        ...

    def end_series(
        self, ends: Sequence[SeriesEnd], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """End each series after its ``last`` occurrence (kept), never deleting the past; a
        ``last`` of None cancels a series that has not started, with a cancellation to its
        attendees. The series carries the end's re-rendered description when one is given."""
        ...

    def occurrences(
        self, series: Sequence[Series], start: datetime, end: datetime
    ) -> dict[str, list[Occurrence]]:
        """Every occurrence of each series with original start in [start, end), cancelled ones
        included, keyed by series key and sorted by original start."""
        ...

    def send(
        self, messages: Sequence[EmailMessage], progress: Progress | None = None
    ) -> dict[str, ItemFailure | None]:
        """Send from the organizer mailbox; keyed by each message's X-Rmcal-Key (None = sent).

        A message whose outcome is unknown gets ``ItemFailure(uncertain=True)``. Raise
        ``ProviderError`` only when none of ``messages`` can have gone out.
        """
        ...

    def validate_recurrence(self, rrule: str) -> str | None:
        """Why this platform cannot express ``rrule``, or None when it can."""
        ...

    def check(self) -> list[Check]:
        """Verify credentials and every permission rmcal needs (``rmcal auth check``)."""
        ...

    def close(self) -> None:
        """Release connections and flush caches."""
        ...


@runtime_checkable
class InteractiveLogin(Protocol):
    """Optional: providers that can sign a person in for a trial (``rmcal auth login``)."""

    def login(self) -> str:
        """Run the interactive flow (device code, browser); returns who is signed in."""
        ...


@runtime_checkable
class SentMailLookup(Protocol):
    """Optional: find messages in the organizer's mailbox by their Message-ID.

    The outbox uses it to settle sends whose outcome was unknown (``capabilities.sent_lookup``
    says whether the settings switched it on): a message found there was sent. Whether one not
    found was not sent is the outbox's judgement (it waits for mail to settle, and checks that
    the lookup finds a message it knows was sent).
    """

    def find_sent(self, message_ids: Sequence[str]) -> dict[str, bool]:
        """For each Message-ID (with its angle brackets), whether the mailbox holds it."""
        ...


Cancellation = Literal["exdate", "status"]  # an EXDATE, or an override with STATUS:CANCELLED


@runtime_checkable
class EditableCalendar(Protocol):
    """Optional: a provider whose calendar a script can edit as a person would.

    ``rmcal demo`` (and tests that play its scenes) declines, cancels and moves sessions through
    this, so that the core never writes a provider's calendar itself. An edit is what a person's
    calendar app would save (no new invitation, no rmcal bookkeeping). ``key`` is the series
    key, ``number`` counts its sessions from 1; each method returns the original start it
    changed.
    """

    def decline_session(self, key: str, number: int, email: str) -> datetime:
        """``email`` declines that one session (the others keep their answer)."""
        ...

    def cancel_session(self, key: str, number: int, how: Cancellation = "exdate") -> datetime:
        """The organizer cancels that one session, the way Outlook or Google would write it."""
        ...

    def move_session(self, key: str, number: int, by: timedelta) -> tuple[datetime, datetime]:
        """Someone drags that session by ``by``; returns its original and its new start."""
        ...


@dataclass(frozen=True)
class ReplyOutcome:
    """One attendee's answer read from the organizer's mailbox, and what became of it.

    ``applied`` is True when the answer is now in the calendar (in a dry run: would be);
    otherwise ``detail`` says why nothing changed (a stranger's reply, an older answer than
    one already recorded, a session that does not exist).
    """

    message_id: str
    attendee: str  # who answered, lower-cased ("" when the message names no one)
    response: Response | None  # what they answered, when it is an answer rmcal reads
    series_key: str | None  # the series it answers, when rmcal keeps it
    occurrence: datetime | None  # the session's original start; None: the whole series
    applied: bool
    detail: str  # one line for people: what changed, or why nothing did
    source: str = ""  # where it was read (mailbox and UID, maildir file)


@dataclass(frozen=True)
class ReplyReport:
    """What one read of the organizer's mailbox found: only messages not read before."""

    source: str  # the mailbox, as an operator would name it (no credentials)
    examined: int  # new messages looked at, replies or not
    outcomes: tuple[ReplyOutcome, ...] = ()


@runtime_checkable
class ReplyReader(Protocol):
    """Optional: a provider whose calendar learns attendees' answers from mail (iMIP replies).

    Cloud calendars record an RSVP themselves; the local provider only learns one by reading
    the reply that the attendee's calendar app mailed to the organizer. ``tick`` calls this
    once, before it reads the calendar, so that a decline counts on the run that sees it.
    """

    def read_replies(self, now: datetime, *, apply: bool = True) -> ReplyReport | None:
        """Apply the answers in messages not read before (``apply=False``: only report them).

        Returns None when the provider is not set up to read replies. Each message is read
        once; an answer older than the one the calendar holds changes nothing.
        """
        ...


ProviderFactory = Callable[[Mapping[str, Any], ProviderContext], Provider]


def available_providers() -> dict[str, Any]:
    """Installed providers by name (entry points, not yet loaded)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_provider_factory(kind: str) -> ProviderFactory:
    """The factory registered for ``kind``, or a ConfigError naming the installed ones."""
    found = available_providers()
    if kind not in found:
        names = ", ".join(sorted(found)) or "none"
        raise ConfigError(
            f"unknown provider kind {kind!r}",
            key="provider.kind",
            hint=f"installed providers: {names}",
        )
    try:
        factory: ProviderFactory = found[kind].load()
    except ImportError as exc:
        raise missing_extra(kind, found[kind], exc) from exc
    return factory


def missing_extra(kind: str, entry_point: Any, exc: ImportError) -> RmcalError:
    """One line naming what a provider lacks and the command that installs it.

    The cloud providers' client libraries are extras of their distribution, named after the
    provider (``pip install 'rmcal[microsoft]'``); a plugin without such an extra gets the
    missing module's own install line.
    """
    missing = exc.name or str(exc)
    dist = getattr(entry_point, "dist", None)
    extras = set(dist.metadata.get_all("Provides-Extra") or ()) if dist is not None else set()
    if dist is not None and kind in extras:
        command = f"pip install '{dist.name}[{kind}]'"
    else:
        command = f"pip install {missing.split('.')[0]}"
    return RmcalError(f"provider {kind} needs {missing}, which is not installed: {command}")
