"""Sending mail through Gmail (``users.messages.send`` as the organizer, ``me``).

Why apart from the calendar: a send is the one call that must never be repeated blindly. It
goes one message at a time under its own pacing (Gmail's per-user quota is counted in units,
not calls), is retried only when Google says it did not act (throttling, 503), and any outcome
that may or may not have reached Gmail is reported as such for the mail ledger to resolve.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

import google.auth.exceptions
import httplib2
from googleapiclient.errors import HttpError

from rmcal.errors import ProviderError
from rmcal.provider import MAIL_KEY_HEADER, ItemFailure, Progress

from .batch import explain, status_of
from .client import GoogleClient

GMAIL_MAX_RAW = 36_700_160  # users.messages.send maximum message size

SendResults = dict[str, ItemFailure | None]


def send(
    client: GoogleClient, messages: Sequence[EmailMessage], progress: Progress | None = None
) -> SendResults:
    """Send each message from the organizer's mailbox, keyed by its ``X-Rmcal-Key``.

    Messages go one by one and are never re-sent after a dropped connection: the outcome
    is then unknown and the mail ledger, not a blind retry, must decide. Once Google keeps
    throttling past the retry budget, the rest are left unsent for the next run.
    """
    results: SendResults = {}
    gmail = client.service("gmail")
    stop: ItemFailure | None = None
    for index, message in enumerate(messages):
        key = str(message.get(MAIL_KEY_HEADER) or f"#{index}")
        stop = _send_one(client, gmail, key=key, message=message, results=results, stop=stop)
        if progress:
            progress(1)
    return results


def _send_one(
    client: GoogleClient,
    gmail: Any,
    *,
    key: str,
    message: EmailMessage,
    results: SendResults,
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
        client.mail_calls.execute_once(request, "send mail")
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
            raise explain(exc, "send mail", client.ctx) from None
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
