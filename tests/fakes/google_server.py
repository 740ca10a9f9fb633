"""A local HTTPS server that behaves like the Google APIs rmcal uses, for end-to-end tests.

Why: the provider must run its real stack (google-auth JWT grant, googleapiclient request
building from the shipped discovery documents, ``BatchHttpRequest`` multipart, httplib2 over
TLS) without reaching Google. The fake models what rmcal relies on and nothing more:

* ``POST /token``: JWT-bearer grant for service accounts with domain-wide delegation (checks
  the signature when the account's public key is registered, the subject, and the scopes the
  "Admin console" allows: ``unauthorized_client`` otherwise), refresh-token and
  authorization-code grants for OAuth.
* Calendar v3 under ``/calendar/v3``: events insert (409 on a duplicate id, also after delete),
  get, patch (nested maps merged, null deletes), delete (status cancelled, id kept), list
  (``privateExtendedProperty``, ``showDeleted``, paging, ``syncToken`` with 410 once tokens are
  expired), instances (rule expansion in the event's zone, exceptions, ``originalStart``,
  paging), freeBusy (per-calendar ``notFound`` errors).
* ``POST /batch/calendar/v3``: multipart/mixed in and out, in the format
  google-api-python-client's ``BatchHttpRequest`` writes and parses.
* Gmail ``users.messages.send`` and ``users.messages.list`` with ``q=rfc822msgid:<id>`` over the
  sent messages (``q`` refused with only ``gmail.metadata``, as Google documents), Meet v2
  conference records/participants/sessions, People ``people.get`` (enough for attendance).
* Google's per-user Calendar quota and a network's latency, when asked for: with
  ``per_user_per_minute`` set, a Calendar call (each part of a batch counts, as Google charges
  them) beyond that many in the user's last 60 seconds is refused with 403
  ``rateLimitExceeded`` (domain ``usageLimits``); every HTTP exchange takes ``latency``
  seconds, spent sleeping. ``calls`` counts requests by discovery method id.
* Scope enforcement per method from the same discovery documents the client ships, and injected
  faults (429, 403 ``rateLimitExceeded``...) that also hit single items inside batches; and a
  ``FaultPlan`` (``tests/fakes/faults.py``) that fails a share of all API requests at random,
  seeded, the way networks fail (429, 503, 500, stalls, dropped connections, before or after
  the request was carried out). The token endpoint is never faulted.
* A ``KillSwitch`` (``tests/fakes/kill.py``, set as the server's ``kill``) that SIGKILLs the
  client at its k-th API request, before or after carrying it out: the crash harness's
  (tests/crash/).

Run it by hand with ``python -m tests.fakes.google_server --port 8443``: it prints the CA file,
a throwaway service-account key and the provider settings that point rmcal at it.
"""

from __future__ import annotations

import argparse
import base64
import copy
import email
import email.policy
import hashlib
import itertools
import json
import re
import ssl
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from dateutil.rrule import rrulestr

from tests.fakes.faults import (
    NOT_DONE,
    FaultPlan,
    drop_connection,
    quiet_disconnects,
    read_body,
)
from tests.fakes.kill import KillSwitch, Moment
from tests.fakes.tls import make_tls_files

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
BASE32HEX = set("0123456789abcdefghijklmnopqrstuv")
MAX_FREEBUSY_ITEMS = 50
MAX_FREEBUSY_RANGE = timedelta(days=90)
GMAIL = "https://www.googleapis.com/auth/"
SEARCH_SCOPES = frozenset(
    {GMAIL + "gmail.readonly", GMAIL + "gmail.modify", "https://mail.google.com/"}
)


class Reply(Exception):
    """Raised inside a handler to answer with an error body in Google's JSON shape."""

    def __init__(self, status: int, reason: str, message: str, domain: str = "global") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.domain = domain

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "errors": [{"domain": self.domain, "reason": self.reason, "message": self.message}],
                "code": self.status,
                "message": self.message,
            }
        }


@dataclass
class Fault:
    """An error the next ``times`` matching requests get instead of their real answer."""

    status: int
    reason: str
    method: str | None = None
    path_contains: str = ""
    times: int = 1
    retry_after: str | None = None
    hits: int = 0


@dataclass
class ConferenceRecord:
    name: str
    code: str
    start: datetime
    end: datetime
    # participant id -> (people id or None for anonymous, display name, [(join, leave)])
    participants: dict[str, tuple[str | None, str, list[tuple[datetime, datetime]]]] = field(
        default_factory=dict
    )


