"""Sending mail through Gmail (``users.messages.send`` as the organizer, ``me``), and finding a
sent message again by its Message-ID.

Why apart from the calendar: a send is the one call that must never be repeated blindly. It
goes one message at a time under its own pacing (Gmail's per-user quota is counted in units,
not calls), over a transport that never re-sends by itself (``sendhttp``), and is repeated only
when Google provably did not act: throttling, 503, or a connection that never opened
(``outcome.never_sent``). Any other failure after the request went out - a dropped connection,
a timeout, another 5xx - makes the message *uncertain* for the mail ledger to settle.

``find_sent`` settles those where the admin switched ``sent_items_lookup`` on:
``users.messages.list(q="rfc822msgid:<id>", includeSpamTrash=True)`` searches the whole mailbox,
trash included (a sent copy someone deleted still proves the send). The ``q`` parameter needs
``gmail.readonly``: the discovery document says it cannot be used with ``gmail.metadata``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from googleapiclient.errors import HttpError

from rmcal.errors import AuthError, PermissionDenied, ProviderError
from rmcal.provider import MAIL_KEY_HEADER, ItemFailure, Progress, mail_key

from ..outcome import never_sent
from ..sendrun import SendRun
from .batch import NETWORK_ERRORS, explain, status_of
from .client import GoogleClient

GMAIL_MAX_RAW = 36_700_160  # users.messages.send maximum message size

SendResults = dict[str, ItemFailure | None]


def send(
    client: GoogleClient,
    messages: Sequence[EmailMessage],
    progress: Progress | None = None,
    run: SendRun | None = None,
) -> SendResults:
    """Send each message from the organizer's mailbox, keyed by its ``X-Rmcal-Key``.

    Once Google keeps refusing (throttling, unreachable) past the retry budget, the rest of the
    run's messages are left unsent for the next run (``run`` carries that from one call to the
    next). Auth and scope refusals stop the whole call, raised as long as nothing of the run
    has gone out yet.
    """
    run = run or SendRun()
    results: SendResults = {}
    gmail = client.service("gmail")
    for index, message in enumerate(messages):
        key = mail_key(message) or f"#{index}"
        results[key] = run.stop or _send_one(client, gmail, message=message, run=run)
        if progress:
            progress(1)
    return results


def _uncertain(what: str) -> ItemFailure:
    return ItemFailure(
        f"{what}: the message may or may not have been sent, so it is not sent again",
        retryable=False,
        uncertain=True,
    )


def _send_one(
    client: GoogleClient, gmail: Any, *, message: EmailMessage, run: SendRun
) -> ItemFailure | None:
    """Send one message: None when Gmail took it, else what became of it."""
    if mail_key(message) is None:
        return ItemFailure(f"message has no {MAIL_KEY_HEADER} header", False)
    data = message.as_bytes()
    if len(data) > GMAIL_MAX_RAW:
        return ItemFailure("message is larger than Gmail accepts (35 MB)", False)
    raw = base64.urlsafe_b64encode(data).decode("ascii")
    request = gmail.users().messages().send(userId="me", body={"raw": raw})
    try:
        client.mail_calls.execute_once(request, "send mail", http=client.mail_http())
    except HttpError as exc:
        status = status_of(exc)
        if status >= 500:
            run.went_out = True
            return _uncertain(f"Gmail answered {status}")
        if status in (401, 403):
            return run.refused(explain(exc, "send mail", client.ctx))
        return ItemFailure(f"Gmail refused it: {exc.reason}", False)
    except (AuthError, PermissionDenied) as exc:
        return run.refused(exc)
    except ProviderError as exc:
        if not exc.retryable:
            return run.refused(exc)
        # Throttled, or unreachable before anything was sent, for the whole budget: the rest
        # would fare the same, and the next run (not this one) tries again.
        return run.spent(exc)
    except NETWORK_ERRORS as exc:
        if never_sent(exc):  # cannot happen after execute_once's retries, kept for safety
            run.stop = ItemFailure(f"not sent: cannot reach Google ({type(exc).__name__})", False)
            return run.stop
        run.went_out = True
        return _uncertain(f"the connection failed during the send ({type(exc).__name__})")
    run.went_out = True
    return None


def find_sent(client: GoogleClient, message_ids: Sequence[str]) -> dict[str, bool]:
    """Whether the organizer's mailbox (trash included) holds each Message-ID."""
    messages = client.service("gmail").users().messages()
    found: dict[str, bool] = {}
    for message_id in dict.fromkeys(message_ids):
        request = messages.list(
            userId="me",
            q=f"rfc822msgid:{message_id.strip().strip('<>')}",
            includeSpamTrash=True,
            maxResults=1,
        )
        answer = client.mail_calls.execute(request, "look up sent mail")
        found[message_id] = bool(answer.get("messages"))
    return found
