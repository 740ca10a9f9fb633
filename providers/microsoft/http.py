"""Talking to Microsoft Graph over HTTP: one session, retries, paging, ``$batch``, errors.

Why one module: every Graph call needs the same four things done the same way, and each is
easy to get subtly wrong when repeated at call sites:

* a timeout on every request (``requests`` has none by default; a hung socket would hang cron);
* throttling and transient failures are retried within one time budget per operation
  (``max_retry_seconds``, ``providers.backoff.Backoff``: ``Retry-After`` honoured, else capped
  exponential backoff with jitter) - for whole responses and for the individual responses
  inside a ``$batch``, which Graph's SDKs do not retry for us. What is still refused when the
  budget runs out is returned (inside a batch) or raised as a ``QuotaError``/``ProviderError``;
* writes are only repeated when they provably did not take effect: 429 and 503 (Graph's errors
  page: the service is throttling or cannot handle the request now, "repeat the request after a
  delay"), 424 inside a batch (a dependency failed, the request never ran), and a connection
  that never opened (``providers.outcome.never_sent``). A write whose outcome is unknown (the
  connection dropped after the request went out, a timeout, any other 5xx) is never re-sent:
  it surfaces as ``OutcomeUnknown`` / status 0 so the caller can look first or record it
  uncertain. Only a GET is retried on 5xx and dropped connections too: a PATCH sets nothing
  new when repeated, but on a meeting it mails every attendee an update each time it is
  carried out, so a lost answer to one is left for the next run, which reads the series and
  patches only what still differs;
* no library resends behind rmcal's back: ``requests`` never re-sends a request itself, and the
  urllib3 retries under it are switched off explicitly (``outcome.without_resends``), so that
  every repeat of a request is one of the decisions above;
* every error response becomes a ``ProviderError`` with a remedy (``errors.map_error``).

$batch and the Outlook concurrency limit: Outlook runs at most four requests at a time per app
and mailbox, and counts every request inside a ``$batch`` (Microsoft Learn's throttling page;
users' "MailboxConcurrency" reports). rmcal keeps to it by construction: the requests for one
mailbox go in ``dependsOn`` chains of up to twenty, which Graph runs one after another, so a
chain holds one of the mailbox's four places; up to four chains (and getSchedule calls, and
pages) run at once, and a ``MailboxGate`` never lets a fifth start. A failed request turns the
rest of its chain into 424 answers, which never ran and go again at once in a new chain; only
throttling (429, 503) waits. So a cohort's writes take N/4 server rounds in N/20 round trips,
and never one request more than the mailbox allows.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests

from rmcal.errors import ProviderError, QuotaError

from ..backoff import Backoff, parse_retry_after
from ..outcome import never_sent, without_resends
from .errors import map_error
from .settings import PROVIDER

MAX_BATCH = 20  # Graph's documented maximum of requests per $batch
MAILBOX_CONCURRENCY = 4  # Outlook: concurrent requests per app and mailbox
# Answers that say the request was not carried out: safe to repeat, even a send.
NOT_DONE_STATUSES = frozenset({429, 503})
# 424 Failed Dependency: a batched request that waited on a failed one and never ran.
BATCH_NOT_DONE_STATUSES = NOT_DONE_STATUSES | {424}
# Methods whose repeat has no effect at all: retried after a dropped connection or any 5xx.
# Not PATCH: patching a meeting mails its attendees an update each time (found by the crash
# harness under faults, tests/crash/: a lost answer to a PATCH gave the pair two "Updated" mails).
IDEMPOTENT_METHODS = frozenset({"GET"})
UNKNOWN = 0  # status of a batched request whose outcome we could not learn


def retryable_status(status: int, method: str) -> bool:
    """Whether an answer with ``status`` may be repeated for a request of ``method``."""
    if status in BATCH_NOT_DONE_STATUSES:
        return True
    return method in IDEMPOTENT_METHODS and status >= 500


TokenFunc = Callable[[], str]


def segment(value: str) -> str:
    """``value`` as one path segment (an e-mail or event id), ``@`` kept as Graph shows it."""
    return quote(value, safe="@")


def odata_string(value: str) -> str:
    """``value`` as an OData string literal for ``$filter`` (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


class OutcomeUnknown(Exception):
    """A write went out but no answer came back: it may or may not have been applied."""


@dataclass
class GraphRequest:
    """One request inside a ``$batch``; ``mailbox`` is what the concurrency limit counts."""

    id: str
    method: str
    url: str  # relative to the version root, e.g. "/users/a@b.c/events"
    body: Any = None
    mailbox: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id, "method": self.method, "url": self.url}
        headers = dict(self.headers)
        if self.body is not None:
            headers.setdefault("Content-Type", "application/json")
            item["body"] = self.body
        if headers:
            item["headers"] = headers
        return item


