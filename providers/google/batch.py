"""Every Google request goes through here: pacing, batching, retries and error translation.

Why one place: google-api-python-client retries nothing inside a batch except 401s, and its
``num_retries`` sleeps with the real clock; rmcal needs both single calls and batch items to wait
out ``rateLimitExceeded``/``userRateLimitExceeded``/429/5xx with the shared ``Backoff`` (capped,
jittered, bounded, injectable sleep), to stay under the per-user quota instead of hitting it, and
to turn what finally fails into a message naming the fix. Reasons are read from the machine part
of the error body (``HttpError.error_details``), never from ``HttpError.reason``, which is prose.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import google.auth.exceptions
import httplib2
from googleapiclient.errors import BatchError, HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from rmcal.errors import (
    AuthError,
    NotFound,
    PermissionDenied,
    ProviderError,
    QuotaError,
)
from rmcal.intervals import chunks
from rmcal.provider import ItemFailure, Progress

from ..backoff import Backoff, parse_retry_after
from ..outcome import never_sent
from .settings import PROVIDER

# 403 reasons Google documents as "slow down" (usageLimits domain); 429 needs no reason.
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
# Usage limits that backing off for minutes will not lift.
HARD_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
SCOPE_REASONS = frozenset(
    {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "insufficientScopes"}
)
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    httplib2.HttpLib2Error,
    OSError,  # ConnectionError, socket.timeout, ssl.SSLError
    google.auth.exceptions.TransportError,
)


def reasons(error: HttpError) -> list[str]:
    """Machine reasons of an error response, first one first.

    ``error_details`` is the ``errors`` list of a Calendar/Gmail error (or its ``details`` list
    when present, which then hides ``errors``; both are read so neither is missed).
    """
    found: list[str] = []
    details = error.error_details
    if isinstance(details, list):
        found += [str(d["reason"]) for d in details if isinstance(d, dict) and d.get("reason")]
    try:
        body = json.loads(error.content.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return found
    inner = body.get("error") if isinstance(body, dict) else None
    if isinstance(inner, dict):
        for item in inner.get("errors") or []:
            if isinstance(item, dict) and item.get("reason") and item["reason"] not in found:
                found.append(str(item["reason"]))
        status = inner.get("status")
        if isinstance(status, str) and status not in found:
            found.append(status)
    return found


def status_of(error: HttpError) -> int:
    return int(error.resp.status)


def is_rate_limited(error: HttpError) -> bool:
    """429, or a 403 whose machine reason says "slow down"."""
    status = status_of(error)
    if status == 429:
        return True
    return status == 403 and any(r in RATE_REASONS for r in reasons(error))


def is_retryable(error: HttpError) -> bool:
    """Worth another try after waiting: throttling or a server-side failure."""
    return is_rate_limited(error) or status_of(error) >= 500


def not_acted_on(error: HttpError) -> bool:
    """Throttled or 503: Google refused before acting, so even a mail send may be repeated."""
    return is_rate_limited(error) or status_of(error) == 503


def retry_after(error: HttpError) -> float | None:
    return parse_retry_after(error.resp.get("retry-after"))


@dataclass(frozen=True)
class ErrorContext:
    """What an error message needs to name the fix (no secrets)."""

    calendar_id: str
    subject: str
    scopes: str  # comma-separated full scope list, as the Admin console wants it
    client_id: str = ""


def explain(error: HttpError, operation: str, ctx: ErrorContext) -> ProviderError:
    """A whole-call failure as one actionable ProviderError."""
    status = status_of(error)
    found = reasons(error)
    message = error.reason or f"HTTP {status}"
    detail = f"HTTP {status} {','.join(found)} {error.uri or ''}".strip()
    if status == 401:
        return AuthError(
            PROVIDER,
            operation,
            f"Google rejected the access token ({message})",
            remedy="run `rmcal auth check`; for a service account check its key and the "
            "domain-wide delegation entry",
            detail=detail,
        )
    if is_rate_limited(error):
        return QuotaError(
            PROVIDER,
            operation,
            f"still throttled after waiting ({','.join(found) or status})",
            remedy="re-run later, or lower provider.requests_per_minute; quotas are per user "
            "and per project in the Cloud console (APIs & Services > Quotas)",
            retryable=True,
            detail=detail,
        )
    if any(r in HARD_QUOTA_REASONS for r in found):
        return QuotaError(
            PROVIDER,
            operation,
            f"a Google usage limit was reached ({message})",
            remedy="wait for the limit to reset (see the quota pages linked in docs/google.md)",
            retryable=True,
            detail=detail,
        )
    if status == 403 and any(r in SCOPE_REASONS for r in found):
        return PermissionDenied(
            PROVIDER,
            operation,
            "the access token lacks a scope this call needs",
            remedy=f"authorise these scopes for the service account / OAuth client: {ctx.scopes}",
            detail=detail,
        )
    if status == 403 and "forbiddenForNonOrganizer" in found:
        return PermissionDenied(
            PROVIDER,
            operation,
            f"{ctx.subject} is not the organizer of the event",
            remedy="set provider.subject to the mailbox that organised the series",
            detail=detail,
        )
    if status == 403:
        return PermissionDenied(
            PROVIDER,
            operation,
            f"{ctx.subject} may not do this on calendar {ctx.calendar_id!r} ({message})",
            remedy=f"give {ctx.subject} 'Make changes to events' on that calendar, or use "
            "calendar_id: primary",
            detail=detail,
        )
    if status == 404:
        return NotFound(
            PROVIDER,
            operation,
            f"not found: {message} (calendar {ctx.calendar_id!r} as {ctx.subject})",
            remedy="check provider.calendar_id and provider.subject",
            detail=detail,
        )
    if status >= 500:
        return ProviderError(
            PROVIDER,
            operation,
            f"Google kept failing ({status} {message})",
            remedy="re-run later; nothing is duplicated by a re-run",
            retryable=True,
            detail=detail,
        )
    return ProviderError(PROVIDER, operation, f"{message} (HTTP {status})", detail=detail)


def item_failure(error: HttpError, ctx: ErrorContext) -> ItemFailure:
    """One batch item's failure, worded for the list of things left undone."""
    status = status_of(error)
    found = reasons(error)
    message = error.reason or f"HTTP {status}"
    if status == 403 and "forbiddenForNonOrganizer" in found:
        return ItemFailure(
            f"{ctx.subject} is no longer the organizer of this event; only the organizer can "
            "change it",
            retryable=False,
        )
    if status in (404, 410):
        return ItemFailure(
            "the event no longer exists in the calendar (deleted there); re-run `rmcal "
            "schedule` to re-create the pair's series",
            retryable=False,
        )
    if is_retryable(error):
        return ItemFailure(f"Google kept refusing ({status} {message}); re-run later")
    if status in (401, 403):
        # Credentials, scopes or calendar permissions: every other item fails the same way.
        raise explain(error, "batch", ctx)
    return ItemFailure(f"Google rejected the request: {message} (HTTP {status})", retryable=False)


