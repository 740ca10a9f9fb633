"""A local HTTPS server that behaves like Entra ID + Microsoft Graph, for rmcal's Microsoft tests.

Why a real server and not mocks: the provider's whole stack - MSAL's authority discovery and
token request, ``requests`` over TLS with a custom CA, ``$batch``, paging, retries - runs
unchanged against it, exactly as it would against a tenant. Only the far end is fake.

What it implements (shapes as on Microsoft Learn; see tests/microsoft/fixtures/*.json):

* ``GET /<tenant>/v2.0/.well-known/openid-configuration`` and
  ``POST /<tenant>/oauth2/v2.0/token`` (client credentials; the token is an unsigned JWT whose
  ``roles`` claim lists the granted application permissions);
* under ``/v1.0``: ``$batch`` (at most 20 requests), ``users/{u}/events`` (POST with
  ``transactionId`` de-duplication, GET with the extended-property ``$filter``, ``$expand``,
  ``$top`` paging), ``events/{id}`` (GET, PATCH), ``events/{id}/instances`` (the recurrence
  expanded here with dateutil, independently of the provider's own translation; cancelled
  occurrences omitted, as Graph does), ``calendar/getSchedule`` (20 people, < 62 days, an
  ``error`` for unknown mailboxes), ``calendar``, ``sendMail`` (MIME and JSON forms);
* ``users/{u}/messages`` (GET with ``$filter=internetMessageId eq '<...>'``) over what
  ``sendMail`` accepted, when the app holds a mail-reading role (``Mail.ReadBasic.All``), else
  403 ``ErrorAccessDenied``;
* Outlook's limits and a network's latency: at most ``mailbox_limit`` (4) requests in flight
  per mailbox, a ``$batch``'s inner requests counting one each while they run (all at once
  without ``dependsOn``, one after another along a ``dependsOn`` chain, a failed dependency
  answering 424), and getSchedule counting against the mailbox in its URL; one more is refused
  with 429 ``ApplicationThrottled`` and ``Retry-After``, as Exchange does. Every answer takes
  ``latency`` seconds (a chained batch one per step), spent sleeping, so the server costs no
  CPU; ``calls`` counts requests by kind, ``peak_in_flight`` the most a mailbox ever had;
* fault injection: ``throttle(n, retry_after)`` answers the next ``n`` Graph requests (inner
  batch requests included) with 429; a ``FaultPlan`` (``tests/fakes/faults.py``) fails a share
  of all Graph requests at random, seeded, the way networks fail (429, 503, 500, stalls,
  dropped connections, before or after the request was carried out);
* a ``KillSwitch`` (``tests/fakes/kill.py``, set as ``httpd.kill``) that SIGKILLs the client at
  its k-th Graph request, before or after carrying it out: the crash harness's (tests/crash/).

Run it by hand with ``python -m tests.fakes.graph_server --port 8443``: it prints its URL and the
CA file to trust (``ca_bundle``).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import email
import email.policy
import itertools
import json
import re
import ssl
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from dateutil import rrule as du

from .faults import NOT_DONE, FaultPlan, drop_connection, quiet_disconnects, read_body
from .kill import KillSwitch, Moment
from .tls import TLSFiles, make_tls_files

ZONES_FILE = (
    Path(__file__).resolve().parents[2] / "providers" / "microsoft" / "data" / "windowsZones.json"
)
DEFAULT_ROLES = ("Calendars.ReadWrite", "Mail.Send")
MAIL_READ_ROLES = frozenset({"Mail.ReadBasic.All", "Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"})
_MESSAGE_ID_FILTER = re.compile(r"^internetMessageId eq '((?:[^']|'')*)'$")
WEEKDAYS = {
    "monday": du.MO,
    "tuesday": du.TU,
    "wednesday": du.WE,
    "thursday": du.TH,
    "friday": du.FR,
    "saturday": du.SA,
    "sunday": du.SU,
}
INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_FILTER = re.compile(
    r"^singleValueExtendedProperties/Any\(ep: ep/id eq '((?:[^']|'')*)' and "
    r"ep/value (eq|ne) '((?:[^']|'')*)'\)$"
)
_EXPAND = re.compile(r"^singleValueExtendedProperties\(\$filter=(.*)\)$")
_MAILBOX = re.compile(r"^/users/([^/?]+)")
MAILBOX_LIMIT = 4  # Outlook: concurrent requests per app and mailbox
CONCURRENCY_RETRY_AFTER = "1"


def mailbox_of(url: str) -> str | None:
    """The mailbox a Graph request counts against (the user in its path), if any."""
    found = _MAILBOX.match(urlsplit(url).path)
    return unquote(found.group(1)).lower() if found else None


def call_kind(method: str, url: str) -> str:
    """A short name for what a request does, for the benchmark's calls-by-type table."""
    path = unquote(urlsplit(url).path)
    rest = re.sub(r"^/users/[^/]+", "", path)
    if path == "/$batch":
        return "$batch"
    if rest.endswith("/getSchedule"):
        return "getSchedule"
    if rest.endswith("/calendarView/delta"):
        return "calendarView.delta"
    if rest.endswith("/instances"):
        return "instances"
    if rest == "/events":
        return "events.create" if method == "POST" else "events.list"
    if re.match(r"^/events/[^/]+$", rest):
        return {"PATCH": "events.update", "GET": "events.get"}.get(method, method + " event")
    if rest == "/sendMail":
        return "sendMail"
    if rest == "/messages":
        return "messages.list"
    return f"{method} {rest or path}"