@dataclass
class GraphResponse:
    """A response, whole or from inside a batch; ``status`` 0 means the outcome is unknown."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return str(value)
        return None


def not_done(exc: ProviderError) -> GraphResponse:
    """The answer of a batched request whose batch never ran because ``exc`` stopped it."""
    status = 429 if isinstance(exc, QuotaError) else 503
    return GraphResponse(status, {"error": {"code": "", "message": exc.message}})


def split_batches(items: Sequence[GraphRequest]) -> list[list[GraphRequest]]:
    """Group requests into ``dependsOn`` chains of at most 20 requests for one mailbox each
    (requests for no mailbox go in plain batches of 20), in the order given."""
    by_mailbox: dict[str, list[GraphRequest]] = {}
    for item in items:
        by_mailbox.setdefault(item.mailbox, []).append(item)
    return [
        group[first : first + MAX_BATCH]
        for group in by_mailbox.values()
        for first in range(0, len(group), MAX_BATCH)
    ]


def batch_body(chunk: Sequence[GraphRequest]) -> dict[str, Any]:
    """The JSON of one ``$batch``: each request for a mailbox depends on the one before it."""
    out = []
    for n, request in enumerate(chunk):
        item = request.as_json()
        if n and request.mailbox and request.mailbox == chunk[n - 1].mailbox:
            item["dependsOn"] = [chunk[n - 1].id]
        out.append(item)
    return {"requests": out}


def slots_of(chunk: Sequence[GraphRequest]) -> dict[str, int]:
    """How many of each mailbox's concurrent places a batch holds: one per chain."""
    return {r.mailbox: 1 for r in chunk if r.mailbox}


_USER_PATH = re.compile(r"/users/([^/?]+)")


def mailbox_in(path: str) -> str | None:
    """The mailbox a request's path names (``/users/<mailbox>/...``), lower-cased, if any."""
    found = _USER_PATH.match(urlsplit(path).path.removeprefix("/v1.0"))
    return unquote(found.group(1)).lower() if found else None


class MailboxGate:
    """At most ``limit`` requests in flight per mailbox, across every thread of this client.

    ``hold`` blocks until the places a request needs are free, so the limit is kept by
    waiting on our side, never by being refused on Graph's.
    """

    def __init__(self, limit: int = MAILBOX_CONCURRENCY) -> None:
        self.limit = limit
        self._busy: dict[str, int] = {}
        self._changed = threading.Condition()
        self.peak: dict[str, int] = {}

    @contextmanager
    def hold(self, places: Mapping[str, int]) -> Iterator[None]:
        with self._changed:
            while any(self._busy.get(m, 0) + n > self.limit for m, n in places.items()):
                self._changed.wait()
            for mailbox, n in places.items():
                self._busy[mailbox] = self._busy.get(mailbox, 0) + n
                self.peak[mailbox] = max(self.peak.get(mailbox, 0), self._busy[mailbox])
        try:
            yield
        finally:
            with self._changed:
                for mailbox, n in places.items():
                    self._busy[mailbox] -= n
                self._changed.notify_all()


def run_at_once(jobs: Sequence[Callable[[], Any]], width: int = MAILBOX_CONCURRENCY) -> list[Any]:
    """Run ``jobs`` on up to ``width`` threads; their results in order (the first error is
    raised once all have finished)."""
    if len(jobs) <= 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="rmcal-graph") as pool:
        futures = [pool.submit(job) for job in jobs]
        return [future.result() for future in futures]


