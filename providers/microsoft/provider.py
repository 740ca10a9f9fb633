"""Microsoft 365 provider: calendars and mail through Microsoft Graph, tokens through MSAL.

What lives where: ``settings`` checks the ``provider:`` section, ``auth`` gets tokens, ``http``
sends requests (retries, paging, ``$batch``) and ``errors`` explains refusals; ``freebusy``
reads getSchedule; ``events`` translates event JSON to rmcal's types and back, with
``recurrence`` and ``zones`` for the RRULE and the time zone; ``sync`` keeps the delta link;
``mail`` sends and looks up mail; ``attendance`` reads Teams reports and ``checks`` builds
``rmcal auth check``. This module maps each method of the provider contract onto Graph calls.

A series is found by its tags in the calendar itself (``find_series`` filters on
``rmcal.cohort``); a create whose outcome is unknown is looked up by ``rmcal.key`` before it is
retried, so a lost answer never yields two events; a lost answer to a send makes the mail
uncertain, and ``find_sent`` (``sent_items_lookup``) finds it again by Message-ID.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from rmcal.errors import NotFound, ProviderError
from rmcal.provider import (
    TAG_COHORT,
    TAG_KEY,
    TAGS,
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

from ..backoff import Backoff
from ..sendrun import SendRun
from .attendance import TeamsAttendance
from .auth import PERM_READ, PERM_WRITE, TokenSource
from .checks import auth_checks, sent_lookup_check
from .errors import item_failure, map_error
from .events import (
    EVENT_SELECT,
    INSTANCE_SELECT,
    PRIVATE_PROPERTIES,
    end_body,
    event_body,
    occurrences_from_instances,
    property_id,
    series_from_event,
    series_from_spec,
    utc_text,
)
from .freebusy import SCHEDULE_PEOPLE, SCHEDULE_WINDOW, read_busy
from .http import (
    NOT_DONE_STATUSES,
    UNKNOWN,
    GraphHTTP,
    GraphRequest,
    GraphResponse,
    odata_string,
    segment,
)
from .mail import find_sent, read_one_message, send_mime
from .recurrence import UnsupportedRecurrence, unsupported_reason
from .settings import PROVIDER, parse_settings
from .sync import by_master, synced_instances
from .zones import UnknownZone, windows_zone

INSTANCE_MARGIN = timedelta(days=14)  # how far a moved occurrence may sit outside the window
# Series per page of a tagged listing: the most Outlook documents for a page of a collection
# (messages: 1 to 1,000); Graph sends fewer, with a next link, if it holds to a lower cap.
LIST_PAGE = 1000


class MicrosoftProvider:
    """The rmcal provider for Microsoft 365 (Exchange Online calendars and mail)."""

    name = PROVIDER

    def __init__(
        self,
        settings: Mapping[str, Any],
        context: ProviderContext,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        rng: Callable[[], float] | None = None,
    ) -> None:
        """Check the settings (``SettingsError`` on the first wrong key); no network yet.

        ``sleep``, ``clock`` (monotonic seconds) and ``rng`` (jitter) drive the retry waits,
        for tests.
        """
        self.context = context
        self.log = context.log
        self.organizer = context.organizer.email.lower()
        waits: dict[str, Any] = {"sleep": sleep, "clock": clock, "rng": rng}
        self._backoff_options = {k: v for k, v in waits.items() if v is not None}
        self.settings = parse_settings(settings, context)
        self.attendance = self.settings.attendance
        self.tokens = TokenSource(self.settings, self.log)
        self.http = GraphHTTP(
            self.settings.graph_root,
            self.tokens.token,
            timeout=self.settings.timeout,
            verify=self.settings.verify,
            backoff=self._backoff,
            log=self.log,
        )
        self._user = f"/users/{segment(self.organizer)}"
        self._sends = SendRun()  # what this run's sends learnt (``sendrun.SendRun``)
        self._teams = TeamsAttendance(
            self.http,
            user_path=self._user,
            organizer_object_id=self.settings.organizer_object_id,
            log=self.log,
        )
        self.capabilities = Capabilities(
            video=True,
            attendance=self.attendance,
            batch_size=4,
            sends_invitations=True,
            notes=(
                "invitations are sent by Exchange when a series is created",
                "attendance: Teams attendance reports"
                if self.attendance
                else "attendance: not configured (set attendance: true to read Teams reports)",
            ),
            idempotent_send=False,
            sent_lookup=self.settings.sent_items_lookup,
            busy_people_per_call=SCHEDULE_PEOPLE,
            busy_window=SCHEDULE_WINDOW,
        )

    def _backoff(self) -> Backoff:
        """A fresh retry budget for one operation (``max_retry_seconds``), steps up to 60 s."""
        s = self.settings
        return Backoff(s.max_retry_seconds, s.retry_base_seconds, 60.0, **self._backoff_options)

    def _event_path(self, provider_id: str) -> str:
        return f"{self._user}/events/{segment(provider_id)}"

    # -- free/busy ------------------------------------------------------------------------

    def busy(
        self,
        emails: Sequence[str],
        start: datetime,
        end: datetime,
        *,
        zones: Mapping[str, str] | None = None,
    ) -> BusyMap:
        """Busy intervals per person (``freebusy.read_busy``). ``zones`` is not needed:
        Exchange reads each mailbox in its own zone."""
        return read_busy(self.http, self._user, emails, start, end)

    # -- series -----------------------------------------------------------------------------

    def _events_by_property(self, tag: str, value: str, operation: str) -> list[dict[str, Any]]:
        """Series masters whose ``rmcal.<tag>`` equals ``value``, every page."""
        return self._tagged_events(tag, f"ep/value eq {odata_string(value)}", operation)

    def _tagged_events(self, tag: str, condition: str, operation: str) -> list[dict[str, Any]]:
        """Events carrying ``rmcal.<tag>`` whose value meets ``condition``, every page.

        Graph filters a string extended property by its id with ``eq`` plus ``eq``, ``ne``,
        ``startswith`` or ``contains`` on its value (singleValueLegacyExtendedProperty-get).
        """
        flt = (
            "singleValueExtendedProperties/Any(ep: ep/id eq "
            f"{odata_string(property_id(tag))} and {condition})"
        )
        ids = " or ".join(
            f"id eq {odata_string(property_id(name))}" for name in (*TAGS, *PRIVATE_PROPERTIES)
        )
        params = {
            "$filter": flt,
            "$expand": f"singleValueExtendedProperties($filter={ids})",
            "$select": EVENT_SELECT,
            "$top": str(LIST_PAGE),
        }
        return list(
            self.http.pages(
                f"{self._user}/events", operation=operation, permission=PERM_READ, params=params
            )
        )

    def find_series(self, cohort_id: str) -> list[Series]:
        """Series masters tagged with the cohort, read back from the calendar itself."""
        events = self._events_by_property(TAG_COHORT, cohort_id, "find series")
        return [s for s in self._masters(events) if s.cohort_id == cohort_id]

    def find_all_series(self) -> list[Series]:
        """Every series master with a cohort tag: one filtered listing, whatever the cohort."""
        return self._masters(self._tagged_events(TAG_COHORT, "ep/value ne ''", "find all series"))

    def _masters(self, events: list[dict[str, Any]]) -> list[Series]:
        out = []
        for event in events:
            if event.get("type") not in (None, "seriesMaster"):
                continue
            series = series_from_event(event, organizer=self.organizer)
            if series is not None and series.cohort_id:
                out.append(series)
        return sorted(out, key=lambda s: s.key)

    def _lookup_key(self, key: str) -> Series | None:
        for event in self._events_by_property(TAG_KEY, key, "look up series"):
            series = series_from_event(event, organizer=self.organizer)
            if series is not None and series.key == key:
                return series
        return None

    def create_series(
        self, specs: Sequence[SeriesSpec], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Create series idempotently.

        Existing keys are found first (one query per cohort) and returned as they are. Each
        create carries a transactionId derived from its key. Graph does not document what a
        repeated transactionId returns, so when a create's outcome is unknown (connection lost,
        gateway timeout, no inner answer) the key is looked up by its extended property before
        the create is sent again.
        """
        results: dict[str, Series | ItemFailure] = {}
        existing: dict[str, Series] = {}
        for cohort in sorted({s.cohort_id for s in specs}):
            existing.update({s.key: s for s in self.find_series(cohort)})
        todo: list[SeriesSpec] = []
        for spec in specs:
            if spec.key in existing:
                results[spec.key] = existing[spec.key]
                continue
            reason = unsupported_reason(spec.rrule)
            if reason:
                results[spec.key] = ItemFailure(f"recurrence: {reason}", retryable=False)
                continue
            try:
                windows_zone(spec.timezone)
            except UnknownZone as exc:
                results[spec.key] = ItemFailure(str(exc), retryable=False)
                continue
            todo.append(spec)
        done = len(specs) - len(todo)
        if progress and done:
            progress(done)
        results.update(self._create_all(todo, progress))
        return results

    def _create_all(
        self, todo: Sequence[SeriesSpec], progress: Progress | None
    ) -> dict[str, Series | ItemFailure]:
        """Every create in one ``$batch`` run (chains, four at once), then once more those
        whose outcome stayed unknown and whose key the calendar does not hold."""
        results: dict[str, Series | ItemFailure] = {}
        pending = list(todo)
        for attempt in range(2):
            requests_ = [
                GraphRequest(
                    str(n),
                    "POST",
                    f"{self._user}/events",
                    event_body(spec, organizer=self.organizer, create=True),
                    mailbox=self.organizer,
                )
                for n, spec in enumerate(pending)
            ]
            answers = self.http.batch(
                requests_,
                operation="create series",
                permission=PERM_WRITE,
                progress=progress if attempt == 0 else None,
            )
            unsure: list[SeriesSpec] = []
            for n, spec in enumerate(pending):
                answer = answers.get(str(n), GraphResponse(UNKNOWN))
                if answer.ok:
                    body = answer.body or {}
                    results[spec.key] = series_from_spec(
                        spec, body, str(body.get("id")), organizer=self.organizer
                    )
                elif answer.status == UNKNOWN or (
                    answer.status >= 500 and answer.status not in NOT_DONE_STATUSES
                ):
                    unsure.append(spec)  # may have been created: look before creating again
                else:
                    results[spec.key] = item_failure(
                        answer.status, answer.body, "create series", PERM_WRITE
                    )
            pending = []
            for spec in unsure:
                found = self._lookup_key(spec.key)
                if found is not None:
                    results[spec.key] = found
                elif attempt == 0:
                    pending.append(spec)
                else:
                    results[spec.key] = ItemFailure(
                        "create series: Graph did not confirm the create; a re-run looks the "
                        "series up by its tag and creates it only if it is missing",
                        retryable=True,
                    )
            if not pending:
                break
        return results

    def _patch_masters(
        self,
        patches: Sequence[tuple[str, dict[str, Any]]],
        operation: str,
        progress: Progress | None = None,
        *,
        action: str = "",
    ) -> list[GraphResponse | ItemFailure]:
        """PATCH each series master (provider id, body) in one ``$batch``, or with ``action``
        POST that action to it (``cancel``): Graph's answer where it took, else the item's
        failure.

        After no answer (or a 5xx) neither a PATCH nor a cancel is repeated: it may have been
        carried out, and each one mails the attendees. The next run reads the series and
        patches only what still differs (a cancelled series is not cancelled again). A refusal
        of the whole call (auth, permission) raises.
        """
        method, suffix = ("POST", f"/{action}") if action else ("PATCH", "")
        requests_ = [
            GraphRequest(
                str(n), method, self._event_path(pid) + suffix, body, mailbox=self.organizer
            )
            for n, (pid, body) in enumerate(patches)
        ]
        answers = self.http.batch(
            requests_, operation=operation, permission=PERM_WRITE, progress=progress
        )
        outcomes: list[GraphResponse | ItemFailure] = []
        for request in requests_:
            answer = answers.get(request.id, GraphResponse(UNKNOWN))
            if answer.ok:
                outcomes.append(answer)
            elif answer.status == UNKNOWN:
                outcomes.append(ItemFailure(f"{operation}: no answer from Graph"))
            else:
                outcomes.append(item_failure(answer.status, answer.body, operation, PERM_WRITE))
        return outcomes

    def update_series(
        self, changes: Sequence[tuple[Series, SeriesSpec]], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """PATCH each series master to match its spec (recurrence, times, text, attendees)."""
        results: dict[str, Series | ItemFailure] = {}
        planned: list[tuple[Series, SeriesSpec]] = []
        patches: list[tuple[str, dict[str, Any]]] = []
        for series, spec in changes:
            try:
                body = event_body(spec, organizer=self.organizer, create=False)
            except (UnsupportedRecurrence, UnknownZone) as exc:
                results[spec.key] = ItemFailure(str(exc), retryable=False)
                continue
            planned.append((series, spec))
            patches.append((series.provider_id, body))
        if progress and results:
            progress(len(results))
        outcomes = self._patch_masters(patches, "update series", progress)
        for (series, spec), outcome in zip(planned, outcomes, strict=True):
            results[spec.key] = (
                outcome
                if isinstance(outcome, ItemFailure)
                else series_from_spec(
                    spec, outcome.body, series.provider_id, organizer=self.organizer
                )
            )
        return results

    def end_series(
        self, ends: Sequence[SeriesEnd], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Set each series' range to end on the date of ``last`` (kept) in its zone, with the
        end's description; past occurrences stay in every calendar. A series that has not
        started (``last`` None) is cancelled with Graph's ``cancel`` action, which mails the
        attendees a cancellation carrying the end's text as its comment.
        """
        results: dict[str, Series | ItemFailure] = {}
        planned: list[Series] = []
        patches: list[tuple[str, dict[str, Any]]] = []
        cancelled: list[Series] = []
        cancels: list[tuple[str, dict[str, Any]]] = []
        for end in ends:
            series, last = end.series, end.last
            if last is None:
                cancelled.append(replace(series, cancelled=True))
                cancels.append((series.provider_id, {"comment": end.description_text}))
                continue
            if last < series.start.astimezone(ZoneInfo(series.timezone)):
                results[series.key] = ItemFailure(
                    "end series: the last occurrence to keep is before the first one; "
                    "rmcal never deletes a series, cancel it in Outlook if it must go",
                    retryable=False,
                )
                continue
            body, rule = end_body(series, last)
            if end.description_html:
                body["body"] = {"contentType": "HTML", "content": end.description_html}
            planned.append(replace(series, rrule=rule))
            patches.append((series.provider_id, body))
        if progress and results:
            progress(len(results))
        outcomes = self._patch_masters(patches, "end series", progress) if patches else []
        if cancels:
            outcomes += self._patch_masters(cancels, "cancel series", progress, action="cancel")
        for ended, outcome in zip(planned + cancelled, outcomes, strict=True):
            results[ended.key] = outcome if isinstance(outcome, ItemFailure) else ended
        return results

    # -- occurrences ------------------------------------------------------------------------

    def occurrences(
        self, series: Sequence[Series], start: datetime, end: datetime
    ) -> dict[str, list[Occurrence]]:
        """Every occurrence with original start in [start, end), cancelled ones included.

        The query window is widened by two weeks on each side so that an occurrence moved out
        of the window is still found by its original start; ``events.occurrences_from_instances``
        adds the cancelled ones Graph leaves out.
        """
        out: dict[str, list[Occurrence]] = {}
        rest = list(series)
        if self.settings.delta_sync and series:
            items = by_master(
                synced_instances(
                    self.http,
                    user_path=self._user,
                    mailbox=self.organizer,
                    start=start - INSTANCE_MARGIN,
                    end=end + INSTANCE_MARGIN,
                    kv=self.context.kv,
                    full=self.context.full_read,
                    log=self.log,
                )
            )
            # A series with no occurrence in the calendar view (all cancelled, or the master
            # deleted) is read on its own, so that "gone" is Graph's answer, not the cache's.
            rest = [s for s in series if s.provider_id not in items]
            for one in series:
                if one.provider_id in items:
                    found = items[one.provider_id]
                    out[one.key] = occurrences_from_instances(one, found, start, end)
        out.update(self._occurrences_of(rest, start, end))
        if self.attendance:
            self._teams.add_to(series, out)
        return out

    def _occurrences_of(
        self, series: Sequence[Series], start: datetime, end: datetime
    ) -> dict[str, list[Occurrence]]:
        """Each series' ``instances``, batched (the way without a delta link)."""
        query = {
            "startDateTime": utc_text(start - INSTANCE_MARGIN),
            "endDateTime": utc_text(end + INSTANCE_MARGIN),
            "$select": INSTANCE_SELECT,
            "$top": "100",
        }
        requests_ = [
            GraphRequest(
                str(n),
                "GET",
                f"{self._event_path(s.provider_id)}/instances?" + urlencode(query, quote_via=quote),
                mailbox=self.organizer,
            )
            for n, s in enumerate(series)
        ]
        answers = self.http.batch(requests_, operation="read occurrences", permission=PERM_READ)
        out: dict[str, list[Occurrence]] = {}
        for n, one in enumerate(series):
            items = self._instances(answers.get(str(n), GraphResponse(UNKNOWN)))
            out[one.key] = occurrences_from_instances(one, items, start, end)
        return out

    def _instances(self, answer: GraphResponse) -> list[dict[str, Any]]:
        """Every instance behind one batched answer (its first page), following next links."""
        if answer.ok:
            return list(
                self.http.pages(
                    "", operation="read occurrences", permission=PERM_READ, first=answer
                )
            )
        if answer.status == UNKNOWN:
            raise ProviderError(
                PROVIDER,
                "read occurrences",
                "Graph gave no answer",
                remedy="re-run later",
                retryable=True,
            )
        error = map_error(answer.status, answer.body, "read occurrences", PERM_READ)
        if not isinstance(error, NotFound):
            raise error
        return []  # the master is gone (deleted in Outlook): every expected occurrence is off

    # -- mail -------------------------------------------------------------------------------

    def send(
        self, messages: Sequence[EmailMessage], progress: Progress | None = None
    ) -> dict[str, ItemFailure | None]:
        """Send each message from the organizer mailbox (see ``mail.send_mime``)."""
        return send_mime(
            self.http, user_path=self._user, messages=messages, progress=progress, run=self._sends
        )

    def find_sent(self, message_ids: Sequence[str]) -> dict[str, bool]:
        """Whether the organizer's mailbox holds each Message-ID (``sent_items_lookup``)."""
        return find_sent(self.http, user_path=self._user, message_ids=message_ids)

    # -- validation, checks, login ----------------------------------------------------------

    def validate_recurrence(self, rrule: str) -> str | None:
        return unsupported_reason(rrule)

    def check(self) -> list[Check]:
        """Token, then each permission rmcal needs, each with the remedy when it is missing."""
        hour = self.context.clock().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        rows = auth_checks(
            settings=self.settings,
            tokens=self.tokens,
            organizer=self.organizer,
            read_calendar=lambda: self.http.call(
                "GET",
                f"{self._user}/calendar",
                operation="read calendar",
                permission=PERM_WRITE,
                params={"$select": "id,name"},
            ),
            read_busy=lambda: self.busy([self.organizer], hour, hour + timedelta(hours=1)),
            now=self.context.clock(),
        )
        read_mail = functools.partial(read_one_message, self.http, user_path=self._user)
        return [
            *rows,
            sent_lookup_check(settings=self.settings, tokens=self.tokens, probe=read_mail),
        ]

    def login(self) -> str:
        """Device-code sign-in for a trial (``auth: device_code``)."""
        return self.tokens.login(self.context.echo)

    def close(self) -> None:
        self.tokens.save_cache()
        self.http.close()
