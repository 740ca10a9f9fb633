"""Microsoft 365 provider: calendars and mail through Microsoft Graph, tokens through MSAL.

What lives where: ``graph_auth`` gets tokens, ``graph_http`` sends requests (retries, paging,
``$batch``, error mapping), ``graph_recurrence`` translates RRULEs, ``graph_zones`` translates
time zones. This module maps the provider contract onto Graph calls and back.

Identity in the calendar: every series carries one single-value extended property per rmcal
tag, ``String {<our GUID>} Name rmcal.<tag>``, so that the calendar itself - not the state file -
says which series exist (``find_series`` filters on ``rmcal.cohort``; a create whose outcome is
unknown is looked up by ``rmcal.key`` before it is retried). One more property,
``rmcal.provider.zone``, remembers the IANA zone a series was created in, because several IANA
zones share one Windows zone; ``rmcal.provider.rrule`` remembers the RRULE text rmcal wrote,
because equivalent rules have several spellings (Graph always stores a first day of the week, an
RRULE may omit WKST). Reading back, the remembered text is used only while it still translates to
exactly the recurrence Graph holds; a recurrence edited in Outlook reads back as Graph has it.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from rmcal.errors import AuthError, NotFound, PermissionDenied, ProviderError, SettingsError
from rmcal.intervals import busy_requests, merge
from rmcal.provider import (
    MAIL_KEY_HEADER,
    TAG_COHORT,
    TAG_KEY,
    TAGS,
    BusyMap,
    Capabilities,
    Check,
    Interval,
    ItemFailure,
    Occurrence,
    Progress,
    ProviderContext,
    Response,
    Series,
    SeriesSpec,
)
from rmcal.recurrence import expand, normalize, with_until

from .backoff import Backoff
from .graph_auth import CLOUDS, AuthConfig, TokenSource, granted_permissions
from .graph_http import (
    UNKNOWN,
    GraphHTTP,
    GraphRequest,
    GraphResponse,
    OutcomeUnknown,
    map_error,
)
from .graph_recurrence import UnsupportedRecurrence, from_graph, to_graph, unsupported_reason
from .graph_zones import UnknownZone, iana_zone, windows_zone

NAME = "microsoft"
# rmcal's property-set GUID for its single-value extended properties (chosen once, never change).
PROPERTY_GUID = "4f7c2a9e-8d3b-4e61-a0c5-7b19e2d64f38"
ZONE_PROPERTY = "provider.zone"
RRULE_PROPERTY = "provider.rrule"
PRIVATE_PROPERTIES = (ZONE_PROPERTY, RRULE_PROPERTY)
TRANSACTION_NAMESPACE = uuid.UUID("1b0e3f5c-6a2d-4c8e-9f71-3d5a8b2c7e40")
SCHEDULE_PEOPLE = 20  # getSchedule: at most 20 entities per call
SCHEDULE_WINDOW = timedelta(days=61)  # getSchedule: the period must be under 62 days
INSTANCE_MARGIN = timedelta(days=14)  # how far a moved occurrence may sit outside the window
BUSY_STATUSES = {"busy", "tentative", "oof"}
DEFAULT_TIMEOUT = 30.0
SETTINGS_KEYS = {
    "tenant_id",
    "client_id",
    "auth",
    "certificate_file",
    "thumbprint",
    "certificate_thumbprint",
    "client_secret_env",
    "client_secret_file",
    "cloud",
    "graph_url",
    "authority_host",
    "ca_bundle",
    "attendance",
    "timeout",
    "organizer_object_id",
    "kind",
}
PERM_WRITE = "Calendars.ReadWrite"
PERM_READ = "Calendars.Read"
PERM_MAIL = "Mail.Send"
PERM_ATTENDANCE = "OnlineMeetingArtifact.Read.All"
PERM_MEETINGS = "OnlineMeetings.Read.All"
RESPONSES = {
    "accepted": Response.ACCEPTED,
    "tentativelyaccepted": Response.TENTATIVE,
    "declined": Response.DECLINED,
    "organizer": Response.ORGANIZER,
    "none": Response.NONE,
    "notresponded": Response.NONE,
}
EVENT_SELECT = (
    "subject,start,end,recurrence,attendees,organizer,isOnlineMeeting,onlineMeeting,"
    "isCancelled,type,iCalUId"
)
INSTANCE_SELECT = "start,end,originalStart,isCancelled,type,attendees,seriesMasterId"
_PROPERTY_ID = re.compile(r"^String \{([0-9a-fA-F-]{36})\} Name (.+)$")
_FRACTION = re.compile(r"(\.\d{6})\d+")


def property_id(name: str) -> str:
    """The extended-property id rmcal uses for tag ``name``."""
    return f"String {{{PROPERTY_GUID}}} Name rmcal.{name}"


def transaction_id(key: str) -> str:
    """A stable ``transactionId`` for a series key, so a repeated create is recognisable."""
    return str(uuid.uuid5(TRANSACTION_NAMESPACE, key))


def _odata_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _segment(value: str) -> str:
    return quote(value, safe="@")


def _parse_graph_time(value: Mapping[str, Any], preferred: str | None = None) -> datetime:
    """A Graph dateTimeTimeZone (``2019-03-15T12:00:00.0000000`` + zone name) -> aware."""
    text = _FRACTION.sub(r"\1", str(value["dateTime"]).rstrip("Z"))
    zone = str(value.get("timeZone") or "UTC")
    tz = UTC if zone.upper() in {"UTC", "ETC/UTC"} else ZoneInfo(iana_zone(zone, preferred))
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def _parse_offset_time(value: str) -> datetime:
    """A Graph DateTimeOffset (``2019-04-15T20:30:00Z``) -> aware UTC."""
    text = _FRACTION.sub(r"\1", value.replace("Z", "+00:00"))
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _graph_local(moment: datetime, tz: ZoneInfo, zone_name: str) -> dict[str, str]:
    local = moment.astimezone(tz).replace(tzinfo=None)
    return {"dateTime": local.isoformat(timespec="seconds"), "timeZone": zone_name}


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


class MicrosoftProvider:
    """The rmcal provider for Microsoft 365 (Exchange Online calendars and mail)."""

    name = NAME

    def __init__(
        self,
        settings: Mapping[str, Any],
        context: ProviderContext,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.context = context
        self.log = context.log
        self.organizer = context.organizer.email.lower()
        self._backoff_options: dict[str, Any] = {}
        if sleep is not None:
            self._backoff_options["sleep"] = sleep
        if clock is not None:
            self._backoff_options["clock"] = clock
        self.auth_config = self._validate(settings)
        self.attendance = self.auth_config.attendance
        self.tokens = TokenSource(self.auth_config, self.log)
        self.http = GraphHTTP(
            self.auth_config.graph_root,
            self.tokens.token,
            timeout=self.auth_config.timeout,
            verify=self.auth_config.verify,
            backoff=self._backoff,
            log=self.log,
        )
        object_id = settings.get("organizer_object_id")
        if object_id is not None and (not isinstance(object_id, str) or not object_id.strip()):
            raise SettingsError("organizer_object_id", "must be the organizer's Entra object ID")
        # onlineMeetings paths take the object ID, not the UPN; set it to spare rmcal the lookup
        # (which needs User.Read.All).
        self._organizer_object_id: str | None = object_id.strip() if object_id else None
        self._attendance_warning: str | None = None
        notes = ["invitations are sent by Exchange when a series is created"]
        notes.append(
            "attendance: Teams attendance reports"
            if self.attendance
            else "attendance: not configured (set attendance: true to read Teams reports)"
        )
        self.capabilities = Capabilities(
            video=True,
            attendance=self.attendance,
            batch_size=4,
            sends_invitations=True,
            notes=tuple(notes),
            idempotent_send=False,
        )

    # -- settings -------------------------------------------------------------------------

    def _backoff(self) -> Backoff:
        """A fresh retry budget: base 2 s, cap 60 s, at most 6 tries or 5 minutes of waiting."""
        return Backoff(
            base=2.0, cap=60.0, max_attempts=6, max_elapsed=300.0, **self._backoff_options
        )

    def _path(self, key: str, value: Any) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise SettingsError(key, "must be a file path")
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = self.context.config_dir / path
        if not path.is_file():
            raise SettingsError(key, f"file {path} does not exist")
        return path

    def _validate(self, settings: Mapping[str, Any]) -> AuthConfig:
        """Check every setting up front, so a typo fails at load time with its key named."""
        if "client_secret" in settings:
            raise SettingsError(
                "client_secret",
                "a secret does not belong in the config file",
                "use client_secret_env (an environment variable name) or client_secret_file",
            )
        unknown = sorted(set(settings) - SETTINGS_KEYS)
        if unknown:
            raise SettingsError(
                unknown[0],
                "unknown setting for the microsoft provider",
                "known: " + ", ".join(sorted(SETTINGS_KEYS - {"kind"})),
            )
        ids: dict[str, str] = {}
        for key in ("tenant_id", "client_id"):
            value = settings.get(key)
            if not isinstance(value, str) or not value.strip():
                raise SettingsError(
                    key, "is required", "copy it from the app registration's Overview page"
                )
            ids[key] = value.strip()

        mode = settings.get("auth")
        if mode is None:
            mode = "certificate" if "certificate_file" in settings else "secret"
        if mode not in {"certificate", "secret", "device_code"}:
            raise SettingsError("auth", f"{mode!r} is not one of certificate, secret, device_code")

        cloud = settings.get("cloud", "global")
        if cloud not in CLOUDS:
            raise SettingsError("cloud", f"{cloud!r} is not one of {', '.join(CLOUDS)}")
        authority_host, graph_root = CLOUDS[cloud]
        for key in ("authority_host", "graph_url"):
            if key in settings:
                value = settings[key]
                if not isinstance(value, str) or not value.startswith("https://"):
                    raise SettingsError(key, "must be an https:// URL")
                value = value.rstrip("/")
                if key == "graph_url":
                    graph_root = value.removesuffix("/v1.0")
                else:
                    authority_host = value

        verify: bool | str = True
        if "ca_bundle" in settings:
            verify = str(self._path("ca_bundle", settings["ca_bundle"]))

        attendance = settings.get("attendance", False)
        if not isinstance(attendance, bool):
            raise SettingsError("attendance", "must be true or false")
        timeout = settings.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise SettingsError("timeout", "must be a number of seconds greater than 0")

        credential: Any = None
        if mode == "certificate":
            credential = self._certificate(settings)
        elif mode == "secret":
            credential = self._secret(settings)
        return AuthConfig(
            tenant_id=ids["tenant_id"],
            client_id=ids["client_id"],
            mode=mode,
            authority_host=authority_host,
            graph_root=graph_root,
            credential=credential,
            verify=verify,
            timeout=float(timeout),
            cache_path=self.context.state_dir / "msal-cache.json",
            attendance=attendance,
        )

    def _certificate(self, settings: Mapping[str, Any]) -> dict[str, str]:
        if "certificate_file" not in settings:
            raise SettingsError(
                "certificate_file",
                "is required with auth: certificate",
                "a PEM file holding the private key and the certificate",
            )
        path = self._path("certificate_file", settings["certificate_file"])
        pem = path.read_text(encoding="utf-8", errors="replace")
        if "PRIVATE KEY-----" not in pem:
            raise SettingsError(
                "certificate_file",
                f"{path} holds no private key",
                "convert a .pfx with: openssl pkcs12 -in app.pfx -out app.pem -nodes",
            )
        key_block = re.search(
            r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----.+?-----END (?:[A-Z]+ )?PRIVATE KEY-----",
            pem,
            re.DOTALL,
        )
        if key_block is None:
            raise SettingsError("certificate_file", f"{path}: the private key block is damaged")
        given = settings.get("thumbprint", settings.get("certificate_thumbprint"))
        computed = None
        cert_block = re.search(
            r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.DOTALL
        )
        if cert_block:
            cert = x509.load_pem_x509_certificate(cert_block.group(0).encode())
            computed = cert.fingerprint(hashes.SHA1()).hex().upper()  # Entra shows SHA-1
        thumbprint = re.sub(r"[^0-9A-Fa-f]", "", str(given)).upper() if given else computed
        if not thumbprint:
            raise SettingsError(
                "thumbprint",
                "is required when the PEM file has no certificate",
                "copy it from Certificates & secrets in the app registration",
            )
        if computed and thumbprint != computed:
            raise SettingsError(
                "thumbprint",
                f"does not match the certificate in {path} (its thumbprint is {computed})",
            )
        return {"private_key": key_block.group(0), "thumbprint": thumbprint}

    def _secret(self, settings: Mapping[str, Any]) -> str:
        has_env = "client_secret_env" in settings
        has_file = "client_secret_file" in settings
        if has_env == has_file:
            raise SettingsError(
                "client_secret_env",
                "set exactly one of client_secret_env and client_secret_file with auth: secret",
                "or prefer auth: certificate",
            )
        if has_env:
            name = settings["client_secret_env"]
            if not isinstance(name, str) or not name:
                raise SettingsError("client_secret_env", "must name an environment variable")
            secret = self.context.env.get(name, "")
            if not secret.strip():
                raise SettingsError(
                    "client_secret_env", f"environment variable {name} is not set or empty"
                )
            return secret.strip()
        path = self._path("client_secret_file", settings["client_secret_file"])
        secret = path.read_text(encoding="utf-8").strip()
        if not secret:
            raise SettingsError("client_secret_file", f"{path} is empty")
        return secret

    # -- helpers ----------------------------------------------------------------------------

    @property
    def _user(self) -> str:
        return f"/users/{_segment(self.organizer)}"

    def _expand_properties(self) -> str:
        names = (*TAGS, *PRIVATE_PROPERTIES)
        ids = " or ".join(f"id eq {_odata_string(property_id(t))}" for t in names)
        return f"singleValueExtendedProperties($filter={ids})"

    def _events_by_property(self, tag: str, value: str, operation: str) -> list[dict[str, Any]]:
        """Series masters whose ``rmcal.<tag>`` equals ``value``, every page."""
        flt = (
            "singleValueExtendedProperties/Any(ep: ep/id eq "
            f"{_odata_string(property_id(tag))} and ep/value eq {_odata_string(value)})"
        )
        params = {
            "$filter": flt,
            "$expand": self._expand_properties(),
            "$select": EVENT_SELECT,
            "$top": "100",
        }
        return list(
            self.http.pages(
                f"{self._user}/events", operation=operation, permission=PERM_READ, params=params
            )
        )

    def _series_from_event(self, event: Mapping[str, Any]) -> Series | None:
        """A Series read back from a Graph event, or None if it is not one of ours."""
        tags: dict[str, str] = {}
        for prop in event.get("singleValueExtendedProperties") or []:
            match = _PROPERTY_ID.match(str(prop.get("id", "")))
            if (
                match
                and match.group(1).lower() == PROPERTY_GUID
                and match.group(2).startswith("rmcal.")
            ):
                tags[match.group(2)[len("rmcal.") :]] = str(prop.get("value", ""))
        preferred = tags.pop(ZONE_PROPERTY, None)
        written = tags.pop(RRULE_PROPERTY, None)
        recurrence = event.get("recurrence")
        if TAG_KEY not in tags or not recurrence:
            return None
        windows = (recurrence.get("range") or {}).get("recurrenceTimeZone") or (
            event.get("start") or {}
        ).get("timeZone", "UTC")
        zone = iana_zone(windows, preferred)
        tz = ZoneInfo(zone)
        start = _parse_graph_time(event["start"], preferred).astimezone(tz)
        end = _parse_graph_time(event["end"], preferred).astimezone(tz)
        organizer = str(
            ((event.get("organizer") or {}).get("emailAddress") or {}).get("address") or ""
        ).lower()
        attendees = tuple(
            address
            for a in event.get("attendees") or []
            if (address := str((a.get("emailAddress") or {}).get("address") or "").lower())
            and address != (organizer or self.organizer)
        )
        join_url = (event.get("onlineMeeting") or {}).get("joinUrl")
        return Series(
            key=tags[TAG_KEY],
            provider_id=str(event["id"]),
            title=str(event.get("subject") or ""),
            start=start,
            duration=end - start,
            timezone=zone,
            rrule=self._read_rrule(recurrence, written, start, windows),
            attendees=attendees,
            tags=tags,
            organizer=organizer or self.organizer,
            video_url=str(join_url) if join_url else None,
            cancelled=bool(event.get("isCancelled")),
            extra={
                "id": str(event["id"]),
                "iCalUId": str(event.get("iCalUId") or ""),
                "windows_zone": windows,
            },
        )

    @staticmethod
    def _read_rrule(
        recurrence: Mapping[str, Any], written: str | None, first: datetime, windows: str
    ) -> str:
        """The series' RRULE: the text rmcal wrote while Graph still holds exactly that rule."""
        tz = first.tzinfo
        assert isinstance(tz, ZoneInfo)
        held = from_graph(dict(recurrence), tz)
        if written:
            try:
                if from_graph(to_graph(written, first, windows), tz) == held:
                    return written
            except (UnsupportedRecurrence, ValueError):
                pass
        return held

    def _event_body(self, spec: SeriesSpec, *, create: bool) -> dict[str, Any]:
        """The Graph event for a spec (raises UnsupportedRecurrence / UnknownZone)."""
        zone_name = windows_zone(spec.timezone)
        tz = ZoneInfo(spec.timezone)
        first = spec.start.astimezone(tz)
        tags = dict(spec.tags)
        tags.setdefault(TAG_KEY, spec.key)
        tags.setdefault(TAG_COHORT, spec.cohort_id)
        tags[ZONE_PROPERTY] = spec.timezone
        tags[RRULE_PROPERTY] = normalize(spec.rrule)
        body: dict[str, Any] = {
            "subject": spec.title,
            "body": {"contentType": "HTML", "content": spec.description_html},
            "start": _graph_local(first, tz, zone_name),
            "end": _graph_local(first + spec.duration, tz, zone_name),
            "recurrence": to_graph(spec.rrule, first, zone_name),
            "attendees": [
                {"emailAddress": {"address": a.email, "name": a.name}, "type": "required"}
                for a in spec.attendees
                if a.email.lower() != self.organizer
            ],
            "singleValueExtendedProperties": [
                {"id": property_id(name), "value": value} for name, value in tags.items()
            ],
        }
        if spec.video:
            body["isOnlineMeeting"] = True
            body["onlineMeetingProvider"] = "teamsForBusiness"
        if create:
            body["transactionId"] = transaction_id(spec.key)
        return body

    def _series_from_spec(
        self, spec: SeriesSpec, event: Mapping[str, Any] | None, provider_id: str
    ) -> Series:
        tz = ZoneInfo(spec.timezone)
        first = spec.start.astimezone(tz)
        tags = dict(spec.tags)
        tags.setdefault(TAG_KEY, spec.key)
        tags.setdefault(TAG_COHORT, spec.cohort_id)
        join_url = ((event or {}).get("onlineMeeting") or {}).get("joinUrl")
        return Series(
            key=spec.key,
            provider_id=provider_id,
            title=spec.title,
            start=first,
            duration=spec.duration,
            timezone=spec.timezone,
            rrule=normalize(spec.rrule),
            attendees=tuple(
                a.email.lower() for a in spec.attendees if a.email.lower() != self.organizer
            ),
            tags=tags,
            organizer=self.organizer,
            video_url=str(join_url) if join_url else None,
            extra={"id": provider_id, "iCalUId": str((event or {}).get("iCalUId") or "")},
        )

    def _failure(self, response: GraphResponse, operation: str, permission: str) -> ItemFailure:
        error = map_error(response.status, response.body, operation, permission)
        return ItemFailure(error.one_line(), retryable=error.retryable)

    @staticmethod
    def _raise_whole_call(response: GraphResponse, operation: str, permission: str) -> None:
        """Auth and permission failures concern every item alike: fail the whole call."""
        error = map_error(response.status, response.body, operation, permission)
        if isinstance(error, AuthError | PermissionDenied):
            raise error

    # -- free/busy ------------------------------------------------------------------------

    def busy(self, emails: Sequence[str], start: datetime, end: datetime) -> BusyMap:
        """Busy intervals per person via getSchedule: 20 people and < 62 days per call.

        A person Graph cannot resolve (outside the tenant, no mailbox) comes back with an
        ``error`` instead of items; they map to None (unknown), never to "free".
        """
        people = list(dict.fromkeys(e.lower() for e in emails))
        found: dict[str, list[Interval]] = {p: [] for p in people}
        unknown: set[str] = set()
        calls = busy_requests(
            people, start, end, people_per_call=SCHEDULE_PEOPLE, window=SCHEDULE_WINDOW
        )
        for chunk, w_start, w_end in calls:
            reply = self.http.call(
                "POST",
                f"{self._user}/calendar/getSchedule",
                operation="read free/busy",
                permission=PERM_READ,
                json_body={
                    "schedules": chunk,
                    "startTime": {"dateTime": _utc_text(w_start), "timeZone": "UTC"},
                    "endTime": {"dateTime": _utc_text(w_end), "timeZone": "UTC"},
                    "availabilityViewInterval": 60,
                },
                idempotent=True,
            )
            seen: set[str] = set()
            for info in (reply.body or {}).get("value") or []:
                who = str(info.get("scheduleId") or "").lower()
                if who not in found:
                    continue
                seen.add(who)
                if info.get("error"):
                    unknown.add(who)
                    continue
                for item in info.get("scheduleItems") or []:
                    if str(item.get("status", "")).lower() not in BUSY_STATUSES:
                        continue
                    s = _parse_graph_time(item["start"]).astimezone(UTC)
                    e = _parse_graph_time(item["end"]).astimezone(UTC)
                    if e > start and s < end:
                        found[who].append((max(s, start), min(e, end)))
            unknown.update(set(chunk) - seen)
        return {p: None if p in unknown else merge(found[p]) for p in people}

    # -- series -----------------------------------------------------------------------------

    def find_series(self, cohort_id: str) -> list[Series]:
        """Series masters tagged with the cohort, read back from the calendar itself."""
        out = []
        for event in self._events_by_property(TAG_COHORT, cohort_id, "find series"):
            if event.get("type") not in (None, "seriesMaster"):
                continue
            series = self._series_from_event(event)
            if series is not None and series.cohort_id == cohort_id:
                out.append(series)
        return sorted(out, key=lambda s: s.key)

    def _lookup_key(self, key: str) -> Series | None:
        for event in self._events_by_property(TAG_KEY, key, "look up series"):
            series = self._series_from_event(event)
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
        for i in range(0, len(todo), 20):
            group = todo[i : i + 20]
            self._create_group(group, results)
            if progress:
                progress(len(group))
        return results

    def _create_group(
        self, group: Sequence[SeriesSpec], results: dict[str, Series | ItemFailure]
    ) -> None:
        pending = list(group)
        for attempt in range(2):
            requests_ = [
                GraphRequest(
                    str(n),
                    "POST",
                    f"{self._user}/events",
                    self._event_body(spec, create=True),
                    mailbox=self.organizer,
                )
                for n, spec in enumerate(pending)
            ]
            answers = self.http.batch(requests_, operation="create series", permission=PERM_WRITE)
            unsure: list[SeriesSpec] = []
            for n, spec in enumerate(pending):
                answer = answers.get(str(n), GraphResponse(UNKNOWN))
                if answer.ok:
                    body = answer.body or {}
                    results[spec.key] = self._series_from_spec(spec, body, str(body.get("id")))
                elif answer.status == UNKNOWN or answer.status >= 500 or answer.status == 429:
                    unsure.append(spec)
                else:
                    self._raise_whole_call(answer, "create series", PERM_WRITE)
                    results[spec.key] = self._failure(answer, "create series", PERM_WRITE)
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
                return

    def update_series(
        self, changes: Sequence[tuple[Series, SeriesSpec]], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """PATCH each series master to match its spec (recurrence, times, text, attendees)."""
        results: dict[str, Series | ItemFailure] = {}
        for i in range(0, len(changes), 20):
            group = changes[i : i + 20]
            requests_ = []
            for n, (series, spec) in enumerate(group):
                try:
                    body = self._event_body(spec, create=False)
                except (UnsupportedRecurrence, UnknownZone) as exc:
                    results[spec.key] = ItemFailure(str(exc), retryable=False)
                    continue
                requests_.append(
                    GraphRequest(
                        str(n),
                        "PATCH",
                        f"{self._user}/events/{_segment(series.provider_id)}",
                        body,
                        mailbox=self.organizer,
                    )
                )
            answers = self.http.batch(requests_, operation="update series", permission=PERM_WRITE)
            for request in requests_:
                series, spec = group[int(request.id)]
                answer = answers.get(request.id, GraphResponse(UNKNOWN))
                results[spec.key] = self._patched(
                    answer,
                    "update series",
                    lambda a, spec=spec, series=series: self._series_from_spec(
                        spec, a.body, series.provider_id
                    ),
                )
            if progress:
                progress(len(group))
        return results

    def _patched(
        self,
        answer: GraphResponse,
        operation: str,
        ok: Callable[[GraphResponse], Series],
    ) -> Series | ItemFailure:
        """One PATCH's outcome. A PATCH sets values, so after no answer the next run repeats it
        harmlessly; a refusal of the whole call (auth, permission) raises."""
        if answer.ok:
            return ok(answer)
        if answer.status == UNKNOWN:
            return ItemFailure(f"{operation}: no answer from Graph")
        self._raise_whole_call(answer, operation, PERM_WRITE)
        return self._failure(answer, operation, PERM_WRITE)

    def end_series(
        self, ends: Sequence[tuple[Series, datetime]], progress: Progress | None = None
    ) -> dict[str, Series | ItemFailure]:
        """Set each series' range to end on the date of ``last`` (kept) in its zone.

        Only the range changes (the whole recurrence object is sent, since merging a partial
        one is not documented); past occurrences stay in every calendar.
        """
        results: dict[str, Series | ItemFailure] = {}
        for i in range(0, len(ends), 20):
            group = ends[i : i + 20]
            requests_ = []
            planned: dict[str, tuple[Series, str]] = {}
            for n, (series, last) in enumerate(group):
                tz = ZoneInfo(series.timezone)
                first = series.start.astimezone(tz)
                if last < first:
                    results[series.key] = ItemFailure(
                        "end series: the last occurrence to keep is before the first one; "
                        "rmcal never deletes a series, cancel it in Outlook if it must go",
                        retryable=False,
                    )
                    continue
                rule = with_until(series.rrule, last)
                recurrence = to_graph(rule, first, windows_zone(series.timezone))
                planned[str(n)] = (series, rule)
                body = {
                    "recurrence": recurrence,
                    "singleValueExtendedProperties": [
                        {"id": property_id(RRULE_PROPERTY), "value": rule}
                    ],
                }
                requests_.append(
                    GraphRequest(
                        str(n),
                        "PATCH",
                        f"{self._user}/events/{_segment(series.provider_id)}",
                        body,
                        mailbox=self.organizer,
                    )
                )
            answers = self.http.batch(requests_, operation="end series", permission=PERM_WRITE)
            for rid, (series, rule) in planned.items():
                answer = answers.get(rid, GraphResponse(UNKNOWN))
                results[series.key] = self._patched(
                    answer,
                    "end series",
                    lambda _, series=series, rule=rule: replace(series, rrule=rule),
                )
            if progress:
                progress(len(group))
        return results

    # -- occurrences ------------------------------------------------------------------------

    def occurrences(
        self, series: Sequence[Series], start: datetime, end: datetime
    ) -> dict[str, list[Occurrence]]:
        """Every occurrence with original start in [start, end), cancelled ones included.

        ``instances`` omits cancelled occurrences, so the pattern is expanded (by the core's
        ``expand``) and every expected original start that did not come back is reported as
        cancelled. The query window is widened by two weeks on each side so that an occurrence
        moved out of the window is still found by its original start.
        """
        q_start = _utc_text(start - INSTANCE_MARGIN)
        q_end = _utc_text(end + INSTANCE_MARGIN)
        requests_ = [
            GraphRequest(
                str(n),
                "GET",
                f"{self._user}/events/{_segment(s.provider_id)}/instances?"
                + urlencode(
                    {
                        "startDateTime": q_start,
                        "endDateTime": q_end,
                        "$select": INSTANCE_SELECT,
                        "$top": "100",
                    },
                    quote_via=quote,
                ),
                mailbox=self.organizer,
            )
            for n, s in enumerate(series)
        ]
        answers = self.http.batch(requests_, operation="read occurrences", permission=PERM_READ)
        out: dict[str, list[Occurrence]] = {}
        for n, one in enumerate(series):
            answer = answers.get(str(n), GraphResponse(UNKNOWN))
            items: list[dict[str, Any]] = []
            if answer.ok:
                items = list(
                    self.http.pages(
                        "", operation="read occurrences", permission=PERM_READ, first=answer
                    )
                )
            elif answer.status == UNKNOWN:
                raise ProviderError(
                    NAME,
                    "read occurrences",
                    "Graph gave no answer",
                    remedy="re-run later",
                    retryable=True,
                )
            else:
                error = map_error(answer.status, answer.body, "read occurrences", PERM_READ)
                if not isinstance(error, NotFound):
                    raise error
                # The master is gone (deleted in Outlook): every expected occurrence is off.
            out[one.key] = self._merge_occurrences(one, items, start, end)
        if self.attendance:
            self._add_attendance(series, out)
        return out

    def _merge_occurrences(
        self, series: Series, items: list[dict[str, Any]], start: datetime, end: datetime
    ) -> list[Occurrence]:
        tz = ZoneInfo(series.timezone)
        expected = expand(series.rrule, series.start.astimezone(tz), after=start, before=end)
        by_original: dict[datetime, Occurrence] = {}
        for item in items:
            if not item.get("originalStart"):
                continue
            original = _parse_offset_time(str(item["originalStart"]))
            if not start <= original < end:
                continue
            responses: dict[str, Response] = {}
            for attendee in item.get("attendees") or []:
                email = str((attendee.get("emailAddress") or {}).get("address") or "").lower()
                answer = str((attendee.get("status") or {}).get("response") or "none").lower()
                if email:
                    responses[email] = RESPONSES.get(answer, Response.NONE)
            by_original[original] = Occurrence(
                series_key=series.key,
                original_start=original,
                start=_parse_graph_time(item["start"]).astimezone(UTC),
                end=_parse_graph_time(item["end"]).astimezone(UTC),
                cancelled=bool(item.get("isCancelled")),
                responses=responses,
            )
        for moment in expected:
            original = moment.astimezone(UTC)
            if original not in by_original:
                by_original[original] = Occurrence(
                    series_key=series.key,
                    original_start=original,
                    start=original,
                    end=original + series.duration,
                    cancelled=True,
                )
        return [by_original[k] for k in sorted(by_original)]

    def _add_attendance(self, series: Sequence[Series], out: dict[str, list[Occurrence]]) -> None:
        """Seconds joined per person from Teams attendance reports, where readable.

        A report exists per meeting session once it ends; each is matched to the occurrence
        that started nearest to it (within half a day). Occurrences without a report keep
        ``attended_seconds=None`` (not measured), so the core falls back to calendar signals.
        """
        try:
            if self._organizer_object_id is None:
                me = self.http.call(
                    "GET",
                    self._user,
                    operation="read attendance",
                    permission="User.Read.All",
                    params={"$select": "id"},
                )
                self._organizer_object_id = str((me.body or {}).get("id") or "")
            owner = f"/users/{_segment(self._organizer_object_id)}"
            for one in series:
                if not one.video_url or one.key not in out:
                    continue
                found = self.http.call(
                    "GET",
                    f"{owner}/onlineMeetings",
                    operation="read attendance",
                    permission=PERM_MEETINGS,
                    params={"$filter": f"JoinWebUrl eq {_odata_string(one.video_url)}"},
                )
                meetings = (found.body or {}).get("value") or []
                if not meetings:
                    continue
                meeting = f"{owner}/onlineMeetings/{_segment(str(meetings[0]['id']))}"
                for report in self.http.pages(
                    f"{meeting}/attendanceReports",
                    operation="read attendance",
                    permission=PERM_ATTENDANCE,
                ):
                    if not report.get("meetingStartDateTime"):
                        continue
                    began = _parse_offset_time(str(report["meetingStartDateTime"]))
                    records = self.http.pages(
                        f"{meeting}/attendanceReports/{_segment(str(report['id']))}"
                        "/attendanceRecords",
                        operation="read attendance",
                        permission=PERM_ATTENDANCE,
                    )
                    seconds: dict[str, int] = {}
                    for record in records:
                        email = str(record.get("emailAddress") or "").lower()
                        if email:
                            seconds[email] = seconds.get(email, 0) + int(
                                record.get("totalAttendanceInSeconds") or 0
                            )
                    occurrences = out[one.key]
                    candidates = [
                        (abs(o.start - began), i)
                        for i, o in enumerate(occurrences)
                        if not o.cancelled and abs(o.start - began) <= timedelta(hours=12)
                    ]
                    if candidates:
                        _, index = min(candidates)
                        occurrences[index] = replace(occurrences[index], attended_seconds=seconds)
        except ProviderError as exc:
            # Best effort: attendance is optional, so a refusal or an outage here leaves the
            # occurrences unmeasured instead of failing the whole read.
            if self._attendance_warning is None:
                self._attendance_warning = exc.one_line()
                self.log.warning("attendance unavailable: %s", self._attendance_warning)

    # -- mail -------------------------------------------------------------------------------

    def send(
        self, messages: Sequence[EmailMessage], progress: Progress | None = None
    ) -> dict[str, ItemFailure | None]:
        """Send each message from the organizer mailbox with sendMail's MIME form.

        Why MIME and not JSON: the JSON message has one body (HTML or text), so the plain-text
        alternative the core renders would be lost, and its ``internetMessageHeaders`` accept
        only ``x-``-prefixed names. The MIME form (base64 of the whole RFC 5322 message,
        ``Content-Type: text/plain``) keeps the multipart/alternative text+HTML bodies and the
        ``X-Rmcal-Key`` header exactly as rendered, and Graph still saves it to Sent Items.
        Messages go one request at a time rather than through $batch: a batch carries a body
        as JSON or base64url, and whether a text/plain MIME body survives that is not
        documented; mail volume is small and the Exchange send rate is the real limit.
        A send whose answer never came is not retried (it may have gone out).
        """
        results: dict[str, ItemFailure | None] = {}
        for n, message in enumerate(messages):
            key = str(message.get(MAIL_KEY_HEADER) or f"<message {n} without {MAIL_KEY_HEADER}>")
            payload = base64.b64encode(message.as_bytes(policy=SMTP))
            try:
                self.http.call(
                    "POST",
                    f"{self._user}/sendMail",
                    operation="send mail",
                    permission=PERM_MAIL,
                    data=payload,
                    headers={"Content-Type": "text/plain"},
                )
                results[key] = None
            except OutcomeUnknown:
                results[key] = ItemFailure(
                    "send mail: the connection dropped after sending; it may have gone out "
                    "(check the organizer's Sent Items)",
                    retryable=False,
                )
            except (AuthError, PermissionDenied):
                raise
            except ProviderError as exc:
                results[key] = ItemFailure(exc.one_line(), retryable=exc.retryable)
            if progress:
                progress(1)
        return results

    # -- validation, checks, login ----------------------------------------------------------

    def validate_recurrence(self, rrule: str) -> str | None:
        return unsupported_reason(rrule)

    def check(self) -> list[Check]:
        """Token, then each permission rmcal needs, each with the remedy when it is missing."""
        rows: list[Check] = []
        app_only = self.auth_config.mode != "device_code"
        grant_hint = (
            "Entra admin center > App registrations > the app > API permissions > add Microsoft "
            "Graph {kind} permission {perm}, then 'Grant admin consent'"
        )
        kind = "application" if app_only else "delegated"
        try:
            claims = self.tokens.claims()
        except AuthError as exc:
            rows.append(Check("token", False, exc.message, exc.remedy))
            for name in ("organizer calendar", "free/busy", "send mail"):
                rows.append(Check(name, False, "skipped: no token"))
            return rows
        granted = granted_permissions(claims)
        rows.append(
            Check(
                "token",
                True,
                f"{'app-only' if app_only else 'delegated'} token for tenant "
                f"{self.auth_config.tenant_id} from {self.auth_config.authority_host}",
            )
        )

        def probe(name: str, perm: str, fn: Callable[[], Any], detail: str) -> None:
            try:
                fn()
            except ProviderError as exc:
                remedy = exc.remedy
                if isinstance(exc, PermissionDenied):
                    remedy = grant_hint.format(kind=kind, perm=perm) + "; " + (exc.remedy or "")
                rows.append(Check(name, False, exc.message, remedy))
                return
            if (
                granted
                and perm not in granted
                and not (perm == PERM_READ and PERM_WRITE in granted)
            ):
                rows.append(
                    Check(
                        name,
                        False,
                        f"the token does not carry {perm}",
                        grant_hint.format(kind=kind, perm=perm),
                    )
                )
                return
            rows.append(Check(name, True, detail))

        probe(
            f"organizer calendar ({PERM_WRITE})",
            PERM_WRITE,
            lambda: self.http.call(
                "GET",
                f"{self._user}/calendar",
                operation="read calendar",
                permission=PERM_WRITE,
                params={"$select": "id,name"},
            ),
            f"{self.organizer}'s calendar is readable",
        )
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        probe(
            f"free/busy ({PERM_READ})",
            PERM_READ,
            lambda: self.busy([self.organizer], now, now + timedelta(hours=1)),
            "getSchedule answers",
        )
        if PERM_MAIL in granted:
            rows.append(Check(f"send mail ({PERM_MAIL})", True, f"the token carries {PERM_MAIL}"))
        else:
            rows.append(
                Check(
                    f"send mail ({PERM_MAIL})",
                    False,
                    f"the token does not carry {PERM_MAIL}",
                    grant_hint.format(kind=kind, perm=PERM_MAIL),
                )
            )
        if self.attendance:
            for perm in (PERM_ATTENDANCE, PERM_MEETINGS if app_only else "OnlineMeetings.Read"):
                ok = perm in granted
                rows.append(
                    Check(
                        f"attendance ({perm})",
                        ok,
                        f"the token {'carries' if ok else 'does not carry'} {perm}",
                        None
                        if ok
                        else grant_hint.format(kind=kind, perm=perm)
                        + "; app-only also needs a Teams application access policy granted to "
                        "the organizer (New-CsApplicationAccessPolicy / "
                        "Grant-CsApplicationAccessPolicy)",
                    )
                )
        return rows

    def login(self) -> str:
        """Device-code sign-in for a trial (``auth: device_code``)."""
        return self.tokens.login(self.context.echo)

    def close(self) -> None:
        self.tokens.save_cache()
        self.http.close()