class GraphHTTP:
    """A Graph client bound to one cloud and one token source."""

    def __init__(
        self,
        base_url: str,
        token: TokenFunc,
        *,
        timeout: float,
        verify: bool | str = True,
        backoff: Callable[[], Backoff],
        log: logging.Logger,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/v1.0"
        self._token = token
        self.timeout = timeout
        self.backoff = backoff
        self.log = log
        # Passed on every request: a session-level ``verify`` loses to REQUESTS_CA_BUNDLE
        # from the environment, which would silently ignore the configured ca_bundle.
        self.verify = verify
        self.session = without_resends(session or requests.Session())
        self.session.headers["User-Agent"] = "rmcal"
        self.gate = MailboxGate()

    def url(self, path: str) -> str:
        if path.startswith("https://") or path.startswith("http://"):
            return path
        return self.base_url + path

    def close(self) -> None:
        self.session.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        permission: str | None = None,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        allow: Sequence[int] = (),
        budget: Backoff | None = None,
    ) -> GraphResponse:
        """One request with retries; raises a mapped ProviderError unless the status is 2xx
        or listed in ``allow``.

        ``idempotent`` (default: GET only) says a dropped connection or a 5xx may simply be
        retried; for other requests those raise OutcomeUnknown, and only a connection that
        never opened, 429 and 503 are retried. ``budget`` is the operation's, when this call is
        one step of a longer one (a ``$batch`` run); else the call gets its own.
        """
        safe_to_repeat = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        budget = budget or self.backoff()
        while True:
            request_headers = {"Authorization": f"Bearer {self._token()}"}
            if headers:
                request_headers.update(headers)
            mailbox = mailbox_in(path)
            try:
                with self.gate.hold({mailbox: 1} if mailbox else {}):
                    reply = self.session.request(
                        method,
                        self.url(path),
                        params=params,
                        json=json_body,
                        data=data,
                        headers=request_headers,
                        timeout=self.timeout,
                        verify=self.verify,
                    )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not (safe_to_repeat or never_sent(exc)):
                    raise OutcomeUnknown(f"{method} {path}: {type(exc).__name__}") from exc
                if budget.wait(None):
                    continue
                raise ProviderError(
                    PROVIDER,
                    operation,
                    f"cannot reach Graph at {self.base_url}: {type(exc).__name__}",
                    remedy="check the network, proxy and 'graph_url'/'cloud' settings",
                    retryable=True,
                ) from exc
            body = _body(reply)
            status = reply.status_code
            if status >= 500 and status not in NOT_DONE_STATUSES and not safe_to_repeat:
                # A server error says nothing about whether the write behind it happened.
                raise OutcomeUnknown(f"{method} {path}: HTTP {status}")
            if status in NOT_DONE_STATUSES or (safe_to_repeat and status >= 500):
                retry_after = parse_retry_after(reply.headers.get("Retry-After"))
                self.log.debug(
                    "graph %s %s: HTTP %s, retry after %s",
                    method,
                    path,
                    reply.status_code,
                    retry_after,
                )
                if budget.wait(retry_after):
                    continue
            response = GraphResponse(reply.status_code, body, dict(reply.headers))
            if response.ok or reply.status_code in allow:
                return response
            raise map_error(reply.status_code, body, operation, permission)

    def pages(
        self,
        path: str,
        *,
        operation: str,
        permission: str | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        first: GraphResponse | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following ``@odata.nextLink`` to the end.

        ``first`` is an already fetched first page (e.g. from a batch).
        """
        page = first or self.call(
            "GET",
            path,
            operation=operation,
            permission=permission,
            params=params,
            headers=headers,
        )
        while True:
            body = page.body if isinstance(page.body, dict) else {}
            yield from body.get("value") or []
            next_link = body.get("@odata.nextLink")
            if not next_link:
                return
            # The link carries the query already; it is absolute in Graph's answers.
            page = self.call(
                "GET",
                urljoin(self.base_url + "/", next_link),
                operation=operation,
                permission=permission,
                headers=headers,
            )

    def batch(
        self,
        items: Sequence[GraphRequest],
        *,
        operation: str,
        permission: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> dict[str, GraphResponse]:
        """Run requests through ``$batch``; one response per request id.

        The requests go in ``dependsOn`` chains (``split_batches``), up to four at once within
        the mailbox's limit (``MailboxGate``). Inner answers that may be repeated
        (``retryable_status``) go again in new chains: at once after 424 (the request never
        ran because one before it failed), after the longest Retry-After for 429 and 503, all
        within one budget. When the budget is spent they are returned as they last came back.
        A batch whose answer never arrived marks its writes with status 0 (unknown).
        ``progress`` hears how many requests got their final answer, chain by chain.
        """
        results: dict[str, GraphResponse] = {}
        pending = list(items)
        budget = self.backoff()
        order = {r.id: n for n, r in enumerate(items)}
        deferred: list[GraphRequest] = []  # answered "slow down": they go after a wait
        waits: list[float] = []
        while pending or deferred:
            if not pending:
                if not budget.wait(max(waits) if waits else None):
                    break  # the deferred keep the refusal they last got
                pending, deferred, waits = deferred, [], []
            jobs = [
                functools.partial(
                    self._run_chain,
                    chunk,
                    operation=operation,
                    permission=permission,
                    budget=budget,
                    progress=progress,
                )
                for chunk in split_batches(sorted(pending, key=lambda r: order[r.id]))
            ]
            pending = []
            for settled, blocked, slowed, wait in run_at_once(jobs):
                results.update(settled)
                pending.extend(blocked)  # 424: never ran, nothing asks us to wait
                deferred.extend(slowed)
                waits.extend(wait)
        return results

    def _run_chain(
        self,
        chunk: list[GraphRequest],
        *,
        operation: str,
        permission: str | None,
        budget: Backoff,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[dict[str, GraphResponse], list[GraphRequest], list[GraphRequest], list[float]]:
        """One ``$batch``: the answers, the requests to send again at once (424: held up by a
        failed request before them), those to send after a wait (429, 503, a 5xx on a read)
        and the Retry-After waits asked for."""
        results: dict[str, GraphResponse] = {}
        by_id = {r.id: r for r in chunk}
        repeatable = all(r.method in IDEMPOTENT_METHODS for r in chunk)
        try:
            with self.gate.hold(slots_of(chunk)):
                outer = self.call(
                    "POST",
                    "/$batch",
                    operation=operation,
                    permission=permission,
                    json_body=batch_body(chunk),
                    idempotent=repeatable,
                    budget=budget,
                )
        except OutcomeUnknown as exc:
            self.log.info("graph %s: batch outcome unknown: %s", operation, exc)
            if progress:
                progress(len(chunk))
            return {r.id: GraphResponse(UNKNOWN) for r in chunk}, [], [], []
        except ProviderError as exc:
            if not exc.retryable:
                raise
            # Throttled or unreachable for the whole budget: none of this chunk ran. Its items
            # fail (as "not done") and the other chunks still get their turn.
            if progress:
                progress(len(chunk))
            return {r.id: not_done(exc) for r in chunk}, [], [], []
        blocked: list[GraphRequest] = []
        slowed: list[GraphRequest] = []
        waits: list[float] = []
        for answer in (outer.body or {}).get("responses") or []:
            rid = str(answer.get("id"))
            if rid not in by_id:
                continue
            request = by_id.pop(rid)
            response = GraphResponse(
                int(answer.get("status") or 0), answer.get("body"), answer.get("headers") or {}
            )
            if response.status == 424:
                blocked.append(request)
            elif retryable_status(response.status, request.method):
                slowed.append(request)
                wait = parse_retry_after(response.header("Retry-After"))
                if wait is not None:
                    waits.append(wait)
            results[rid] = response
        for request in by_id.values():  # no answer for it inside a 200 batch
            results[request.id] = GraphResponse(UNKNOWN)
        if progress:
            progress(len(chunk) - len(blocked) - len(slowed))
        return results, blocked, slowed, waits


def _body(reply: requests.Response) -> Any:
    if not reply.content:
        return None
    try:
        return reply.json()
    except (ValueError, json.JSONDecodeError):
        return {"error": {"code": "", "message": reply.text[:200]}}