def _scopes_by_method() -> dict[str, frozenset[str]]:
    """Accepted scopes per discovery method id, from the documents the client library ships."""
    out: dict[str, frozenset[str]] = {}
    docs = resources.files("googleapiclient") / "discovery_cache" / "documents"
    for name in ("calendar.v3.json", "gmail.v1.json", "meet.v2.json", "people.v1.json"):
        doc = json.loads((docs / name).read_text(encoding="utf-8"))

        def walk(node: dict[str, Any]) -> None:
            for method in (node.get("methods") or {}).values():
                out[method["id"]] = frozenset(method.get("scopes") or ())
            for child in (node.get("resources") or {}).values():
                walk(child)

        walk(doc)
    return out


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Patch semantics: nested objects merge, lists and scalars replace, null deletes."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeGoogle:
    """The state and the request handling; the HTTP server only moves bytes."""

    def __init__(
        self,
        *,
        users: Iterable[str] = (),
        domain: str = "example.com",
        open_delegation: bool = False,
        latency: float = 0.0,
        per_user_per_minute: int | None = None,
    ) -> None:
        self.latency = latency
        self.per_user_per_minute = per_user_per_minute
        self.recent: dict[str, deque[float]] = {}  # user -> times of their last calls
        self.rate_refused = 0  # calls refused for the per-user quota
        self.calls: dict[str, int] = {}  # discovery method id (or "batch", "token") -> count
        self.round_trips = 0  # HTTP exchanges, token requests included
        self.lock = threading.RLock()
        self.domain = domain
        self.users: set[str] = {u.lower() for u in users}
        self.open_delegation = open_delegation  # any key, any scope (hand-run demo mode)
        self.accounts: dict[str, dict[str, Any]] = {}  # client_email -> {public_key, scopes}
        self.tokens: dict[str, dict[str, Any]] = {}  # access token -> {sub, scopes}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.auth_codes: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, dict[str, Any]]] = {}  # owner -> id -> event
        self.changed: dict[tuple[str, str], int] = {}  # (owner, id) -> change sequence
        self.seq = 0
        self.token_floor = 0  # sync tokens older than this answer 410
        self.busy: dict[str, list[tuple[datetime, datetime]]] = {}
        self.sent: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str]] = []  # (method, path) of every request, batch items too
        self.batches: list[int] = []  # number of parts of each batch request
        self.batched: list[tuple[str, ...]] = []  # each batch's parts, as "METHOD path"
        self.records: list[ConferenceRecord] = []
        self.people: dict[str, str] = {}  # people id -> e-mail
        self.notifications: list[tuple[str, str, str]] = []  # (method, event id, sendUpdates)
        self.scopes = _scopes_by_method()
        self._ids = itertools.count(1)

    def known(self, email_address: str) -> bool:
        """Whether a mailbox exists (any user of the domain in the hand-run demo mode)."""
        address = email_address.lower()
        return address in self.users or (
            self.open_delegation and address.endswith("@" + self.domain)
        )

    # -- set-up helpers for tests ------------------------------------------------------------

    def add_service_account(
        self, client_email: str, public_key_pem: bytes | None, scopes: Iterable[str]
    ) -> None:
        """Register a key and the scopes its Admin console DWD entry lists."""
        self.accounts[client_email] = {"public_key": public_key_pem, "scopes": set(scopes)}

    def add_user(self, email_address: str, busy: Iterable[tuple[datetime, datetime]] = ()) -> None:
        self.users.add(email_address.lower())
        self.busy[email_address.lower()] = list(busy)

    def inject(self, status: int, reason: str, **kwargs: Any) -> Fault:
        fault = Fault(status=status, reason=reason, **kwargs)
        self.faults.append(fault)
        return fault

    def expire_sync_tokens(self) -> None:
        self.token_floor = self.seq + 1

    def calendar(self, owner: str) -> dict[str, dict[str, Any]]:
        return self.events.setdefault(owner.lower(), {})

    def _touch(self, owner: str, event_id: str) -> None:
        self.seq += 1
        self.changed[(owner, event_id)] = self.seq
        event = self.events[owner][event_id]
        event["updated"] = _stamp(datetime.now(UTC))
        event["etag"] = f'"{self.seq}"'

    def delete_event(self, owner: str, event_id: str) -> None:
        with self.lock:
            event = self.calendar(owner)[event_id]
            event["status"] = "cancelled"
            self._touch(owner, event_id)

    def cancel_occurrence(self, owner: str, event_id: str, original: datetime) -> None:
        with self.lock:
            exception = self._exception(owner, event_id, original)
            exception["status"] = "cancelled"
            self._touch(owner, exception["id"])

    def move_occurrence(
        self, owner: str, event_id: str, original: datetime, new_start: datetime
    ) -> None:
        with self.lock:
            exception = self._exception(owner, event_id, original)
            span = _parse(exception["end"]["dateTime"]) - _parse(exception["start"]["dateTime"])
            zone = exception["start"].get("timeZone", "UTC")
            local = new_start.astimezone(ZoneInfo(zone))
            exception["start"] = {"dateTime": local.isoformat(), "timeZone": zone}
            exception["end"] = {"dateTime": (local + span).isoformat(), "timeZone": zone}
            self._touch(owner, exception["id"])

    def respond(
        self,
        owner: str,
        event_id: str,
        attendee: str,
        status: str,
        original: datetime | None = None,
    ) -> None:
        """An attendee answers the whole series, or one occurrence (which makes an exception)."""
        with self.lock:
            target = (
                self._exception(owner, event_id, original)
                if original is not None
                else self.calendar(owner)[event_id]
            )
            for person in target.get("attendees", []):
                if person["email"] == attendee.lower():
                    person["responseStatus"] = status
            self._touch(owner, target["id"])

    def add_conference(
        self,
        code: str,
        start: datetime,
        end: datetime,
        joins: dict[str, list[tuple[datetime, datetime]]],
    ) -> None:
        """A Meet call on ``code``; ``joins`` maps e-mails to their sessions."""
        with self.lock:
            record = ConferenceRecord(f"conferenceRecords/r{next(self._ids)}", code, start, end)
            for email_address, sessions in joins.items():
                person = str(1000 + next(self._ids))
                self.people[person] = email_address.lower()
                record.participants[f"p{next(self._ids)}"] = (person, email_address, sessions)
            self.records.append(record)

    def _exception(self, owner: str, event_id: str, original: datetime) -> dict[str, Any]:
        events = self.calendar(owner)
        parent = events[event_id]
        exception_id = f"{event_id}_{original.astimezone(UTC):%Y%m%dT%H%M%SZ}"
        if exception_id not in events:
            instance = self._instance(parent, original)
            events[exception_id] = instance
            self._touch(owner, exception_id)
        return events[exception_id]

    def _instance(self, parent: dict[str, Any], original: datetime) -> dict[str, Any]:
        """An occurrence of ``parent`` at ``original`` (UTC), as events.instances shows it."""
        zone = parent["start"].get("timeZone", "UTC")
        span = _parse(parent["end"]["dateTime"]) - _parse(parent["start"]["dateTime"])
        local = original.astimezone(ZoneInfo(zone))
        instance = copy.deepcopy({k: v for k, v in parent.items() if k != "recurrence"})
        instance["id"] = f"{parent['id']}_{original.astimezone(UTC):%Y%m%dT%H%M%SZ}"
        instance["recurringEventId"] = parent["id"]
        instance["originalStartTime"] = {"dateTime": local.isoformat(), "timeZone": zone}
        instance["start"] = {"dateTime": local.isoformat(), "timeZone": zone}
        instance["end"] = {"dateTime": (local + span).isoformat(), "timeZone": zone}
        return instance

    # -- dispatch ----------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request in, one response out (status, headers, body)."""
        url = urlsplit(target)
        path = unquote(url.path)
        query = parse_qs(url.query, keep_blank_values=True)
        lowered = {k.lower(): v for k, v in headers.items()}
        with self.lock:
            self.log.append((method, path))
        try:
            if path == "/token" and method == "POST":
                return self._json(200, self._token(body))
            if path == "/batch/calendar/v3" and method == "POST":
                return self._batch(lowered, body)
            owner, scopes = self._authorise(lowered)
            method_id, handler, args = self._route(method, path)
            with self.lock:
                self.calls[method_id] = self.calls.get(method_id, 0) + 1
            if method_id.startswith("calendar.") and not self._within_quota(owner):
                raise Reply(403, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits")
            accepted = self.scopes.get(method_id, frozenset())
            if accepted and not accepted & scopes:
                raise Reply(403, "insufficientPermissions", "Insufficient Permission")
            searching = method_id == "gmail.users.messages.list" and query.get("q")
            if searching and not SEARCH_SCOPES & scopes:  # discovery: q is not for metadata
                raise Reply(403, "forbidden", "Metadata scope does not support 'q' parameter")
            fault = self._fault(method, path)
            if fault is not None:
                extra = {"retry-after": fault.retry_after} if fault.retry_after else {}
                error = Reply(fault.status, fault.reason, f"injected {fault.reason}", "usageLimits")
                return self._json(fault.status, error.body(), extra)
            payload = json.loads(body) if body else None
            with self.lock:
                status, answer = handler(owner, query, payload, *args)
            return self._json(status, answer)
        except Reply as reply:
            return self._json(reply.status, reply.body())

    def _within_quota(self, user: str) -> bool:
        """Count one Calendar call for ``user``; False (not counted) past the per-user quota."""
        if self.per_user_per_minute is None:
            return True
        now = time.monotonic()
        with self.lock:
            recent = self.recent.setdefault(user, deque())
            while recent and recent[0] <= now - 60.0:
                recent.popleft()
            if len(recent) >= self.per_user_per_minute:
                self.rate_refused += 1
                return False
            recent.append(now)
            return True

    def _json(
        self, status: int, body: Any, extra: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json; charset=UTF-8"}
        headers.update(extra or {})
        return status, headers, data

    def _fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.hits >= fault.times:
                    continue
                if fault.method and fault.method != method:
                    continue
                if fault.path_contains not in path:
                    continue
                fault.hits += 1
                return fault
        return None

    def _route(self, method: str, path: str) -> tuple[str, Any, tuple[str, ...]]:
        routes: list[tuple[str, str, str, Any]] = [
            ("POST", r"/calendar/v3/freeBusy", "calendar.freebusy.query", self._freebusy),
            (
                "POST",
                r"/calendar/v3/calendars/([^/]+)/events",
                "calendar.events.insert",
                self._insert,
            ),
            ("GET", r"/calendar/v3/calendars/([^/]+)/events", "calendar.events.list", self._list),
            (
                "GET",
                r"/calendar/v3/calendars/([^/]+)/events/([^/]+)/instances",
                "calendar.events.instances",
                self._instances,
            ),
            (
                "GET",
                r"/calendar/v3/calendars/([^/]+)/events/([^/]+)",
                "calendar.events.get",
                self._get,
            ),
            (
                "PATCH",
                r"/calendar/v3/calendars/([^/]+)/events/([^/]+)",
                "calendar.events.patch",
                self._patch,
            ),
            (
                "DELETE",
                r"/calendar/v3/calendars/([^/]+)/events/([^/]+)",
                "calendar.events.delete",
                self._delete,
            ),
            (
                "POST",
                r"/gmail/v1/users/([^/]+)/messages/send",
                "gmail.users.messages.send",
                self._send,
            ),
            (
                "GET",
                r"/gmail/v1/users/([^/]+)/messages",
                "gmail.users.messages.list",
                self._messages,
            ),
            ("GET", r"/v2/conferenceRecords", "meet.conferenceRecords.list", self._records),
            (
                "GET",
                r"/v2/(conferenceRecords/[^/]+)/participants",
                "meet.conferenceRecords.participants.list",
                self._participants,
            ),
            (
                "GET",
                r"/v2/(conferenceRecords/[^/]+/participants/[^/]+)/participantSessions",
                "meet.conferenceRecords.participants.participantSessions.list",
                self._sessions,
            ),
            ("GET", r"/v1/people/([^/]+)", "people.people.get", self._person),
        ]
        for verb, pattern, method_id, handler in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                return method_id, handler, match.groups()
        raise Reply(404, "notFound", f"no fake for {method} {path}")

    # -- auth --------------------------------------------------------------------------------

    def _token(self, body: bytes) -> dict[str, Any]:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        grant = form.get("grant_type")
        if grant == JWT_BEARER:
            return self._jwt_grant(form.get("assertion", ""))
        if grant == "refresh_token":
            known = self.refresh_tokens.get(form.get("refresh_token", ""))
            if known is None:
                raise _oauth_error("invalid_grant", "Token has been expired or revoked.")
            return self._issue(known["sub"], known["scopes"], with_scope=True)
        if grant == "authorization_code":
            known = self.auth_codes.pop(form.get("code", ""), None)
            if known is None:
                raise _oauth_error("invalid_grant", "Malformed auth code.")
            answer = self._issue(known["sub"], known["scopes"], with_scope=True)
            refresh = f"refresh-{next(self._ids)}"
            self.refresh_tokens[refresh] = known
            answer["refresh_token"] = refresh
            return answer
        raise _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _jwt_grant(self, assertion: str) -> dict[str, Any]:
        try:
            head, payload, signature = assertion.split(".")
            claims = json.loads(_b64url_decode(payload))
        except ValueError:
            raise _oauth_error("invalid_grant", "Invalid JWT.") from None
        account = self.accounts.get(claims.get("iss", ""))
        if account is None and not self.open_delegation:
            raise _oauth_error("invalid_client", "The OAuth client was not found.", 401)
        if account and account["public_key"]:
            key = serialization.load_pem_public_key(account["public_key"])
            assert isinstance(key, rsa.RSAPublicKey)
            try:
                key.verify(
                    _b64url_decode(signature),
                    f"{head}.{payload}".encode(),
                    padding.PKCS1v15(),
                    hashes.SHA256(),
                )
            except Exception:
                raise _oauth_error("invalid_grant", "Invalid JWT Signature.") from None
        subject = str(claims.get("sub", "")).lower()
        if not self.known(subject):
            raise _oauth_error("invalid_grant", "Invalid email or User ID")
        requested = set(str(claims.get("scope", "")).split())
        allowed = account["scopes"] if account else requested
        if not requested or not requested <= allowed:
            raise _oauth_error(
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client "
                "not authorized for any of the scopes requested.",
                401,
            )
        return self._issue(subject, requested)

    def _issue(self, subject: str, scopes: set[str], with_scope: bool = False) -> dict[str, Any]:
        token = f"ya29.fake-{next(self._ids)}"
        self.tokens[token] = {"sub": subject, "scopes": set(scopes)}
        answer: dict[str, Any] = {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        if with_scope:
            answer["scope"] = " ".join(sorted(scopes))
        return answer

    def authorization_code(self, subject: str, scopes: Iterable[str]) -> str:
        """What the consent screen would hand the browser (for the OAuth login test)."""
        code = f"code-{next(self._ids)}"
        self.auth_codes[code] = {"sub": subject.lower(), "scopes": set(scopes)}
        return code

    def _authorise(self, headers: dict[str, str]) -> tuple[str, frozenset[str]]:
        value = headers.get("authorization", "")
        token = value[7:] if value.lower().startswith("bearer ") else ""
        known = self.tokens.get(token)
        if known is None:
            raise Reply(401, "authError", "Invalid Credentials")
        return known["sub"], frozenset(known["scopes"])

    # -- batch -------------------------------------------------------------------------------

    def _batch(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            parts = parse_batch(headers.get("content-type", ""), body)
        except ValueError as exc:
            return self._json(400, Reply(400, "badRequest", str(exc)).body())
        with self.lock:
            self.batches.append(len(parts))
            self.batched.append(
                tuple(f"{p.method} {urlsplit(p.target).path.rsplit('/', 1)[-1]}" for p in parts)
            )
            self.calls["batch"] = self.calls.get("batch", 0) + 1
        replies = []
        for part in parts:
            inner_headers = dict(headers)  # the outer Authorization applies to every part
            inner_headers.update(part.headers)
            status, out_headers, data = self.handle(
                part.method, part.target, inner_headers, part.body
            )
            replies.append((part.content_id, status, out_headers, data))
        content_type, out = render_batch(replies)
        return 200, {"Content-Type": content_type}, out

    # -- calendar ----------------------------------------------------------------------------

    def _owner(self, owner: str, calendar_id: str) -> str:
        if calendar_id == "primary":
            return owner
        if calendar_id.lower() != owner:
            raise Reply(404, "notFound", "Not Found")
        return calendar_id.lower()

    def _freebusy(self, owner: str, query: Any, body: Any) -> tuple[int, Any]:
        start, end = _parse(body["timeMin"]), _parse(body["timeMax"])
        if end - start > MAX_FREEBUSY_RANGE:
            raise Reply(400, "timeRangeTooLong", "The requested time range is too long.")
        calendars: dict[str, Any] = {}
        invited = self._invitations({str(i["id"]).lower() for i in body.get("items") or []})
        for index, item in enumerate(body.get("items") or []):
            who = str(item["id"]).lower()
            if index >= MAX_FREEBUSY_ITEMS:
                calendars[item["id"]] = {
                    "busy": [],
                    "errors": [{"domain": "calendar", "reason": "tooManyCalendarsRequested"}],
                }
            elif not self.known(who):
                calendars[item["id"]] = {
                    "busy": [],
                    "errors": [{"domain": "global", "reason": "notFound"}],
                }
            else:
                # One block per event, cut at the window's edges. Whether Google itself joins
                # touching or overlapping events into one block is not confirmed.
                mine = [(a, b) for a, b in self.busy.get(who, []) if a < end and b > start]
                blocks = [
                    {"start": _stamp(max(a, start)), "end": _stamp(min(b, end))}
                    for a, b in sorted(
                        mine + self._attending(who, start, end, invited.get(who, []))
                    )
                ]
                calendars[item["id"]] = {"busy": blocks}
        return 200, {
            "kind": "calendar#freeBusy",
            "timeMin": body["timeMin"],
            "timeMax": body["timeMax"],
            "calendars": calendars,
        }

    def _insert(self, owner: str, query: Any, body: Any, calendar_id: str) -> tuple[int, Any]:
        owner = self._owner(owner, calendar_id)
        events = self.calendar(owner)
        event_id = body.get("id") or f"fake{next(self._ids):08d}"
        if not 5 <= len(event_id) <= 1024 or not set(event_id) <= BASE32HEX:
            raise Reply(400, "invalid", "Invalid resource id value.")
        if event_id in events:
            raise Reply(409, "duplicate", "The requested identifier already exists.")
        for side in ("start", "end"):
            if not (body.get(side) or {}).get("dateTime"):
                raise Reply(400, "required", f"Missing {side} time.")
        if body.get("recurrence") and not body["start"].get("timeZone"):
            raise Reply(400, "invalid", "Missing time zone definition for start time.")
        event = copy.deepcopy(body)
        event.update(
            {
                "kind": "calendar#event",
                "id": event_id,
                "status": "confirmed",
                "htmlLink": f"https://calendar.example/event?eid={event_id}",
                "created": _stamp(datetime.now(UTC)),
                "iCalUID": f"{event_id}@google.com",
                "sequence": 0,
                "organizer": {"email": owner, "self": True},
                "creator": {"email": owner, "self": True},
            }
        )
        attendees = event.get("attendees") or []
        for person in attendees:
            person["email"] = person["email"].lower()
            person.setdefault("responseStatus", "needsAction")
        if attendees:
            attendees.insert(
                0, {"email": owner, "organizer": True, "self": True, "responseStatus": "accepted"}
            )
        self._conference(event, body, query)
        events[event_id] = event
        self._touch(owner, event_id)
        self.notifications.append(("insert", event_id, query.get("sendUpdates", [""])[0]))
        return 200, event

    def _conference(self, event: dict[str, Any], body: Any, query: Any) -> None:
        if query.get("conferenceDataVersion", ["0"])[0] != "1":
            event.pop("conferenceData", None)  # version 0 ignores conference data
            return
        request = ((body or {}).get("conferenceData") or {}).get("createRequest")
        if not request:
            return
        digest = hashlib.sha256(event["id"].encode()).hexdigest()
        code = f"{_letters(digest[:3])}-{_letters(digest[3:7])}-{_letters(digest[7:10])}"
        event["conferenceData"] = {
            "createRequest": {**request, "status": {"statusCode": "success"}},
            "entryPoints": [{"entryPointType": "video", "uri": f"https://meet.google.com/{code}"}],
            "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
            "conferenceId": code,
        }
        event["hangoutLink"] = f"https://meet.google.com/{code}"

    def _get(self, owner: str, query: Any, body: Any, calendar_id: str, event_id: str):
        owner = self._owner(owner, calendar_id)
        event = self.calendar(owner).get(event_id)
        if event is None:
            raise Reply(404, "notFound", "Not Found")
        return 200, event

    def _patch(self, owner: str, query: Any, body: Any, calendar_id: str, event_id: str):
        owner = self._owner(owner, calendar_id)
        event = self.calendar(owner).get(event_id)
        if event is None:
            raise Reply(404, "notFound", "Not Found")
        if event.get("status") == "cancelled":
            raise Reply(403, "forbidden", "Forbidden")
        conference = body.pop("conferenceData", "absent")
        _merge(event, body)
        if conference is None and query.get("conferenceDataVersion", ["0"])[0] == "1":
            event.pop("conferenceData", None)
            event.pop("hangoutLink", None)
        elif conference != "absent":
            self._conference(event, {"conferenceData": conference}, query)
        event["sequence"] = event.get("sequence", 0) + 1
        self._touch(owner, event_id)
        self.notifications.append(("patch", event_id, query.get("sendUpdates", [""])[0]))
        return 200, event

    def _delete(self, owner: str, query: Any, body: Any, calendar_id: str, event_id: str):
        owner = self._owner(owner, calendar_id)
        event = self.calendar(owner).get(event_id)
        if event is None:
            raise Reply(404, "notFound", "Not Found")
        if event.get("status") == "cancelled":
            raise Reply(410, "deleted", "Resource has been deleted")
        event["status"] = "cancelled"
        self._touch(owner, event_id)
        self.notifications.append(("delete", event_id, query.get("sendUpdates", [""])[0]))
        return 204, None

    def _list(self, owner: str, query: Any, body: Any, calendar_id: str) -> tuple[int, Any]:
        owner = self._owner(owner, calendar_id)
        events = self.calendar(owner)
        if query.get("singleEvents", ["false"])[0] == "true":
            raise Reply(400, "badRequest", "the fake does not expand singleEvents")
        show_deleted = query.get("showDeleted", ["false"])[0] == "true"
        sync = query.get("syncToken", [None])[0]
        if sync is not None:
            since = int(sync.removeprefix("sync-"))
            if since < self.token_floor:
                raise Reply(
                    410,
                    "fullSyncRequired",
                    "Sync token is no longer valid, a full sync is required.",
                )
            if query.get("privateExtendedProperty"):
                raise Reply(400, "badRequest", "syncToken cannot be used with this filter")
            items = [e for i, e in events.items() if self.changed.get((owner, i), 0) > since]
        else:
            items = list(events.values())
            for constraint in query.get("privateExtendedProperty", []):
                name, _, value = constraint.partition("=")
                items = [
                    e
                    for e in items
                    if ((e.get("extendedProperties") or {}).get("private") or {}).get(name) == value
                ]
            if not show_deleted:
                # Cancelled exceptions stay visible when neither showDeleted nor singleEvents.
                items = [
                    e for e in items if e.get("status") != "cancelled" or e.get("recurringEventId")
                ]
        items.sort(key=lambda e: self.changed.get((owner, e["id"]), 0))
        page, token = self._page(items, query)
        answer: dict[str, Any] = {
            "kind": "calendar#events",
            "summary": owner,
            "timeZone": "Europe/Berlin",
            "items": page,
        }
        if token:
            answer["nextPageToken"] = token
        else:
            answer["nextSyncToken"] = f"sync-{self.seq}"
        return 200, answer

    def _page(self, items: list[Any], query: Any) -> tuple[list[Any], str | None]:
        size = min(int(query.get("maxResults", ["250"])[0]), 2500)
        offset = int(query.get("pageToken", ["0"])[0] or 0)
        page = items[offset : offset + size]
        more = offset + size < len(items)
        return [copy.deepcopy(e) for e in page], str(offset + size) if more else None

    def _instances(self, owner: str, query: Any, body: Any, calendar_id: str, event_id: str):
        owner = self._owner(owner, calendar_id)
        events = self.calendar(owner)
        parent = events.get(event_id)
        if parent is None:
            raise Reply(404, "notFound", "Not Found")
        if parent.get("status") == "cancelled":
            raise Reply(410, "deleted", "Resource has been deleted")
        show_deleted = query.get("showDeleted", ["false"])[0] == "true"
        wanted = query.get("originalStart", [None])[0]
        low = query.get("timeMin", [None])[0]
        high = query.get("timeMax", [None])[0]
        out = []
        for original, instance in self._occurrences(events, parent):
            if wanted is not None and original != _parse(wanted):
                continue
            if instance.get("status") == "cancelled" and not show_deleted:
                continue
            if low and _parse(instance["end"]["dateTime"]) < _parse(low):
                continue
            if high and _parse(instance["start"]["dateTime"]) >= _parse(high):
                continue
            out.append(instance)
        page, token = self._page(out, query)
        answer: dict[str, Any] = {"kind": "calendar#events", "items": page}
        if token:
            answer["nextPageToken"] = token
        return 200, answer

    def _occurrences(
        self, events: dict[str, dict[str, Any]], parent: dict[str, Any]
    ) -> Iterator[tuple[datetime, dict[str, Any]]]:
        """(original start in UTC, the instance as events.instances shows it) of a series."""
        zone = ZoneInfo(parent["start"].get("timeZone", "UTC"))
        first = _parse(parent["start"]["dateTime"]).astimezone(zone)
        rule = next(line for line in parent["recurrence"] if line.startswith("RRULE:"))
        for local in itertools.islice(rrulestr(rule[6:], dtstart=first), 1000):
            original = local.astimezone(UTC)
            exception = events.get(f"{parent['id']}_{original:%Y%m%dT%H%M%SZ}")
            yield (
                original,
                (copy.deepcopy(exception) if exception else self._instance(parent, original)),
            )

    def _invitations(self, people: set[str]) -> dict[str, list[tuple[dict[str, Any], Any]]]:
        """(calendar, series) pairs each of ``people`` is invited to, in one pass: a server
        indexes this; asking every series about every person made a 5,000-pair cohort's
        free/busy read slower than the client's timeout."""
        found: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        for events in self.events.values():
            for parent in list(events.values()):
                if parent.get("status") == "cancelled" or not parent.get("recurrence"):
                    continue
                invited = {a["email"].lower() for a in parent.get("attendees", [])}
                for who in invited & people:
                    found.setdefault(who, []).append((events, parent))
        return found

    def _attending(
        self, who: str, start: datetime, end: datetime, series: list[tuple[dict[str, Any], Any]]
    ) -> list[tuple[datetime, ...]]:
        """The sessions of every series ``who`` is invited to (``series``, from
        ``_invitations``) and has not declined, as Google shows them in that person's free/busy:
        the series' own events are busy time too."""
        found = []
        for events, parent in series:
            for _, instance in self._occurrences(events, parent):
                answers = {
                    a["email"].lower(): a.get("responseStatus")
                    for a in instance.get("attendees", [])
                }
                if instance.get("status") == "cancelled" or answers.get(who) == "declined":
                    continue
                a, b = (
                    _parse(instance["start"]["dateTime"]),
                    _parse(instance["end"]["dateTime"]),
                )
                if a < end and b > start:
                    found.append((a, b))
        return found

    # -- gmail, meet, people -----------------------------------------------------------------

    def _send(self, owner: str, query: Any, body: Any, user: str) -> tuple[int, Any]:
        if user != "me" and user.lower() != owner:
            raise Reply(403, "forbidden", "Delegation denied")
        raw = _b64url_decode(body["raw"])
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        self.sent.append({"user": owner, "raw": raw, "message": message})
        number = next(self._ids)
        return 200, {"id": f"m{number:x}", "threadId": f"t{number:x}", "labelIds": ["SENT"]}

    def _messages(self, owner: str, query: Any, body: Any, user: str) -> tuple[int, Any]:
        """users.messages.list over what this user sent; ``q`` understands ``rfc822msgid:``."""
        if user != "me" and user.lower() != owner:
            raise Reply(403, "forbidden", "Delegation denied")
        text = query.get("q", [""])[0]
        match = re.fullmatch(r"\s*rfc822msgid:<?([^\s>]+)>?\s*", text) if text else None
        if text and match is None:
            raise Reply(400, "invalidArgument", "fake server: only rfc822msgid: queries")
        found = []
        for number, item in enumerate(self.sent):
            if item["user"] != owner:
                continue
            message_id = str(item["message"].get("Message-ID", "")).strip().strip("<>")
            if match is None or message_id == match.group(1):
                found.append({"id": f"s{number:x}", "threadId": f"s{number:x}"})
        limit = int(query.get("maxResults", ["100"])[0])
        answer: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if found:
            answer["messages"] = found[:limit]
        return 200, answer

    def _records(self, owner: str, query: Any, body: Any) -> tuple[int, Any]:
        text = query.get("filter", [""])[0]
        match = re.search(r'space\.meeting_code\s*=\s*"([^"]+)"', text)
        found = [r for r in self.records if match is None or r.code == match.group(1)]
        for op, value in re.findall(r'start_time\s*(>=|<=)\s*"([^"]+)"', text):
            bound = _parse(value)
            found = [r for r in found if (r.start >= bound if op == ">=" else r.start <= bound)]
        page, token = self._page(
            [
                {
                    "name": r.name,
                    "startTime": _stamp(r.start),
                    "endTime": _stamp(r.end),
                    "space": "spaces/fake",
                }
                for r in found
            ],
            {
                "maxResults": query.get("pageSize", ["25"]),
                "pageToken": query.get("pageToken", ["0"]),
            },
        )
        answer: dict[str, Any] = {"conferenceRecords": page}
        if token:
            answer["nextPageToken"] = token
        return 200, answer

    def _record(self, name: str) -> ConferenceRecord:
        for record in self.records:
            if record.name == name:
                return record
        raise Reply(404, "notFound", "Requested entity was not found.")

    def _participants(self, owner: str, query: Any, body: Any, record: str):
        found = self._record(record)
        items = []
        for pid, (person, display, sessions) in found.participants.items():
            item: dict[str, Any] = {
                "name": f"{record}/participants/{pid}",
                "earliestStartTime": _stamp(min(s for s, _ in sessions)),
                "latestEndTime": _stamp(max(e for _, e in sessions)),
            }
            if person is None:
                item["anonymousUser"] = {"displayName": display}
            else:
                item["signedinUser"] = {"user": f"users/{person}", "displayName": display}
            items.append(item)
        return 200, {"participants": items, "totalSize": len(items)}

    def _sessions(self, owner: str, query: Any, body: Any, participant: str):
        record_name, _, pid = participant.rpartition("/participants/")
        found = self._record(record_name)
        _, _, sessions = found.participants[pid]
        return 200, {
            "participantSessions": [
                {
                    "name": f"{participant}/participantSessions/s{i}",
                    "startTime": _stamp(a),
                    "endTime": _stamp(b),
                }
                for i, (a, b) in enumerate(sessions)
            ]
        }

    def _person(self, owner: str, query: Any, body: Any, person: str) -> tuple[int, Any]:
        address = self.people.get(person)
        if address is None:
            raise Reply(404, "notFound", "Requested entity was not found.")
        return 200, {
            "resourceName": f"people/{person}",
            "emailAddresses": [{"metadata": {"primary": True}, "value": address}],
        }


@dataclass(frozen=True)
class BatchPart:
    """One request inside a multipart/mixed batch body."""

    content_id: str
    method: str
    target: str  # path and query
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def parse_batch(content_type: str, body: bytes) -> list[BatchPart]:
    """The parts of a batch request as ``BatchHttpRequest`` writes them (application/http)."""
    message = BytesParser(policy=email.policy.compat32).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ValueError("a batch body must be multipart/mixed")
    parts = []
    for part in message.get_payload():
        inner = part.get_payload(decode=False)
        request_line, _, rest = inner.replace("\r\n", "\n").partition("\n")
        head, _, inner_body = rest.partition("\n\n")
        headers: dict[str, str] = {}
        for line in head.split("\n"):
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        method, target, _version = request_line.split(" ", 2)
        content_id = (part["Content-ID"] or "<x + 0>").strip("<>")
        parts.append(BatchPart(content_id, method, target, headers, inner_body.encode()))
    return parts


def render_batch(
    replies: Iterable[tuple[str, int, dict[str, str], bytes]],
) -> tuple[str, bytes]:
    """A multipart/mixed batch response; ``content_id`` is the request part's (``base + n``)."""
    boundary = f"batch_{uuid.uuid4().hex}"
    chunks = []
    for content_id, status, headers, data in replies:
        lines = [
            f"--{boundary}",
            "Content-Type: application/http",
            f"Content-ID: <response-{content_id}>",
            "",
            f"HTTP/1.1 {status} {_reason_phrase(status)}",
            *(f"{k}: {v}" for k, v in headers.items()),
            "",
            data.decode(),
        ]
        chunks.append("\r\n".join(lines).encode())
    out = b"\r\n".join(chunks) + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/mixed; boundary={boundary}", out


# -- helpers for transport-level tests (HttpMockSequence) -----------------------------------

FIXTURES = Path(__file__).resolve().parent.parent / "google" / "fixtures"


def fixture(name: str) -> Any:
    """A recorded Google response from ``tests/google/fixtures``, its ``_source`` stripped."""
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data.pop("_source", None)
    return data


def reply(body: Any, status: int = 200, **headers: str) -> tuple[dict[str, str], str]:
    """One ``HttpMockSequence`` entry: a fixture name or a JSON-able body, with its status."""
    data = fixture(body) if isinstance(body, str) and body.endswith(".json") else body
    head = {"status": str(status), "content-type": "application/json; charset=UTF-8"}
    head.update({k.replace("_", "-"): v for k, v in headers.items()})
    return head, json.dumps(data)


def batch_reply(
    items: Iterable[tuple[int, Any] | tuple[int, Any, dict[str, str]]],
) -> tuple[dict[str, str], bytes]:
    """An ``HttpMockSequence`` entry answering a batch; part ``n`` answers request id ``n``."""
    replies = []
    for index, item in enumerate(items):
        status, body = item[0], item[1]
        extra = item[2] if len(item) > 2 else {}  # type: ignore[misc]
        data = fixture(body) if isinstance(body, str) and body.endswith(".json") else body
        head = {"Content-Type": "application/json; charset=UTF-8", **extra}
        encoded = b"" if data is None else json.dumps(data).encode()
        replies.append((f"fixture + {index}", status, head, encoded))
    content_type, out = render_batch(replies)
    return {"status": "200", "content-type": content_type}, out


class FakeClock:
    """Monotonic time that only moves when code sleeps: tests never really wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


ORGANIZER = "organizer@example.com"
TEST_ENDPOINTS = {
    "api_endpoint": "https://google.test/calendar/v3/",
    "gmail_endpoint": "https://google.test/",
    "meet_endpoint": "https://google.test/",
    "people_endpoint": "https://google.test/",
    "batch_uri": "https://google.test/batch/calendar/v3",
    "token_uri": "https://google.test/token",
}


def make_context(state_dir: Path, kv: Any | None = None) -> Any:
    """A ProviderContext for the organizer above, state next to ``state_dir``."""
    from rmcal.provider import Attendee, MemoryKeyValue, ProviderContext

    return ProviderContext(
        config_dir=state_dir,
        state_dir=state_dir,
        organizer=Attendee(ORGANIZER, "Programme Office"),
        programme="Reverse mentoring",
        timezone="Europe/Berlin",
        kv=kv if kv is not None else MemoryKeyValue(),
    )


def mock_provider(
    state_dir: Path,
    responses: list[Any],
    clock: FakeClock | None = None,
    kv: Any | None = None,
    **settings: Any,
) -> tuple[Any, Any, FakeClock]:
    """A GoogleProvider over ``HttpMockSequence(responses)`` with a ready access token.

    Returns (provider, transport, clock); assert on ``transport.request_sequence``.
    """
    from google.oauth2.credentials import Credentials
    from googleapiclient.http import HttpMockSequence
    from rmcal_providers.google import GoogleProvider

    clock = clock or FakeClock()
    transport = HttpMockSequence(list(responses))
    config = {"auth": "oauth", "oauth_client_file": "client.json", **TEST_ENDPOINTS, **settings}
    provider = GoogleProvider(
        config,
        make_context(state_dir, kv),
        transport=transport,
        credentials=Credentials(token="test-token"),
        sleep=clock.sleep,
        clock=clock,
        rng=lambda: 0.5,
    )
    return provider, transport, clock


class _OAuthError(Reply):
    def __init__(self, code: str, description: str, status: int) -> None:
        super().__init__(status, code, description)
        self.code = code
        self.description = description

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "error_description": self.description}


def _oauth_error(code: str, description: str, status: int = 400) -> _OAuthError:
    return _OAuthError(code, description, status)


def _letters(hex_text: str) -> str:
    return "".join(chr(ord("a") + int(c, 16) % 26) for c in hex_text)


def _reason_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        body = read_body(self)
        if body is None:  # the client died while sending: nothing arrived
            drop_connection(self)
            return
        fake = self.server.fake
        with fake.lock:
            fake.round_trips += 1
        if fake.latency > 0:
            time.sleep(fake.latency)  # the round trip, asleep: no server CPU
        kill = self.server.kill  # the crash harness's (tests/fakes/kill.py), before any fault
        moment = Moment.NONE
        if kill is not None and not self.path.startswith("/token"):
            moment = kill.arrive(self.command, self.path, body)
        if moment is Moment.BEFORE:  # the client is dead: carry nothing out
            drop_connection(self)
            return
        plan = self.server.faults
        fault = None
        if plan is not None and not self.path.startswith("/token") and moment is Moment.NONE:
            fault = plan.draw(self.command, self.path)
        if fault is not None and fault.kind in NOT_DONE:
            assert plan is not None
            reason = "rateLimitExceeded" if fault.kind == "429" else "backendError"
            error = Reply(int(fault.kind), reason, "injected fault", "usageLimits")
            answer = self.server.fake._json(error.status, error.body())
            self._answer(*answer, extra={"Retry-After": plan.retry_after()})
            return
        if fault is None or fault.applied:
            answer = self.server.fake.handle(
                self.command, self.path, dict(self.headers.items()), body
            )
        if kill is not None and moment is Moment.AFTER:  # carried out; no answer leaves
            kill.fire()
            drop_connection(self)
        elif fault is None:
            self._answer(*answer)
        elif fault.kind == "500":
            error = Reply(500, "backendError", "injected fault")
            self._answer(*self.server.fake._json(500, error.body()))
        else:
            if fault.kind == "stall":
                assert plan is not None
                time.sleep(plan.stall_seconds)  # the client has given up by now
            drop_connection(self)

    def _answer(
        self, status: int, headers: dict[str, str], data: bytes, extra: dict[str, str] | None = None
    ) -> None:
        headers = {**headers, **(extra or {})}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGoogle
    faults: FaultPlan | None = None
    kill: KillSwitch | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not quiet_disconnects(sys.exc_info()[1] or Exception()):
            super().handle_error(request, client_address)


@dataclass
class RunningFake:
    """A started server: its state, its base URL and the CA file a client must trust."""

    fake: FakeGoogle
    base_url: str
    ca_path: Path
    server: _Server
    thread: threading.Thread

    def settings(self) -> dict[str, str]:
        """The provider settings that point rmcal's Google provider at this server."""
        return {
            "api_endpoint": f"{self.base_url}/calendar/v3/",
            "gmail_endpoint": f"{self.base_url}/",
            "meet_endpoint": f"{self.base_url}/",
            "people_endpoint": f"{self.base_url}/",
            "batch_uri": f"{self.base_url}/batch/calendar/v3",
            "token_uri": f"{self.base_url}/token",
            "ca_bundle": str(self.ca_path),
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start(
    fake: FakeGoogle,
    tls_dir: Path,
    port: int = 0,
    host: str = "127.0.0.1",
    faults: FaultPlan | None = None,
) -> RunningFake:
    """Serve ``fake`` over HTTPS on ``host:port`` (0: any free port) in a daemon thread,
    failing requests as ``faults`` says (none by default)."""
    files = make_tls_files(tls_dir, hosts=(host, "localhost"))
    server = _Server((host, port), _Handler)
    server.fake = fake
    server.faults = faults
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert_path, files.key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(
        target=lambda: server.serve_forever(poll_interval=0.05), name="fake-google", daemon=True
    )
    thread.start()
    return RunningFake(
        fake, f"https://{host}:{server.server_address[1]}", files.ca_path, server, thread
    )


def write_service_account(path: Path, client_email: str) -> bytes:
    """A throwaway service-account key JSON; returns the public key PEM to register."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "rmcal-fake",
        "private_key_id": "fake-key-1",
        "private_key": private,
        "client_email": client_email,
        "client_id": "100000000000000000001",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path.write_text(json.dumps(info), encoding="utf-8")
    path.chmod(0o600)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--domain", default="example.com", help="users of this domain exist")
    parser.add_argument("--dir", type=Path, help="where to write the CA and key (default: temp)")
    parser.add_argument("--faults", type=float, default=0.0, help="fail this share of requests")
    parser.add_argument("--seed", type=int, default=0, help="seed of the faults")
    args = parser.parse_args(argv)
    directory = args.dir or Path(tempfile.mkdtemp(prefix="rmcal-fake-google-"))
    directory.mkdir(parents=True, exist_ok=True)
    fake = FakeGoogle(domain=args.domain, open_delegation=True)
    key_file = directory / "service-account.json"
    write_service_account(key_file, f"rmcal@fake.{args.domain}")
    plan = FaultPlan(rate=args.faults, seed=args.seed) if args.faults else None
    running = start(fake, directory, port=args.port, host=args.host, faults=plan)
    print(f"fake Google on {running.base_url} (any user @{args.domain}; every scope granted)")
    print("provider settings:")
    print("  kind: google")
    print(f"  service_account_file: {key_file}")
    for name, value in running.settings().items():
        print(f"  {name}: {value}")
    try:
        running.thread.join()
    except KeyboardInterrupt:
        running.stop()


if __name__ == "__main__":
    main()
