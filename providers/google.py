"""Google Workspace provider: Calendar v3 for series and free/busy, Gmail v1 for mail.

Acts as one organizer mailbox (service account with domain-wide delegation, or that user's own
OAuth token for a trial). Why it is shaped the way it is:

* The client is built from the discovery documents shipped with google-api-python-client
  (``static_discovery=True``: no discovery fetch at run time) over an explicit
  ``AuthorizedHttp(httplib2.Http(ca_certs, timeout))``, so the CA bundle and timeout are the
  settings' and not whatever environment variable httplib2 happens to read.
* ``httplib2.RETRIES = 1``: httplib2 otherwise re-sends a POST whose connection dropped, which
  for Gmail can send one message twice behind rmcal's back. rmcal's own retries decide instead.
* A series' event id *is* its series key, so a retried insert answers 409 instead of making a
  duplicate; the 409 is resolved by reading the event (a deleted event keeps its id forever).
* Batches are built with ``BatchHttpRequest(batch_uri=...)`` because the service's own
  ``new_batch_http_request()`` always posts to Google's public URL.

Splits: settings in ``google_settings``, credentials in ``google_auth``, pacing/batching/retries
and error wording in ``google_batch``, event JSON in ``google_events``, Meet in ``google_meet``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.auth.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from rmcal.errors import AuthError, ProviderError, SettingsError
from rmcal.intervals import busy_requests, merge
from rmcal.provider import (
    MAIL_KEY_HEADER,
    BusyMap,
    Capabilities,
    Check,
    Interval,
    ItemFailure,
    Occurrence,
    Progress,
    ProviderContext,
    Series,
    SeriesSpec,
)
from rmcal.recurrence import RecurrenceError, expand, parse_problem, with_until

from . import google_auth
from .backoff import Backoff
from .google_batch import (
    Calls,
    ErrorContext,
    Pacer,
    explain,
    item_failure,
    reasons,
    status_of,
)
from .google_events import (
    COHORT_PROPERTY,
    KEY_PROPERTY,
    compact,
    event_body,
    is_parent,
    occurrence_from_instance,
    overlay,
    parse_time,
    parse_when,
    patch_body,
    rfc3339,
    series_from_event,
    valid_event_id,
)
from .google_meet import Attendance
from .google_settings import (
    FALLBACK_CALENDAR_SCOPES,
    GMAIL_SEND_SCOPES,
    SCOPE_DIRECTORY,
    SCOPE_EVENTS,
    SCOPE_FREEBUSY,
    SCOPE_GMAIL_SEND,
    SCOPE_MEET,
    GoogleSettings,
    parse_settings,
    short_scope,
)

PROVIDER = "google"
BUSY_PEOPLE_PER_CALL = 50  # FreeBusyRequest.calendarExpansionMax maximum
BUSY_WINDOW = timedelta(days=90)  # longer ranges are refused ("time range is too long")
GMAIL_SENDS_PER_MINUTE = 150  # 15,000 quota units per user per minute / 100 units per send
GMAIL_BURST = 50  # sent at once; the rest refill at (150 - 50) per minute
GMAIL_MAX_RAW = 36_700_160  # users.messages.send maximum message size
INSTANCE_MARGIN = timedelta(days=7)  # catch occurrences moved out of the asked window
CONFERENCE_WAIT = 2.0  # seconds before re-reading events whose Meet link is still pending
SYNC_NAMESPACE = "google"
SYNC_STATE_VERSION = 1

BURNT_ID = (
    "a series with this key was deleted in Google Calendar, and Google never lets a deleted "
    "event's id be used again, so this series cannot be created under the same key; "
    "scheduling the pair again needs a new series key (a new generation of the pair, or a new "
    "pair identity such as another cohort id). Nothing was created"
)


class SyncTokenExpired(Exception):
    """Google answered 410: the sync token is no longer valid and a full re-read is needed."""


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
    ) -> None:
        """Check the settings (``SettingsError`` on the first wrong key); no network yet.

        ``transport`` (an ``httplib2.Http``-compatible object), ``credentials``, ``sleep``,
        ``clock``, ``rng``, ``now`` and ``open_browser`` exist for tests and embedding; the
        CLI passes none.
        """
        self.settings: GoogleSettings = parse_settings(settings, context)
        self.context = context
        # See the module docstring: never let httplib2 re-send a request by itself.
        httplib2.RETRIES = 1
        self._transport = transport
        self._credentials = credentials
        if credentials is None and self.settings.auth == "service_account":
            # Parses the private key now (no network), so `rmcal validate` catches a bad key.
            self._credentials = google_auth.build_credentials(self.settings)
        self._http: google_auth_httplib2.AuthorizedHttp | None = None
        self._services: dict[str, Any] = {}
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._now = now or (lambda: datetime.now(UTC))
        self._open_browser = open_browser
        s = self.settings
        self.ctx = ErrorContext(
            calendar_id=s.calendar_id,
            subject=s.subject,
            scopes=",".join(s.scopes),
            client_id=s.client_id,
        )
        self.calls = Calls(
            batch_uri=s.batch_uri,
            batch_size=s.batch_size,
            pacer=Pacer(s.requests_per_minute, s.batch_size, clock=clock, sleep=sleep),
            backoff=self._backoff,
            ctx=self.ctx,
            on_refresh_error=lambda exc, op: google_auth.explain_refresh_error(exc, s, op),
            before_batch=self._fresh_token,
        )
        self.mail_calls = Calls(
            batch_uri=s.batch_uri,
            batch_size=1,
            pacer=Pacer(GMAIL_SENDS_PER_MINUTE, GMAIL_BURST, clock=clock, sleep=sleep),
            backoff=self._backoff,
            ctx=self.ctx,
            on_refresh_error=lambda exc, op: google_auth.explain_refresh_error(exc, s, op),
        )
        notes = [
            "invitations: Google mails them to the pair (sendUpdates=all)",
            f"free/busy: {BUSY_PEOPLE_PER_CALL} people and {BUSY_WINDOW.days} days per call",
        ]
        if s.attendance:
            notes.append("attendance: Google Meet conference records (kept 30 days by Google)")
        else:
            notes.append(
                "attendance: off; set provider.attendance: true and authorise "
                f"{short_scope(SCOPE_MEET)} and {short_scope(SCOPE_DIRECTORY)} to measure it"
            )
        self.capabilities = Capabilities(
            video=True,
            attendance=s.attendance,
            batch_size=s.batch_size,
            sends_invitations=True,
            notes=tuple(notes),
        )

    # -- plumbing ---------------------------------------------------------------------------

    def _backoff(self) -> Backoff:
        return Backoff(
            base=1.0,
            cap=32.0,
            max_attempts=8,
            max_elapsed=self.settings.max_retry_seconds,
            sleep=self._sleep,
            clock=self._clock,
            rng=self._rng,
        )

    def _raw_transport(self) -> Any:
        if self._transport is None:
            self._transport = google_auth.raw_http(self.settings)
        return self._transport

    def _authorized(self) -> google_auth_httplib2.AuthorizedHttp:
        if self._http is None:
            if self._credentials is None:
                self._credentials = google_auth.build_credentials(self.settings)
            self._http = google_auth_httplib2.AuthorizedHttp(
                self._credentials, http=self._raw_transport()
            )
        return self._http

    def _fresh_token(self) -> None:
        """Refresh an invalid or expiring token over *our* transport before a batch.

        ``BatchHttpRequest.execute`` refreshes invalid credentials through a brand-new
        ``httplib2.Http()``, which knows neither ``ca_bundle`` nor ``timeout``; a token that is
        already valid avoids that path.
        """
        http = self._authorized()
        if not http.credentials.valid:
            http.credentials.refresh(google_auth_httplib2.Request(self._raw_transport()))

    def _service(self, api: str) -> Any:
        """A discovery-built client over the authorised transport, built once per API."""
        if api not in self._services:
            s = self.settings
            name, version, endpoint = {
                "calendar": ("calendar", "v3", s.api_endpoint),
                "gmail": ("gmail", "v1", s.gmail_endpoint),
                "meet": ("meet", "v2", s.meet_endpoint),
                "people": ("people", "v1", s.people_endpoint),
            }[api]
            self._services[api] = build(
                name,
                version,
                http=self._authorized(),
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": endpoint},
            )
        return self._services[api]

    @property
    def _events(self) -> Any:
        return self._service("calendar").events()

    # -- free/busy --------------------------------------------------------------------------

    def busy(self, emails: Sequence[str], start: datetime, end: datetime) -> BusyMap:
        """Busy intervals per person; a calendar Google reports an error for is None (unknown).

        50 people per ``freebusy.query`` and windows of at most 90 days, so a long series
        horizon costs ceil(people/50) × ceil(days/90) calls.
        """
        people = list(dict.fromkeys(e.lower() for e in emails))
        found: dict[str, list[Interval]] = {e: [] for e in people}
        unknown: set[str] = set()
        calendar = self._service("calendar")
        calls = busy_requests(
            people, start, end, people_per_call=BUSY_PEOPLE_PER_CALL, window=BUSY_WINDOW
        )
        for chunk, window_start, window_end in calls:
            body = {
                "timeMin": rfc3339(window_start),
                "timeMax": rfc3339(window_end),
                "timeZone": "UTC",
                "items": [{"id": e} for e in chunk],
            }
            answer = self.calls.execute(calendar.freebusy().query(body=body), "free/busy")
            calendars = {str(k).lower(): v for k, v in (answer.get("calendars") or {}).items()}
            for email in chunk:
                entry = calendars.get(email)
                if entry is None or entry.get("errors"):
                    unknown.add(email)  # notFound, not shared, internalError...
                    continue
                for block in entry.get("busy") or []:
                    found[email].append((parse_time(block["start"]), parse_time(block["end"])))
        return {e: None if e in unknown else merge(found[e]) for e in people}

    # -- series -----------------------------------------------------------------------------

    def find_series(self, cohort_id: str) -> list[Series]:
        """The cohort's series, found by rmcal's private extended property, not the state.

        Deleted series are asked for too (``showDeleted``) and come back with
        ``cancelled=True``: their id can never be used again, and the planner leaves a series
        that was cancelled in the calendar alone instead of trying to create it anew.
        """
        items, zone = self._list_pages(
            {
                "privateExtendedProperty": f"{COHORT_PROPERTY}={cohort_id}",
                "showDeleted": True,
                "maxResults": 250,
            },
            "find series",
        )
        found: dict[str, Series] = {}
        for event in items:
            # Exceptions of a series carry the same properties; only parents are series.
            if not is_parent(event) or not event.get("recurrence") or not event.get("start"):
                continue
            series = series_from_event(event, zone)
            current = found.get(series.key)
            if current is None or _better(series, current):
                found[series.key] = series
        return sorted(found.values(), key=lambda s: s.key)

    def create_series(
        self, specs: Sequence[SeriesSpec], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Insert each series with its key as event id; a 409 is resolved by reading it."""
        results: dict[str, Series | ItemFailure] = {}
        requests: dict[str, Any] = {}
        wanted: dict[str, SeriesSpec] = {}
        for spec in specs:
            problem = valid_event_id(spec.key) or self._spec_problem(spec)
            if problem:
                results[spec.key] = ItemFailure(problem, retryable=False)
                continue
            params: dict[str, Any] = {
                "calendarId": self.settings.calendar_id,
                "body": event_body(spec),
                "sendUpdates": "all",
            }
            if spec.video:
                params["conferenceDataVersion"] = 1
            requests[spec.key] = self._events.insert(**params)
            wanted[spec.key] = spec
        answers = self.calls.execute_many(requests, "create series", progress)
        existing: list[str] = []
        for key, answer in answers.items():
            if isinstance(answer, HttpError):
                if status_of(answer) == 409:
                    existing.append(key)
                elif status_of(answer) == 404:
                    raise explain(answer, "create series", self.ctx)  # the calendar is missing
                else:
                    results[key] = item_failure(answer, self.ctx)
            else:
                results[key] = series_from_event(answer, wanted[key].timezone)
        if existing:
            results.update(self._resolve_existing(existing, wanted))
        self._await_conferences(results, wanted)
        return results

    def _resolve_existing(
        self, keys: list[str], wanted: Mapping[str, SeriesSpec]
    ) -> dict[str, Series | ItemFailure]:
        """After 409 "already exists": a live event of ours is success; a deleted one is not."""
        out: dict[str, Series | ItemFailure] = {}
        gets = {
            key: self._events.get(calendarId=self.settings.calendar_id, eventId=key) for key in keys
        }
        for key, answer in self.calls.execute_many(gets, "read existing series").items():
            if isinstance(answer, HttpError):
                out[key] = item_failure(answer, self.ctx)
            elif answer.get("status") == "cancelled":
                out[key] = ItemFailure(BURNT_ID, retryable=False)
            elif ((answer.get("extendedProperties") or {}).get("private") or {}).get(
                KEY_PROPERTY
            ) != key:
                out[key] = ItemFailure(
                    f"an event with id {key} exists in the calendar but rmcal did not create it",
                    retryable=False,
                )
            else:
                out[key] = series_from_event(answer, wanted[key].timezone)
        return out

    def _await_conferences(
        self, results: dict[str, Series | ItemFailure], wanted: Mapping[str, SeriesSpec]
    ) -> None:
        """Meet links are made asynchronously; re-read once those still ``pending``."""
        pending = [
            key
            for key, value in results.items()
            if isinstance(value, Series)
            and key in wanted
            and wanted[key].video
            and not value.video_url
            and value.extra.get("conference_status") == "pending"
        ]
        if not pending:
            return
        self._sleep(CONFERENCE_WAIT)
        gets = {
            key: self._events.get(
                calendarId=self.settings.calendar_id, eventId=results[key].provider_id
            )  # type: ignore[union-attr]
            for key in pending
        }
        for key, answer in self.calls.execute_many(gets, "read Meet links").items():
            if not isinstance(answer, HttpError):
                results[key] = series_from_event(answer, wanted[key].timezone)

    def update_series(
        self, changes: Sequence[tuple[Series, SeriesSpec]], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Patch each series to match its spec; Google mails the changes to the pair."""
        results: dict[str, Series | ItemFailure] = {}
        requests: dict[str, Any] = {}
        wanted: dict[str, SeriesSpec] = {}
        for series, spec in changes:
            if series.cancelled:
                results[series.key] = ItemFailure(BURNT_ID, retryable=False)
                continue
            problem = self._spec_problem(spec)
            if problem:
                results[series.key] = ItemFailure(problem, retryable=False)
                continue
            requests[series.key] = self._events.patch(
                calendarId=self.settings.calendar_id,
                eventId=series.provider_id,
                body=patch_body(series, spec),
                sendUpdates="all",
                conferenceDataVersion=1,
            )
            wanted[series.key] = spec
        for key, answer in self.calls.execute_many(requests, "update series", progress).items():
            if isinstance(answer, HttpError):
                results[key] = item_failure(answer, self.ctx)
            else:
                results[key] = series_from_event(answer, wanted[key].timezone)
        self._await_conferences(results, wanted)
        return results

    def end_series(
        self, ends: Sequence[tuple[Series, datetime]], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Cut each rule with UNTIL at the last kept occurrence; past occurrences stay.

        A series ended before its first occurrence has no past to keep and is cancelled
        (deleted) instead, so no invitation lingers in the pair's calendars.
        """
        results: dict[str, Series | ItemFailure] = {}
        requests: dict[str, Any] = {}
        by_key: dict[str, Series] = {}
        for series, last in ends:
            by_key[series.key] = series
            if series.cancelled:
                results[series.key] = series
                continue
            if last < series.start:
                requests[series.key] = self._events.delete(
                    calendarId=self.settings.calendar_id,
                    eventId=series.provider_id,
                    sendUpdates="all",
                )
                continue
            try:
                rule = with_until(series.rrule, last)
            except RecurrenceError as exc:
                results[series.key] = ItemFailure(f"cannot end {series.rrule!r}: {exc}", False)
                continue
            lines = ["RRULE:" + rule] + [
                line for line in series.extra.get("recurrence", ()) if line
            ]
            requests[series.key] = self._events.patch(
                calendarId=self.settings.calendar_id,
                eventId=series.provider_id,
                body={"recurrence": lines},
                sendUpdates="all",
            )
        for key, answer in self.calls.execute_many(requests, "end series", progress).items():
            series = by_key[key]
            if isinstance(answer, HttpError):
                if status_of(answer) == 410:  # already deleted: nothing left to end
                    results[key] = dataclasses.replace(series, cancelled=True)
                else:
                    results[key] = item_failure(answer, self.ctx)
            elif not answer:  # events.delete answers with an empty body
                results[key] = dataclasses.replace(series, cancelled=True)
            else:
                results[key] = series_from_event(answer, series.timezone)
        return results

    def _spec_problem(self, spec: SeriesSpec) -> str | None:
        try:
            ZoneInfo(spec.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return f"{spec.timezone!r} is not an IANA time zone"
        if spec.start.tzinfo is None:
            return "the first start has no time zone"
        return self.validate_recurrence(spec.rrule)

    # -- occurrences ------------------------------------------------------------------------

    def occurrences(
        self, series: Sequence[Series], start: datetime, end: datetime
    ) -> dict[str, list[Occurrence]]:
        """Every occurrence with original start in [start, end), cancelled ones included.

        With ``sync_tokens`` (default) one incremental ``events.list`` brings the calendar's
        changes since the last run and the occurrences are rebuilt from each series' rule plus
        its exceptions; series this cannot model, or missing from that read, are expanded by
        ``events.instances``.
        """
        results: dict[str, list[Occurrence]] = {}
        if not series:
            return results
        if self.settings.sync_tokens:
            events = self._synced_events({s.provider_id for s in series})
            exceptions: dict[str, dict[datetime, Mapping[str, Any]]] = {}
            for event in events.values():
                parent_id = event.get("recurringEventId")
                if parent_id and event.get("originalStartTime"):
                    slot = parse_when(event["originalStartTime"], self.context.timezone)
                    exceptions.setdefault(str(parent_id), {})[slot] = event
            for item in series:
                rebuilt = overlay(
                    item,
                    events.get(item.provider_id),
                    exceptions.get(item.provider_id, {}),
                    start,
                    end,
                )
                if rebuilt is not None:
                    results[item.key] = rebuilt
        rest = [s for s in series if s.key not in results]
        if rest:
            results.update(self._from_instances(rest, start, end))
        if self.settings.attendance:
            meter = Attendance(
                self.calls,
                self._service("meet"),
                self._service("people"),
                self.context.kv,
                self._now,
            )
            by_key = {s.key: s for s in series}
            results = {k: meter.measure(by_key[k], v) for k, v in results.items()}
        return {k: sorted(v, key=lambda o: o.original_start) for k, v in results.items()}

    def _from_instances(
        self, series: Sequence[Series], start: datetime, end: datetime
    ) -> dict[str, list[Occurrence]]:
        """``events.instances`` (deleted included) per series, all pages, batched."""
        cal = self.settings.calendar_id
        by_key = {s.key: s for s in series}
        items: dict[str, list[Mapping[str, Any]]] = {s.key: [] for s in series}
        gone: set[str] = set()

        def page(s: Series, token: str | None, **extra: Any) -> Any:
            return self._events.instances(
                calendarId=cal,
                eventId=s.provider_id,
                timeMin=rfc3339(start - INSTANCE_MARGIN),
                timeMax=rfc3339(end + INSTANCE_MARGIN),
                showDeleted=True,
                maxResults=2500,
                pageToken=token,
                **extra,
            )

        requests = {s.key: page(s, None) for s in series}
        while requests:
            answers = self.calls.execute_many(requests, "read occurrences")
            requests = {}
            for key, answer in answers.items():
                if isinstance(answer, HttpError):
                    if status_of(answer) in (404, 410):
                        gone.add(key)  # the series was deleted: every occurrence is cancelled
                        continue
                    raise explain(answer, "read occurrences", self.ctx)
                items[key] += answer.get("items") or []
                if answer.get("nextPageToken"):
                    requests[key] = page(by_key[key], answer["nextPageToken"])
        results: dict[str, list[Occurrence]] = {}
        lookups: dict[str, Any] = {}
        for s in series:
            got = {}
            for inst in items[s.key]:
                if inst.get("originalStartTime"):
                    occ = occurrence_from_instance(s.key, inst, s.duration, s.timezone)
                    got[occ.original_start] = occ
            expected = _expected(s, start, end)
            if s.key in gone:
                got = {t: _cancelled(s, t) for t in expected}
            results[s.key] = [o for t, o in got.items() if start <= t < end]
            for slot in expected:
                if slot not in got:
                    # Moved further than the margin (or gone): ask for that one instance.
                    lookups[f"{s.key}@{rfc3339(slot)}"] = self._events.instances(
                        calendarId=cal,
                        eventId=s.provider_id,
                        originalStart=rfc3339(slot),
                        showDeleted=True,
                    )
        for lookup, answer in self.calls.execute_many(lookups, "read moved occurrences").items():
            key, _, stamp = lookup.partition("@")
            s = by_key[key]
            slot = parse_time(stamp)
            found = [] if isinstance(answer, HttpError) else answer.get("items") or []
            if isinstance(answer, HttpError) and status_of(answer) not in (404, 410):
                raise explain(answer, "read moved occurrences", self.ctx)
            if found:
                results[key].append(occurrence_from_instance(key, found[0], s.duration, s.timezone))
            else:
                results[key].append(_cancelled(s, slot))
        return results

    def _synced_events(self, wanted_ids: set[str]) -> dict[str, dict[str, Any]]:
        """rmcal's series and their exceptions, brought up to date with a sync token.

        The cache (compact events, keyed by id) and the token live in ``context.kv``; a 410
        from Google, a missing token or a cache from another calendar means a full re-read.
        """
        kv = self.context.kv
        name = f"events:{self.settings.calendar_id}"
        state: dict[str, Any] | None = None
        raw = kv.get(SYNC_NAMESPACE, name)
        if raw:
            try:
                state = json.loads(raw)
            except ValueError:
                state = None
            if not isinstance(state, dict) or state.get("version") != SYNC_STATE_VERSION:
                state = None
        events: dict[str, dict[str, Any]] = {}
        token: str | None = None
        if state is not None:
            events = state.get("events") or {}
            try:
                changes, token = self._list_sync({"syncToken": state["token"]})
            except SyncTokenExpired:
                self.context.log.info("google: sync token expired; reading the calendar again")
                events, token = {}, None
            else:
                _merge_changes(events, changes, wanted_ids)
        if token is None:
            changes, token = self._list_sync({})
            events = {}
            _merge_changes(events, changes, wanted_ids)
        kv.put(
            SYNC_NAMESPACE,
            name,
            json.dumps(
                {"version": SYNC_STATE_VERSION, "token": token, "events": events},
                separators=(",", ":"),
            ),
        )
        return events

    def _list_sync(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        """All pages of a full or incremental ``events.list``; the changes and the next token."""
        items: list[dict[str, Any]] = []
        page: str | None = None
        while True:
            request = self._events.list(
                calendarId=self.settings.calendar_id,
                showDeleted=True,
                maxResults=2500,
                pageToken=page,
                **params,
            )
            try:
                answer = self.calls.execute(request, "read calendar changes", raw_statuses=(410,))
            except HttpError as exc:
                raise SyncTokenExpired(",".join(reasons(exc))) from None
            items += answer.get("items") or []
            page = answer.get("nextPageToken")
            if not page:
                token = answer.get("nextSyncToken")
                if not token:
                    raise ProviderError(
                        PROVIDER, "read calendar changes", "Google returned no sync token"
                    )
                return items, str(token)

    def _list_pages(
        self, params: dict[str, Any], operation: str
    ) -> tuple[list[dict[str, Any]], str]:
        """All pages of an ``events.list``; the items and the calendar's time zone."""
        items: list[dict[str, Any]] = []
        page: str | None = None
        zone = self.context.timezone
        while True:
            answer = self.calls.execute(
                self._events.list(calendarId=self.settings.calendar_id, pageToken=page, **params),
                operation,
            )
            zone = str(answer.get("timeZone") or zone)
            items += answer.get("items") or []
            page = answer.get("nextPageToken")
            if not page:
                return items, zone

    # -- mail -------------------------------------------------------------------------------

    def send(
        self, messages: Sequence[EmailMessage], progress: Progress | None = None
    ) -> dict[str, ItemFailure | None]:
        """Send each message from the organizer's mailbox (``users.messages.send``, ``me``).

        Messages go one by one and are never re-sent after a dropped connection: the outcome
        is then unknown and the mail ledger, not a blind retry, must decide. Once Google keeps
        throttling past the retry budget, the rest are left unsent for the next run.
        """
        results: dict[str, ItemFailure | None] = {}
        gmail = self._service("gmail")
        stop: ItemFailure | None = None
        for index, message in enumerate(messages):
            key = str(message.get(MAIL_KEY_HEADER) or f"#{index}")
            stop = self._send_one(gmail, key, message, results, stop)
            if progress:
                progress(1)
        return results

    def _send_one(
        self,
        gmail: Any,
        key: str,
        message: EmailMessage,
        results: dict[str, ItemFailure | None],
        stop: ItemFailure | None,
    ) -> ItemFailure | None:
        """Send one message into ``results``; returns the failure that stops the rest, if any."""
        if stop is not None:
            results[key] = stop
            return stop
        if message.get(MAIL_KEY_HEADER) is None:
            results[key] = ItemFailure(f"message has no {MAIL_KEY_HEADER} header", False)
            return None
        data = message.as_bytes()
        if len(data) > GMAIL_MAX_RAW:
            results[key] = ItemFailure("message is larger than Gmail accepts (35 MB)", False)
            return None
        raw = base64.urlsafe_b64encode(data).decode("ascii")
        request = gmail.users().messages().send(userId="me", body={"raw": raw})
        try:
            self.mail_calls.execute_once(request, "send mail")
            results[key] = None
        except HttpError as exc:
            status = status_of(exc)
            if status >= 500:
                results[key] = ItemFailure(
                    f"Gmail answered {status}: the message may or may not have been sent; "
                    "check the organizer's Sent folder before sending it again",
                    retryable=False,
                )
            elif status in (401, 403):
                raise explain(exc, "send mail", self.ctx) from None
            else:
                results[key] = ItemFailure(f"Gmail refused it: {exc.reason}", False)
        except ProviderError as exc:
            if not exc.retryable:
                raise
            stop = ItemFailure(f"not sent: {exc.message}; a re-run sends it")
            results[key] = stop
        except (
            ConnectionRefusedError,
            httplib2.ServerNotFoundError,
            google.auth.exceptions.TransportError,
        ) as exc:
            # Nothing reached Gmail; the same will happen to the rest of this run.
            stop = ItemFailure(f"not sent: cannot reach Google ({type(exc).__name__})")
            results[key] = stop
        except (httplib2.HttpLib2Error, OSError) as exc:
            results[key] = ItemFailure(
                f"the connection failed during the send ({type(exc).__name__}); the message "
                "may or may not have been sent: check the organizer's Sent folder",
                retryable=False,
            )
        return stop

    # -- checks -----------------------------------------------------------------------------

    def validate_recurrence(self, rrule: str) -> str | None:
        """Google takes any RFC 5545 RRULE; only one that does not parse is refused."""
        problem = parse_problem(rrule)
        return None if problem is None else f"not a valid RRULE: {problem}"

    def check(self) -> list[Check]:
        """One row per thing rmcal needs: credentials, each scope, calendar, free/busy, mail."""
        rows: list[Check] = []
        s = self.settings
        try:
            creds = self._credentials or google_auth.build_credentials(s)
            self._credentials = creds
        except (AuthError, SettingsError) as exc:
            return [Check("credentials", False, str(exc), getattr(exc, "remedy", None))]
        if s.auth == "service_account":
            email = str((s.service_account_info or {}).get("client_email", ""))
            rows.append(
                Check(
                    "credentials",
                    True,
                    f"service account {email} (client ID {s.client_id}) acting as {s.subject}",
                )
            )
            rows += self._check_delegation()
        else:
            rows += self._check_oauth(creds)
        if not all(r.ok for r in rows):
            return rows
        rows.append(
            self._probe(
                "calendar readable",
                lambda: self._events.list(calendarId=s.calendar_id, maxResults=1),
                f"calendar {s.calendar_id!r}",
            )
        )
        now = self._now()
        rows.append(
            self._probe(
                "free/busy",
                lambda: (
                    self._service("calendar")
                    .freebusy()
                    .query(
                        body={
                            "timeMin": rfc3339(now),
                            "timeMax": rfc3339(now + timedelta(hours=1)),
                            "items": [{"id": s.subject}],
                        }
                    )
                ),
                f"free/busy of {s.subject}",
            )
        )
        can_send = bool(GMAIL_SEND_SCOPES & set(s.scopes))
        rows.append(
            Check(
                "gmail send",
                can_send,
                f"as {s.subject}: scope granted (not tried: a check must not send mail)"
                if can_send
                else "no scope that allows users.messages.send is configured",
                None if can_send else f"add {SCOPE_GMAIL_SEND} to provider.scopes",
            )
        )
        if s.attendance:
            rows.append(
                self._probe(
                    "meet attendance",
                    lambda: self._service("meet").conferenceRecords().list(pageSize=1),
                    "Meet conference records",
                )
            )
        return rows

    def _check_delegation(self) -> list[Check]:
        """Each scope alone at the token endpoint, so a refusal names the missing scope."""
        s = self.settings
        rows = []
        for scope in s.scopes:
            refused = google_auth.probe_scope(s, self._raw_transport(), scope)
            name = f"scope {short_scope(scope)}"
            if refused is None:
                rows.append(Check(name, True, "granted through domain-wide delegation"))
                continue
            code, _ = google_auth.refresh_reason(refused)
            if code == "unauthorized_client":
                rows.append(
                    Check(
                        name,
                        False,
                        f"not authorised for client ID {s.client_id}",
                        f"{google_auth.DWD_CONSOLE}: add {scope} to the entry of client ID "
                        f"{s.client_id} (full list: {','.join(s.scopes)})"
                        + self._fallback_hint(scope),
                    )
                )
            else:
                error = google_auth.explain_refresh_error(refused, s, "auth check")
                rows.append(Check(name, False, error.message, error.remedy))
        return rows

    def _fallback_hint(self, scope: str) -> str:
        if scope in (SCOPE_EVENTS, SCOPE_FREEBUSY) and not self.settings.scopes_overridden:
            return "; if the console does not offer it, set provider.scopes to " + ", ".join(
                short_scope(x) for x in (*FALLBACK_CALENDAR_SCOPES, SCOPE_GMAIL_SEND)
            )
        return ""

    def _check_oauth(self, creds: Credentials) -> list[Check]:
        s = self.settings
        try:
            creds.refresh(google_auth_httplib2.Request(self._raw_transport()))
        except google.auth.exceptions.RefreshError as exc:
            error = google_auth.explain_refresh_error(exc, s, "auth check")
            return [Check("credentials", False, error.message, error.remedy)]
        except (httplib2.HttpLib2Error, OSError, google.auth.exceptions.TransportError) as exc:
            return [Check("credentials", False, f"token endpoint unreachable: {exc}", None)]
        rows = [Check("credentials", True, f"OAuth token of {s.subject}")]
        granted = set(getattr(creds, "granted_scopes", None) or s.scopes)
        for scope in s.scopes:
            ok = scope in granted
            rows.append(
                Check(
                    f"scope {short_scope(scope)}",
                    ok,
                    "granted" if ok else "not granted at sign-in",
                    None if ok else "run `rmcal auth login --provider google` and allow all",
                )
            )
        return rows

    def _probe(self, name: str, make: Callable[[], Any], what: str) -> Check:
        try:
            self.calls.execute(make(), f"check {name}")
        except ProviderError as exc:
            return Check(name, False, f"{what}: {exc.message}", exc.remedy)
        return Check(name, True, what)

    # -- interactive ------------------------------------------------------------------------

    def login(self) -> str:
        """OAuth installed-app sign-in for ``auth: oauth``; saves the token (mode 0600)."""
        if self.settings.auth != "oauth":
            raise SettingsError(
                "auth",
                "is service_account: there is nothing to sign in to",
                hint="use `rmcal auth check`; login is for auth: oauth trials",
            )
        creds = google_auth.run_login(
            self.settings, self.context.echo, open_browser=self._open_browser
        )
        self._credentials = creds
        self._http = None
        self._services.clear()
        return self.settings.subject

    def close(self) -> None:
        """Drop pooled connections (httplib2 keeps them per host)."""
        if self._transport is not None and hasattr(self._transport, "close"):
            self._transport.close()  # AuthorizedHttp.close() would only forward to it
        self._http = None
        self._services.clear()


def _merge_changes(
    events: dict[str, dict[str, Any]], changes: Iterable[Mapping[str, Any]], wanted: set[str]
) -> None:
    """Apply a page of changes to the cache, keeping only rmcal's series and their exceptions.

    Parents first: an exception can only be recognised once its parent is known.
    """
    changes = list(changes)
    for event in changes:
        if event.get("recurringEventId"):
            continue
        event_id = str(event.get("id", ""))
        if is_parent(event) or event_id in wanted or event_id in events:
            events[event_id] = compact(event)
    for event in changes:
        parent = event.get("recurringEventId")
        if parent and str(parent) in events:
            events[str(event["id"])] = compact(event)


def _better(candidate: Series, current: Series) -> bool:
    """Of two events carrying the same key, the live one whose id is the key wins."""

    def rank(series: Series) -> tuple[bool, bool]:
        return (not series.cancelled, series.provider_id == series.key)

    return rank(candidate) > rank(current)


def _expected(series: Series, start: datetime, end: datetime) -> list[datetime]:
    if not series.rrule:
        return []
    try:
        return [
            t.astimezone(UTC) for t in expand(series.rrule, series.start, after=start, before=end)
        ]
    except (RecurrenceError, ValueError):
        return []


def _cancelled(series: Series, slot: datetime) -> Occurrence:
    return Occurrence(series.key, slot, slot, slot + series.duration, cancelled=True)