def _windows_to_iana(name: str) -> ZoneInfo:
    table = json.loads(ZONES_FILE.read_text(encoding="utf-8"))["windows_to_iana"]
    return ZoneInfo(table.get(name, name))


def _b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _graph_time(moment: datetime) -> dict[str, str]:
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    return {"dateTime": text + ".0000000", "timeZone": "UTC"}


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text.rstrip("Z")))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _offset_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_local(value: dict[str, str]) -> datetime:
    text = re.sub(r"(\.\d{6})\d+", r"\1", value["dateTime"].rstrip("Z"))
    zone = value.get("timeZone") or "UTC"
    tz = UTC if zone == "UTC" else _windows_to_iana(zone)
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"request-id": str(uuid.uuid4()), "date": "2026-01-01T00:00:00"},
        }
    }
    return status, body, {}


@dataclass
class Override:
    """What happened to one occurrence (keyed by its original start, UTC)."""

    cancelled: bool = False
    start: datetime | None = None
    end: datetime | None = None
    responses: dict[str, str] = field(default_factory=dict)


class FakeGraph:
    """The state and the request logic, independent of HTTP plumbing (thread-safe)."""

    def __init__(
        self,
        *,
        tenant: str = "contoso-tenant",
        client_id: str | None = None,
        roles: tuple[str, ...] = DEFAULT_ROLES,
        unknown_domains: tuple[str, ...] = (".invalid",),
        latency: float = 0.0,
        mailbox_limit: int = MAILBOX_LIMIT,
    ) -> None:
        self.latency = latency
        self.mailbox_limit = mailbox_limit
        self.in_flight: dict[str, int] = {}
        self.peak_in_flight: dict[str, int] = {}
        self.refused_concurrency = 0  # requests answered 429 for the mailbox limit
        self.throttled = 0  # every 429 answered (the limit, or ``throttle``)
        self.calls: dict[str, int] = {}
        self.round_trips = 0  # HTTP exchanges, token requests included
        self.tenant = tenant
        self.client_id = client_id
        self.roles = roles
        self.unknown_domains = unknown_domains
        self.base = ""
        self.lock = threading.RLock()
        self.events: dict[str, dict[str, Any]] = {}
        self.overrides: dict[str, dict[datetime, Override]] = {}
        self.busy: dict[str, list[tuple[datetime, datetime]]] = {}
        self.sent: list[EmailMessage | dict[str, Any]] = []
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.requests: list[tuple[str, str]] = []
        self.batch_sizes: list[int] = []
        self.max_same_mailbox_in_batch = 0
        self._throttle = 0
        self._retry_after = 1
        self._throttle_method: str | None = None
        self._throttle_contains = ""
        self._ids = itertools.count(1)
        self.seq = 0  # change counter behind delta tokens
        self.changed: dict[str, int] = {}  # event id -> seq of its last change
        self.delta_floor = 0  # delta tokens older than this answer 410 (expired)
        self._delta_memo: tuple[tuple[Any, ...], list[dict[str, Any]]] | None = None

    # -- test controls ------------------------------------------------------------------------

    def throttle(
        self, count: int, retry_after: int = 1, method: str | None = None, contains: str = ""
    ) -> None:
        """Answer the next ``count`` Graph requests (of ``method``, whose URL contains
        ``contains``, if given) with 429."""
        with self.lock:
            self._throttle = count
            self._retry_after = retry_after
            self._throttle_method = method
            self._throttle_contains = contains

    def add_plain_event(self, user: str, subject: str) -> str:
        """An event someone made in ``user``'s calendar without rmcal's tags; returns its id."""
        when = {"dateTime": "2026-01-08T12:00:00", "timeZone": "UTC"}
        with self.lock:
            _, body, _ = self._create(user, {"subject": subject, "start": when, "end": when})
        return str(body["id"])

    def has_mailbox(self, address: str) -> bool:
        return not address.lower().endswith(self.unknown_domains)

    def touch(self, event_id: str) -> None:
        """Record a change of the event (or one of its occurrences) for delta queries."""
        with self.lock:
            self.seq += 1
            self.changed[event_id] = self.seq

    def expire_delta_tokens(self) -> None:
        """Every delta link handed out so far answers 410 from now on."""
        with self.lock:
            self.delta_floor = self.seq + 1

    def cancel_occurrence(self, event_id: str, original: datetime) -> None:
        self.touch(event_id)
        with self.lock:
            self.overrides.setdefault(event_id, {}).setdefault(
                original.astimezone(UTC), Override()
            ).cancelled = True

    def move_occurrence(self, event_id: str, original: datetime, new_start: datetime) -> None:
        self.touch(event_id)
        with self.lock:
            event = self.events[event_id]
            length = _parse_local(event["end"]) - _parse_local(event["start"])
            item = self.overrides.setdefault(event_id, {}).setdefault(
                original.astimezone(UTC), Override()
            )
            item.start, item.end = new_start, new_start + length

    def respond(self, event_id: str, original: datetime, who: str, response: str) -> None:
        self.touch(event_id)
        with self.lock:
            self.overrides.setdefault(event_id, {}).setdefault(
                original.astimezone(UTC), Override()
            ).responses[who.lower()] = response

    # -- auth ---------------------------------------------------------------------------------

    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        root = f"{self.base}/{tenant}"
        return {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "issuer": f"{root}/v2.0",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
        }

    def token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.token_requests += 1
        if tenant != self.tenant:
            return 400, {
                "error": "invalid_request",
                "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
            }
        if self.client_id and form.get("client_id") != self.client_id:
            return 400, {
                "error": "unauthorized_client",
                "error_description": "AADSTS700016: Application not found in the directory.",
            }
        if form.get("grant_type") != "client_credentials":
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "fake server: only client credentials",
            }
        if not (form.get("client_secret") or form.get("client_assertion")):
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            }
        now = int(time.time())
        claims = {
            "aud": "https://graph.microsoft.com",
            "tid": tenant,
            "appid": form.get("client_id"),
            "roles": list(self.roles),
            "iat": now,
            "exp": now + 3600,
        }
        access = f"{_b64url({'typ': 'JWT', 'alg': 'none'})}.{_b64url(claims)}.fake"
        with self.lock:
            self.tokens.add(access)
        return 200, {"token_type": "Bearer", "expires_in": 3600, "access_token": access}

    # -- graph dispatch ----------------------------------------------------------------------

    # -- Outlook's concurrency limit and latency -------------------------------------------

    def _admit(self, mailbox: str | None) -> bool:
        """Take one of the mailbox's concurrent slots; False when all are taken (refuse)."""
        if mailbox is None:
            return True
        with self.lock:
            running = self.in_flight.get(mailbox, 0)
            if running >= self.mailbox_limit:
                self.refused_concurrency += 1
                self.throttled += 1
                return False
            self.in_flight[mailbox] = running + 1
            self.peak_in_flight[mailbox] = max(self.peak_in_flight.get(mailbox, 0), running + 1)
            return True

    def _release(self, mailbox: str | None) -> None:
        if mailbox is not None:
            with self.lock:
                self.in_flight[mailbox] -= 1

    def wait(self) -> None:
        """The time one answer takes; asleep, so the server's CPU stays idle."""
        if self.latency > 0:
            time.sleep(self.latency)

    def _count(self, method: str, url: str) -> None:
        kind = call_kind(method, url)
        with self.lock:
            self.calls[kind] = self.calls.get(kind, 0) + 1

    def handle(
        self, method: str, url: str, headers: dict[str, str], body: bytes, *, inner: bool = False
    ) -> tuple[int, Any, dict[str, str]]:
        """One Graph request (``url`` relative to /v1.0) -> (status, JSON body, headers).

        An outer request holds a slot of its mailbox while it is answered (``latency``); a
        ``$batch`` takes slots for its inner requests step by step (``_batch``).
        """
        if inner:
            return self._answer(method, url, headers, body)
        with self.lock:
            self.round_trips += 1
        self._count(method, url)
        if method == "POST" and urlsplit(url).path == "/$batch":
            return self._answer(method, url, headers, body)
        mailbox = mailbox_of(url)
        if not self._admit(mailbox):
            return _over_concurrency()
        try:
            self.wait()
            return self._answer(method, url, headers, body)
        finally:
            self._release(mailbox)

    def _answer(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            self.requests.append((method, url))
            if (
                self._throttle > 0
                and not url.startswith("/$batch")
                and self._throttle_method in (None, method)
                and self._throttle_contains in url
            ):
                self._throttle -= 1
                self.throttled += 1
                status, payload, _ = _error(429, "TooManyRequests", "Too many requests")
                return status, payload, {"Retry-After": str(self._retry_after)}
        parts = urlsplit(url)
        path = unquote(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if method == "POST" and path == "/$batch":
            return self._batch(json.loads(body or b"{}"))
        match = re.match(r"^/users/([^/]+)(/.*)?$", path)
        if not match:
            return _error(400, "BadRequest", f"fake server: unsupported path {path}")
        user, rest = match.group(1).lower(), match.group(2) or ""
        if not self.has_mailbox(user):
            return _error(
                404,
                "MailboxNotEnabledForRESTAPI",
                "REST API is not yet supported for this mailbox.",
            )
        content_type = headers.get("content-type", "")
        data = json.loads(body) if body and "json" in content_type else None
        with self.lock:
            if rest == "" and method == "GET":
                return 200, {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, user)), "mail": user}, {}
            if rest == "/calendar" and method == "GET":
                return 200, {"id": "calendar-" + user, "name": "Calendar"}, {}
            if rest == "/calendar/getSchedule" and method == "POST":
                return self._schedule(data or {})
            if rest == "/sendMail" and method == "POST":
                return self._send(body, content_type)
            if rest == "/messages" and method == "GET":
                return self._messages(query)
            if rest == "/events" and method == "POST":
                return self._create(user, data or {})
            if rest == "/events" and method == "GET":
                return self._list(user, query)
            if rest == "/calendarView/delta" and method == "GET":
                return self._delta(user, query, headers)
            event_match = re.match(r"^/events/([^/]+)(/instances)?$", rest)
            if event_match:
                event_id = event_match.group(1)
                if event_id not in self.events:
                    return _error(
                        404, "ErrorItemNotFound", "The specified object was not found in the store."
                    )
                if event_match.group(2) and method == "GET":
                    return self._instances(event_id, query)
                if method == "GET":
                    return 200, self._render(self.events[event_id], query.get("$expand")), {}
                if method == "PATCH":
                    return self._patch(event_id, data or {})
        return _error(405, "Request_BadRequest", f"fake server: {method} {rest} not supported")

    def _batch(self, payload: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        items = payload.get("requests") or []
        if len(items) > 20:
            return _error(400, "BadRequest", "A batch request may contain at most 20 requests.")
        ids = [str(i.get("id")) for i in items]
        if len(set(ids)) != len(ids):
            return _error(400, "BadRequest", "Batch request ids must be unique.")
        steps = _steps(items)
        if steps is None:
            return _error(400, "BadRequest", "dependsOn names an unknown or later request.")
        per_mailbox: dict[str, int] = {}
        for item in items:
            who = mailbox_of(item.get("url", ""))
            if who:
                per_mailbox[who] = per_mailbox.get(who, 0) + 1
            self._count(item.get("method", ""), item.get("url", ""))
        with self.lock:
            self.batch_sizes.append(len(items))
            self.max_same_mailbox_in_batch = max(
                [self.max_same_mailbox_in_batch, *per_mailbox.values()]
            )
        responses = []
        status_of: dict[str, int] = {}
        # Graph runs the requests of a step together: each holds a slot of its mailbox for the
        # step's duration, and one that finds the mailbox full is refused, as Exchange does.
        for step in steps:
            running: list[tuple[dict[str, Any], str | None]] = []
            for item in step:
                rid = str(item["id"])
                if any(status_of.get(str(d), 0) >= 400 for d in item.get("dependsOn") or []):
                    status, answer, extra = _error(424, "FailedDependency", "Failed dependency")
                elif self._admit(mailbox_of(item.get("url", ""))):
                    running.append((item, mailbox_of(item.get("url", ""))))
                    continue
                else:
                    status, answer, extra = _over_concurrency()
                status_of[rid] = status
                responses.append(_batch_answer(rid, status, answer, extra))
            if running:
                self.wait()
            for item, mailbox in running:
                headers = {k.lower(): v for k, v in (item.get("headers") or {}).items()}
                body = item.get("body")
                raw = json.dumps(body).encode() if body is not None else b""
                try:
                    status, answer, extra = self.handle(
                        item["method"], item["url"], headers, raw, inner=True
                    )
                finally:
                    self._release(mailbox)
                status_of[str(item["id"])] = status
                responses.append(_batch_answer(str(item["id"]), status, answer, extra))
        return 200, {"responses": list(reversed(responses))}, {}

    # -- calendar ---------------------------------------------------------------------------

    def _create(self, user: str, data: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        for field_name in ("subject", "start", "end"):
            if field_name not in data:
                return _error(400, "ErrorInvalidRequest", f"{field_name} is required")
        try:
            _parse_local(data["start"])
            if data.get("recurrence"):
                _windows_to_iana(data["recurrence"]["range"]["recurrenceTimeZone"])
        except (KeyError, ValueError):
            return _error(
                400,
                "TimeZoneNotSupportedException",
                "A valid TimeZone value must "
                "be specified. The following TimeZone value is not supported: ''.",
            )
        transaction = data.get("transactionId")
        if transaction:
            for event in self.events.values():
                if event.get("transactionId") == transaction:
                    return 201, self._render(event, None), {}
        event_id = f"AAMkAD{next(self._ids):06d}="
        event = dict(data)
        event.update(
            id=event_id,
            iCalUId=f"040000008200E00074C5B7101A82E008{event_id}",
            type="seriesMaster" if data.get("recurrence") else "singleInstance",
            organizer={"emailAddress": {"address": user, "name": user}},
            isCancelled=False,
            owner=user,
        )
        if data.get("isOnlineMeeting"):
            event["onlineMeeting"] = {
                "joinUrl": f"https://teams.microsoft.com/l/meetup-join/fake/{event_id}"
            }
        self.events[event_id] = event
        self.touch(event_id)
        return 201, self._render(event, None), {}

    def _patch(self, event_id: str, data: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        event = self.events[event_id]
        for key, value in data.items():
            if key == "singleValueExtendedProperties":
                current = {p["id"]: p for p in event.get(key) or []}
                current.update({p["id"]: p for p in value})
                event[key] = list(current.values())
            else:
                event[key] = value
        self.touch(event_id)
        return 200, self._render(event, None), {}

    def _render(self, event: dict[str, Any], expand: str | None) -> dict[str, Any]:
        out = {
            k: v for k, v in event.items() if k not in {"singleValueExtendedProperties", "owner"}
        }
        out["start"] = _graph_time(_parse_local(event["start"]))
        out["end"] = _graph_time(_parse_local(event["end"]))
        if expand:
            found = _EXPAND.match(expand)
            wanted = set(re.findall(r"id eq '((?:[^']|'')*)'", found.group(1))) if found else set()
            wanted = {w.replace("''", "'") for w in wanted}
            out["singleValueExtendedProperties"] = [
                p for p in event.get("singleValueExtendedProperties") or [] if p["id"] in wanted
            ]
        return out

    def _list(self, user: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        matches = [e for e in self.events.values() if e["owner"] == user]
        if "$filter" in query:
            found = _FILTER.match(query["$filter"])
            if not found:
                return _error(400, "BadRequest", "fake server: unsupported $filter")
            prop_id = found.group(1).replace("''", "'")
            equal = found.group(2) == "eq"
            value = found.group(3).replace("''", "'").lower()
            # Graph compares string values case-insensitively; an event without the property
            # matches neither eq nor ne (the filter is on the event's properties).
            matches = [
                e
                for e in matches
                if any(
                    p["id"] == prop_id and (str(p["value"]).lower() == value) == equal
                    for p in e.get("singleValueExtendedProperties") or []
                )
            ]
        matches.sort(key=lambda e: e["id"])
        expand = query.get("$expand")
        return self._page(
            "/users/" + user + "/events",
            query,
            matches,
            render=lambda e: self._render(e, expand),
        )

    def _page(
        self,
        path: str,
        query: dict[str, str],
        items: list[dict[str, Any]],
        render: Any = None,
    ) -> tuple[int, Any, dict[str, str]]:
        top = int(query.get("$top", "10"))
        skip = int(query.get("$skip", "0"))
        page = items[skip : skip + top]
        body: dict[str, Any] = {"value": [render(i) for i in page] if render else page}
        if skip + top < len(items):
            rest = {k: v for k, v in query.items() if k != "$skip"}
            rest["$skip"] = str(skip + top)
            body["@odata.nextLink"] = f"{self.base}/v1.0{quote(path)}?" + urlencode(
                rest, quote_via=quote
            )
        return 200, body, {}

    def expected_starts(self, event: dict[str, Any], until: datetime) -> list[datetime]:
        """Occurrence starts of a master, expanded here from its patternedRecurrence."""
        recurrence = event["recurrence"]
        pattern, rng = recurrence["pattern"], recurrence["range"]
        tz = _windows_to_iana(rng["recurrenceTimeZone"])
        first = _parse_local(event["start"]).astimezone(tz)
        options: dict[str, Any] = {"dtstart": first, "interval": int(pattern["interval"])}
        days = [WEEKDAYS[d] for d in pattern.get("daysOfWeek") or []]
        kind = pattern["type"]
        if kind == "daily":
            freq = du.DAILY
        elif kind == "weekly":
            freq = du.WEEKLY
            options["byweekday"] = days
            options["wkst"] = WEEKDAYS[pattern.get("firstDayOfWeek", "sunday")]
        elif kind in {"relativeMonthly", "relativeYearly"}:
            freq = du.MONTHLY if kind == "relativeMonthly" else du.YEARLY
            position = INDEX[pattern.get("index", "first")]
            options["byweekday"] = days
            options["bysetpos"] = position
        else:
            freq = du.MONTHLY if kind == "absoluteMonthly" else du.YEARLY
            options["bymonthday"] = int(pattern["dayOfMonth"])
        if kind.endswith("Yearly"):
            options["bymonth"] = int(pattern["month"])
        if rng["type"] == "numbered":
            options["count"] = int(rng["numberOfOccurrences"])
        elif rng["type"] == "endDate":
            end_day = date.fromisoformat(rng["endDate"])
            options["until"] = datetime.combine(end_day, datetime.max.time(), tzinfo=tz)
        starts = []
        for moment in du.rrule(freq, **options):
            if moment >= until:
                break
            starts.append(moment)
        return starts

    def _instances(self, event_id: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if "startDateTime" not in query or "endDateTime" not in query:
            return _error(
                400, "ErrorInvalidParameter", "startDateTime and endDateTime are required."
            )
        window_start = datetime.fromisoformat(query["startDateTime"].rstrip("Z")).replace(
            tzinfo=UTC
        )
        window_end = datetime.fromisoformat(query["endDateTime"].rstrip("Z")).replace(tzinfo=UTC)
        event = self.events[event_id]
        items = self._expand(event_id, window_start, window_end)
        return self._page(f"/users/{event['owner']}/events/{event_id}/instances", query, items)

    def _expand(
        self, event_id: str, window_start: datetime, window_end: datetime
    ) -> list[dict[str, Any]]:
        """The occurrences of a master in the window, as ``instances`` and ``calendarView``
        show them (cancelled ones left out)."""
        event = self.events[event_id]
        length = _parse_local(event["end"]) - _parse_local(event["start"])
        overrides = self.overrides.get(event_id, {})
        items = []
        horizon = window_end + timedelta(days=400)
        for original in self.expected_starts(event, horizon):
            key = original.astimezone(UTC)
            change = overrides.get(key, Override())
            if change.cancelled:
                continue
            start = change.start or original
            end = change.end or original + length
            if not (start < window_end and end > window_start):
                continue
            attendees = []
            for attendee in event.get("attendees") or []:
                who = attendee["emailAddress"]["address"].lower()
                attendees.append(
                    {
                        **attendee,
                        "status": {
                            "response": change.responses.get(who, "none"),
                            "time": "0001-01-01T00:00:00Z",
                        },
                    }
                )
            items.append(
                {
                    "id": f"{event_id}_{key:%Y%m%dT%H%M%S}",
                    "type": "exception" if change.start or change.responses else "occurrence",
                    "seriesMasterId": event_id,
                    "originalStart": _offset_time(key),
                    "start": _graph_time(start),
                    "end": _graph_time(end),
                    "isCancelled": False,
                    "attendees": attendees,
                }
            )
        items.sort(key=lambda i: i["start"]["dateTime"])
        return items

    def _changes(
        self, user: str, since: int, window_start: datetime, window_end: datetime
    ) -> list[dict[str, Any]]:
        """What a delta round since ``since`` reports: the occurrences of the series changed
        since, and their cancelled ones as removed."""
        items: list[dict[str, Any]] = []
        masters = sorted(
            (i for i, e in self.events.items() if e["owner"] == user and e.get("recurrence")),
            key=lambda i: self.changed.get(i, 0),
        )
        for event_id in masters:
            if self.changed.get(event_id, 0) <= since:
                continue
            items.extend(self._expand(event_id, window_start, window_end))
            if since:
                for original, change in sorted(self.overrides.get(event_id, {}).items()):
                    if change.cancelled and window_start <= original < window_end:
                        gone = f"{event_id}_{original:%Y%m%dT%H%M%S}"
                        items.append({"id": gone, "@removed": {"reason": "deleted"}})
        return items

    def _delta(
        self, user: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        """``calendarView/delta``: every occurrence in the window, then what changed since.

        The state tokens are opaque to the client: here ``<since>.<window start>.<window end>``
        (and ``.<offset>`` for a next page). A changed series reports all its occurrences in the
        window and its cancelled ones under ``@removed``; an expired token answers 410.
        """
        token = query.get("$deltatoken") or query.get("$skiptoken")
        if token:
            try:
                since_text, low, high, *rest = _unb64(token).split("|")
                since, offset = int(since_text), int(rest[0]) if rest else 0
                window_start, window_end = _utc(low), _utc(high)
            except (ValueError, IndexError):
                return _error(400, "BadRequest", "fake server: malformed state token")
            if since < self.delta_floor:
                return _error(410, "SyncStateNotFound", "The sync state was not found.")
        elif "startDateTime" in query and "endDateTime" in query:
            since, offset = 0, 0
            window_start, window_end = _utc(query["startDateTime"]), _utc(query["endDateTime"])
        else:
            return _error(400, "ErrorInvalidParameter", "startDateTime and endDateTime required.")
        memo = (user, since, window_start, window_end, self.seq)
        if self._delta_memo is None or self._delta_memo[0] != memo:
            self._delta_memo = (memo, self._changes(user, since, window_start, window_end))
        items = self._delta_memo[1]  # later pages of the same round: computed once
        size = int((re.search(r"maxpagesize=(\d+)", headers.get("prefer", "")) or [0, 100])[1])
        page = items[offset : offset + size]
        window = f"{_graph_time(window_start)['dateTime']}|{_graph_time(window_end)['dateTime']}"
        body: dict[str, Any] = {"value": page}
        link = f"{self.base}/v1.0/users/{quote(user, safe='@')}/calendarView/delta"
        if offset + size < len(items):
            state = _b64(f"{since}|{window}|{offset + size}")
            body["@odata.nextLink"] = f"{link}?$skiptoken={state}"
        else:
            body["@odata.deltaLink"] = f"{link}?$deltatoken={_b64(f'{self.seq}|{window}')}"
        return 200, body, {}

    def _schedule(self, data: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        people = data.get("schedules") or []
        if len(people) > 20:
            return _error(400, "ErrorInvalidParameter", "Too many schedules (max 20).")
        start = _parse_local(data["startTime"])
        end = _parse_local(data["endTime"])
        if end - start >= timedelta(days=62):
            return _error(400, "ErrorInvalidParameter", "The time period must be under 62 days.")
        value = []
        invited = self._invitations({str(p).lower() for p in people})
        for person in people:
            if not self.has_mailbox(person):
                value.append(
                    {
                        "scheduleId": person,
                        "availabilityView": "",
                        "error": {
                            "message": f"The user {person} wasn't found.",
                            "responseCode": "ErrorMailRecipientNotFound",
                        },
                        "scheduleItems": [],
                    }
                )
                continue
            items = [
                {"status": "busy", "start": _graph_time(s), "end": _graph_time(e)}
                for s, e in self.busy.get(person.lower(), [])
                if s < end and e > start
            ]
            items += self._attending(person.lower(), start, end, invited.get(person.lower(), []))
            items.sort(key=lambda item: item["start"]["dateTime"])
            value.append({"scheduleId": person, "availabilityView": "", "scheduleItems": items})
        return 200, {"value": value}, {}

    def _invitations(self, people: set[str]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """The live series each of ``people`` is invited to, in one pass over the calendar:
        a server indexes this; asking every event about every person made a 5,000-pair
        cohort's free/busy read slower than the client's timeout."""
        found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for event_id, event in self.events.items():
            if not event.get("recurrence") or event.get("isCancelled"):
                continue
            invited = {a["emailAddress"]["address"].lower() for a in event.get("attendees") or []}
            for who in invited & people:
                found.setdefault(who, []).append((event_id, event))
        return found

    def _attending(
        self,
        who: str,
        start: datetime,
        end: datetime,
        series: list[tuple[str, dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        """Schedule items for the occurrences of every series ``who`` is invited to and has not
        declined (``series``, from ``_invitations``), as Exchange puts them in the attendee's
        calendar (tentative until answered): a session is busy time in its attendees' free/busy."""
        items = []
        for event_id, event in series:
            length = _parse_local(event["end"]) - _parse_local(event["start"])
            overrides = self.overrides.get(event_id, {})
            for original in self.expected_starts(event, end + timedelta(days=1)):
                change = overrides.get(original.astimezone(UTC), Override())
                answer = change.responses.get(who, "none")
                if change.cancelled or answer == "declined":
                    continue
                a = change.start or original
                b = change.end or original + length
                if a < end and b > start:
                    status = "busy" if answer == "accepted" else "tentative"
                    items.append({"status": status, "start": _graph_time(a), "end": _graph_time(b)})
        return items

    def _send(self, body: bytes, content_type: str) -> tuple[int, Any, dict[str, str]]:
        if content_type.startswith("text/plain"):
            try:
                raw = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                return _error(
                    400,
                    "ErrorMimeContentInvalidBase64String",
                    "Invalid base64 string for MIME content.",
                )
            parsed = email.message_from_bytes(raw, policy=email.policy.default)
            self.sent.append(parsed)  # type: ignore[arg-type]
        else:
            self.sent.append(json.loads(body))
        return 202, None, {}

    def _messages(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """The organizer's mailbox as far as rmcal can see it: the messages it sent."""
        if not MAIL_READ_ROLES & set(self.roles):
            return _error(403, "ErrorAccessDenied", "Access is denied. Check credentials.")
        wanted = None
        if "$filter" in query:
            found = _MESSAGE_ID_FILTER.match(query["$filter"])
            if not found:
                return _error(400, "BadRequest", "fake server: unsupported $filter")
            wanted = found.group(1).replace("''", "'")
        value = []
        for number, message in enumerate(self.sent):
            if not isinstance(message, EmailMessage):
                continue
            message_id = str(message.get("Message-ID", ""))
            if wanted is None or message_id == wanted:
                value.append({"id": f"AAMkSent{number}", "internetMessageId": message_id})
        return self._page("/users/messages", query, value)


def _over_concurrency() -> tuple[int, Any, dict[str, str]]:
    """Exchange's answer to one request more than the mailbox allows at once."""
    status, body, _ = _error(
        429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit."
    )
    return status, body, {"Retry-After": CONCURRENCY_RETRY_AFTER}


def _batch_answer(rid: str, status: int, body: Any, extra: dict[str, str]) -> dict[str, Any]:
    return {
        "id": rid,
        "status": status,
        "headers": {"Content-Type": "application/json", **extra},
        "body": body,
    }


def _steps(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]] | None:
    """The batch's requests in the order Graph runs them: each step after those it depends on.

    None when a ``dependsOn`` names a request that is not earlier in the batch.
    """
    depth: dict[str, int] = {}
    for item in items:
        needs = [str(d) for d in item.get("dependsOn") or []]
        if any(d not in depth for d in needs):
            return None
        depth[str(item.get("id"))] = 1 + max((depth[d] for d in needs), default=-1)
    steps: list[list[dict[str, Any]]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for item in items:
        steps[depth[str(item.get("id"))]].append(item)
    return steps


class _Handler(BaseHTTPRequestHandler):
    server: GraphHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _dispatch(self, method: str) -> None:
        graph = self.server.graph
        body = read_body(self)
        if body is None:  # the client died while sending: nothing arrived
            drop_connection(self)
            return
        path = urlsplit(self.path).path
        openid = re.match(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$", path)
        token = re.match(r"^/([^/]+)/oauth2/v2\.0/token$", path)
        if openid and method == "GET":
            graph.wait()
            with graph.lock:
                graph.round_trips += 1
            self._reply(200, graph.openid_configuration(openid.group(1)))
            return
        if token and method == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            graph.wait()
            with graph.lock:
                graph.round_trips += 1
            status, answer = graph.token(token.group(1), form)
            self._reply(status, answer)
            return
        if not self.path.startswith("/v1.0/"):
            self._reply(*_error(404, "ResourceNotFound", "fake server: unknown path")[:2])
            return
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in graph.tokens:
            self._reply(*_error(401, "InvalidAuthenticationToken", "Access token is empty.")[:2])
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        target = self.path[len("/v1.0") :]
        kill = self.server.kill  # the crash harness's (tests/fakes/kill.py), before any fault
        moment = kill.arrive(method, target, body) if kill is not None else Moment.NONE
        if moment is Moment.BEFORE:  # the client is dead: carry nothing out
            drop_connection(self)
            return
        plan = self.server.faults
        fault = plan.draw(method, target) if plan is not None and moment is Moment.NONE else None
        if fault is None:
            answer = graph.handle(method, target, headers, body)
            if kill is not None and moment is Moment.AFTER:  # carried out; no answer leaves
                kill.fire()
                drop_connection(self)
                return
            self._reply(*answer)
            return
        assert plan is not None
        if fault.kind in NOT_DONE:
            code = "TooManyRequests" if fault.kind == "429" else "ServiceUnavailable"
            status, payload, _ = _error(int(fault.kind), code, "injected fault")
            self._reply(status, payload, {"Retry-After": plan.retry_after()})
            return
        if fault.applied:
            graph.handle(method, target, headers, body)
        if fault.kind == "500":
            self._reply(*_error(500, "InternalServerError", "injected fault")[:2])
        elif fault.kind == "stall":
            time.sleep(plan.stall_seconds)  # the client has given up by now
            drop_connection(self)
        else:
            drop_connection(self)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")


class GraphHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], graph: FakeGraph, faults: FaultPlan | None = None
    ) -> None:
        super().__init__(address, _Handler)
        self.graph = graph
        self.faults = faults
        self.kill: KillSwitch | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not quiet_disconnects(sys.exc_info()[1] or Exception()):
            super().handle_error(request, client_address)


class GraphServer:
    """Start/stop wrapper: ``with GraphServer() as server: server.url, server.tls.ca_path``."""

    def __init__(
        self,
        graph: FakeGraph | None = None,
        *,
        port: int = 0,
        directory: Path | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        self.graph = graph or FakeGraph()
        self.faults = faults
        self._tmp = None
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="rmcal-graph-")
            directory = Path(self._tmp.name)
        self.tls: TLSFiles = make_tls_files(directory)
        self.httpd = GraphHTTPServer(("127.0.0.1", port), self.graph, faults)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.tls.cert_path, self.tls.key_path)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.graph.base = self.url
        self._thread: threading.Thread | None = None

    def start(self) -> GraphServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> GraphServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def settings(self, **extra: Any) -> dict[str, Any]:
        """Provider settings that point rmcal at this server (secret via env RMCAL_FAKE_SECRET)."""
        base = {
            "tenant_id": self.graph.tenant,
            "client_id": self.graph.client_id or "00000000-0000-0000-0000-00000000c1d0",
            "auth": "secret",
            "client_secret_env": "RMCAL_FAKE_SECRET",
            "graph_url": self.url,
            "authority_host": self.url,
            "ca_bundle": str(self.tls.ca_path),
            "timeout": 10,
        }
        base.update(extra)
        return base


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fake Entra ID + Microsoft Graph over HTTPS")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--tenant", default="contoso-tenant")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the CA/cert")
    parser.add_argument("--throttle", type=int, default=0, help="answer the first N with 429")
    parser.add_argument("--faults", type=float, default=0.0, help="fail this share of requests")
    parser.add_argument("--seed", type=int, default=0, help="seed of the faults")
    args = parser.parse_args(argv)
    plan = FaultPlan(rate=args.faults, seed=args.seed) if args.faults else None
    server = GraphServer(
        FakeGraph(tenant=args.tenant), port=args.port, directory=args.dir, faults=plan
    )
    server.graph.throttle(args.throttle)
    print(f"url: {server.url}", flush=True)
    print(f"tenant: {args.tenant}", flush=True)
    print(f"ca_bundle: {server.tls.ca_path}", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