class Pacer:
    """Keeps this run's calls within ``per_minute`` in every sliding minute, as Google counts.

    Why a log of the last minute's calls and not a steady pace: the quota is a count per
    minute, not a rate. A token bucket that never breaks it must refill at
    ``(per_minute - burst) / 60`` a second, so 1,100 calls took two minutes where the quota
    allows one wait: the first minute's quota at once, the rest as the calls a quota before
    them turn a minute old. Each call is logged when it is allowed; a call that would make
    the window hold more than ``per_minute`` sleeps until the oldest one in the way has left it.
    ``margin`` seconds are added to the minute, because Google counts a call when it arrives
    and two requests can arrive in another order or spacing than they left.

    An earlier rmcal run's calls of the last minute are counted too (``quota``, through the
    state file); what other programs spend of the same user's quota is not known here: Google
    then answers 403 ``rateLimitExceeded``, did not act on the call, and ``Calls`` waits and
    sends it again.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        margin: float = 1.0,
    ) -> None:
        self.limit = max(1, per_minute)
        self.span = 60.0 + margin
        self._log: deque[float] = deque()
        self._clock = clock
        self._sleep = sleep
        self.waited = 0.0

    def acquire(self, n: int = 1) -> None:
        """Take ``n`` calls (each call of a batch counts), sleeping first if the minute is full.

        More than a minute's quota (a batch of 50 under a quota of 20) is taken a quota at a
        time, a minute apart, so a low ``per_minute`` still counts every call of a batch.
        """
        while n > self.limit:
            self._take(self.limit)
            n -= self.limit
        self._take(n)

    def _take(self, n: int) -> None:
        now = self._forget(self._clock())
        over = len(self._log) + n - self.limit
        if over > 0:
            # The ``over``-th oldest call must leave the window before these ``n`` fit.
            delay = self._log[over - 1] + self.span - now
            if delay > 0:
                self._sleep(delay)
                self.waited += delay
            now = self._forget(max(self._clock(), self._log[over - 1] + self.span))
        self._log.extend([now] * n)

    def recent(self) -> list[list[float]]:
        """This run's calls still inside the (widened) minute: ``[seconds ago, count]`` runs,
        oldest first, for the next run to ``remember`` (a batch's calls share one moment)."""
        now = self._forget(self._clock())
        runs: list[list[float]] = []
        for stamp in self._log:
            ago = round(now - stamp, 3)
            if runs and runs[-1][0] == ago:
                runs[-1][1] += 1
            else:
                runs.append([ago, 1])
        return runs

    def remember(self, runs: list[list[float]], elapsed: float) -> None:
        """Count the calls an earlier run made (``recent``'s answer, saved ``elapsed`` seconds
        ago) against this run's minute: a tick started seconds after a 1,000-pair schedule met
        234 ``rateLimitExceeded`` answers when each run knew only its own calls."""
        now = self._clock()
        earlier = [
            stamp
            for ago, count in runs
            if (stamp := now - elapsed - float(ago)) > now - self.span
            for _ in range(int(count))
        ]
        if earlier:
            self._log = deque(sorted([*earlier, *self._log]))

    def _forget(self, now: float) -> float:
        """Drop the calls that are more than the (widened) minute old; returns ``now``."""
        while self._log and self._log[0] <= now - self.span:
            self._log.popleft()
        return now


class Calls:
    """Runs requests built by googleapiclient, singly or in batches, with pacing and retries."""

    def __init__(
        self,
        *,
        batch_uri: str,
        batch_size: int,
        pacer: Pacer,
        backoff: Callable[[], Backoff],
        ctx: ErrorContext,
        on_refresh_error: Callable[[google.auth.exceptions.RefreshError, str], ProviderError],
        before_batch: Callable[[], None] | None = None,
        quiet_http: Callable[[], Any] | None = None,
    ) -> None:
        self.before_batch = before_batch
        # The transport for batches that must never be re-sent behind rmcal's back (those
        # holding a notifying request): httplib2 re-sends a request once when the connection
        # drops before the answer (see ``sendhttp``).
        self.quiet_http = quiet_http
        self.batch_uri = batch_uri
        self.batch_size = batch_size
        self.pacer = pacer
        self.backoff = backoff
        self.ctx = ctx
        self.on_refresh_error = on_refresh_error
        self.batches_sent = 0

    def execute(
        self, request: HttpRequest, operation: str, *, raw_statuses: tuple[int, ...] = ()
    ) -> Any:
        """One call; throttling, 5xx and dropped connections are retried within the budget.

        Only for calls that are safe to repeat (reads, writes keyed by a client-chosen id).
        An ``HttpError`` whose status is in ``raw_statuses`` is re-raised untranslated, for
        callers that handle it (410 on an expired sync token).
        """
        return self._call(
            request,
            operation,
            untranslated=lambda exc: status_of(exc) in raw_statuses,
            repeat=is_retryable,
            network_retries=True,
        )

    def execute_once(self, request: HttpRequest, operation: str, *, http: Any = None) -> Any:
        """One call that must not be repeated blindly (a mail send), over ``http`` if given.

        Throttling and 503 answers are still waited out, because Google did not act on them,
        and so is a connection that never opened (``outcome.never_sent``); any other
        ``HttpError`` and any other connection failure reach the caller untranslated.
        """
        return self._call(
            request,
            operation,
            untranslated=lambda exc: not not_acted_on(exc),
            repeat=not_acted_on,
            network_retries=False,
            http=http,
        )

    def _call(
        self,
        request: HttpRequest,
        operation: str,
        *,
        untranslated: Callable[[HttpError], bool],
        repeat: Callable[[HttpError], bool],
        network_retries: bool,
        http: Any = None,
    ) -> Any:
        """The paced retry loop of ``execute`` and ``execute_once``: they differ only in which
        failures they repeat and which they hand back as they are."""
        budget = self.backoff()
        while True:
            self.pacer.acquire(1)
            try:
                return request.execute(http=http)
            except HttpError as exc:
                if untranslated(exc):
                    raise
                if not repeat(exc) or not budget.wait(retry_after(exc)):
                    raise explain(exc, operation, self.ctx) from None
            except google.auth.exceptions.RefreshError as exc:
                raise self.on_refresh_error(exc, operation) from None
            except NETWORK_ERRORS as exc:
                if not (network_retries or never_sent(exc)):
                    raise
                if not transient(exc) or not budget.wait():
                    raise network_error(exc, operation) from None

    def execute_many(
        self,
        requests: Mapping[str, HttpRequest],
        operation: str,
        progress: Progress | None = None,
    ) -> dict[str, Any | HttpError]:
        """Run many calls in batches of ``batch_size``; each key maps to its response or error.

        Items that come back throttled or 5xx are re-sent (in new batches) after a backoff
        wait, all within one time budget. When it is spent, each item still refused is
        returned with its last error (so it fails and the rest complete); only when Google
        could not be reached at all is a ``ProviderError`` raised. Other errors are returned
        for the caller to judge.

        A patch is re-sent only when Google provably did not act on it (throttled, 503, a
        connection that never opened): each patch carried out mails the attendees an update
        (``sendUpdates=all``), so one whose outcome is unknown is returned as it came back (a
        5xx) or as an ``ItemFailure`` (no answer), for the next run to read the series and
        patch only what still differs.
        """
        results: dict[str, Any | HttpError] = {}
        pending = list(requests)
        budget = self.backoff()
        while pending:
            again: list[str] = []
            hint: float | None = None
            refused: dict[str, HttpError] = {}
            unreachable: BaseException | None = None
            for chunk in chunks(pending, self.batch_size):
                answers = self._send_batch(chunk, requests, operation)
                if isinstance(answers, BaseException):
                    for key in chunk:
                        if _unknown(answers, requests[key]):
                            results[key] = _no_answer(answers, operation)
                        else:
                            again.append(key)
                    if isinstance(answers, HttpError):
                        hint = _max(hint, retry_after(answers))
                        refused.update(dict.fromkeys(chunk, answers))
                    else:
                        unreachable = answers
                    continue
                done = 0
                for key in chunk:
                    answer = answers[key]
                    if (
                        isinstance(answer, HttpError)
                        and is_retryable(answer)
                        and not _unknown(answer, requests[key])
                    ):
                        again.append(key)
                        hint = _max(hint, retry_after(answer))
                        refused[key] = answer
                    else:
                        results[key] = answer
                        done += 1
                if progress and done:
                    progress(done)
            pending = again
            if pending and not budget.wait(hint):
                if unreachable is not None:
                    raise network_error(unreachable, operation)
                results.update({key: refused[key] for key in pending})
                break
        return results

    def _send_batch(
        self, chunk: list[str], requests: Mapping[str, HttpRequest], operation: str
    ) -> dict[str, Any | HttpError] | BaseException:
        """One batch request; the outcome per key, or the error that sank the whole batch."""
        answers: dict[str, Any | HttpError] = {}

        def collect(request_id: str, response: Any, exception: HttpError | None) -> None:
            answers[chunk[int(request_id)]] = exception if exception is not None else response

        batch = BatchHttpRequest(callback=collect, batch_uri=self.batch_uri)
        for index, key in enumerate(chunk):
            batch.add(requests[key], request_id=str(index))
        self.pacer.acquire(len(chunk))
        self.batches_sent += 1
        notifying = any(requests[key].method in NOTIFYING_METHODS for key in chunk)
        try:
            if self.before_batch is not None:
                self.before_batch()
            if notifying and self.quiet_http is not None:
                batch.execute(http=self.quiet_http())
            else:
                batch.execute()
        except BatchError as exc:  # an HttpError too: caught first, it has no error details
            raise ProviderError(
                PROVIDER,
                operation,
                f"the batch endpoint answered in an unexpected format ({exc})",
                remedy="check provider.batch_uri",
            ) from None
        except HttpError as exc:
            if is_retryable(exc):
                return exc
            raise explain(exc, operation, self.ctx) from None
        except google.auth.exceptions.RefreshError as exc:
            raise self.on_refresh_error(exc, operation) from None
        except NETWORK_ERRORS as exc:
            if not transient(exc):
                raise network_error(exc, operation) from None
            # Inserts are safe to re-send (client-chosen ids); ``execute_many`` keeps patches.
            return exc
        missing = [key for key in chunk if key not in answers]
        if missing:
            raise ProviderError(
                PROVIDER, operation, f"the batch response lacked {len(missing)} of its parts"
            )
        return answers


# Requests Google answers by mailing the attendees each time it carries them out (patches
# with sendUpdates=all); a repeated insert answers 409 and a repeated delete 410, silently.
NOTIFYING_METHODS = frozenset({"PATCH"})


def _unknown(failure: BaseException, request: HttpRequest) -> bool:
    """A notifying request that failed so that Google may have carried it out: not repeated.

    Found by the crash harness under faults (tests/crash/): a batch of patches whose answer
    was lost was sent again, and the pair got a second "Updated" invitation.
    """
    if request.method not in NOTIFYING_METHODS:
        return False
    if isinstance(failure, HttpError):
        return not not_acted_on(failure)
    return not never_sent(failure)


def _no_answer(failure: BaseException, operation: str) -> Any:
    if isinstance(failure, HttpError):
        return failure
    return ItemFailure(
        f"{operation}: no answer from Google ({type(failure).__name__}); it may have been "
        "carried out, so it is not sent again: the next run reads the series and changes only "
        "what still differs",
        retryable=False,
    )


def transient(exc: BaseException) -> bool:
    """A connection failure that waiting may cure (an untrusted certificate never will).

    A certificate for another host is an ``ssl.SSLCertVerificationError`` too: httplib2 leaves
    hostname checking to the ``ssl`` module (its own ``CertificateHostnameMismatch`` is gone).
    """
    return not isinstance(exc, ssl.SSLCertVerificationError)


def network_error(exc: BaseException | None, operation: str) -> ProviderError:
    """A connection-level failure that outlasted the retry budget."""
    kind = type(exc).__name__ if exc is not None else "error"
    hint = "check the network, proxy and provider.ca_bundle"
    if isinstance(exc, ssl.SSLError):
        hint = "the TLS certificate was not trusted; set provider.ca_bundle for a proxy CA"
    elif isinstance(exc, socket.timeout | TimeoutError):
        hint = "raise provider.timeout or check the network"
    return ProviderError(
        PROVIDER,
        operation,
        f"could not reach Google ({kind}: {exc})",
        remedy=hint,
        retryable=True,
    )


def _max(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
