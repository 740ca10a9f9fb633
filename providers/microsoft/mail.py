"""Sending rmcal's mail from the organizer mailbox with Graph's ``sendMail``, in MIME form, and
finding sent messages again by their Message-ID.

Why MIME and not JSON: the JSON message has one body (HTML or text), so the plain-text
alternative the core renders would be lost, and its ``internetMessageHeaders`` accept only
``x-``-prefixed names. The MIME form (base64 of the whole RFC 5322 message,
``Content-Type: text/plain``) keeps the multipart/alternative text+HTML bodies, the
``X-Rmcal-Key`` header and rmcal's own ``Message-ID`` exactly as rendered, and Graph saves it to
Sent Items (``saveToSentItems`` defaults to true and cannot be set in the MIME form).

Messages go one request at a time rather than through ``$batch``: a batch carries a body as JSON
or base64url, and whether a text/plain MIME body survives that is not documented; mail volume is
small and the Exchange send rate is the real limit.

A send is repeated only when Graph provably did not act (``http.GraphHTTP.call``); an answer
that never came makes the message *uncertain*. ``find_sent`` settles those where the admin
switched ``sent_items_lookup`` on: ``GET /users/{id}/messages?$filter=internetMessageId eq
'<...>'`` searches the whole mailbox (Sent Items, and Deleted Items should someone have tidied
up), with ``Mail.ReadBasic.All`` (application) or ``Mail.ReadBasic`` (delegated), which read no
message bodies.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP

from rmcal.errors import AuthError, PermissionDenied, ProviderError
from rmcal.provider import MAIL_KEY_HEADER, ItemFailure, Progress, mail_key

from ..sendrun import SendRun
from .auth import PERM_MAIL, PERM_MAIL_READ
from .http import GraphHTTP, OutcomeUnknown, odata_string

UNCERTAIN = (
    "Graph gave no answer to the send (the connection dropped, timed out or the service "
    "failed): it may have gone out, so it is not sent again"
)


def send_mime(
    http: GraphHTTP,
    *,
    user_path: str,
    messages: Sequence[EmailMessage],
    progress: Progress | None = None,
    run: SendRun | None = None,
) -> dict[str, ItemFailure | None]:
    """Send each message as ``user_path`` (``/users/<organizer>``); None for each one sent.

    A send whose answer never came is uncertain and not retried. When Graph keeps refusing
    (throttled, unreachable) past the retry budget, the rest of the run's messages are left
    unsent for the next run (``run`` carries that from one call to the next). Auth and
    permission refusals concern every message alike: they stop the whole call, raised as long
    as nothing of the run has gone out yet (the outbox then records the message failed).
    """
    run = run or SendRun()
    results: dict[str, ItemFailure | None] = {}
    for n, message in enumerate(messages):
        key = mail_key(message) or f"<message {n} without {MAIL_KEY_HEADER}>"
        results[key] = run.stop or _send_one(http, user_path, message, run)
        if progress:
            progress(1)
    return results


def _send_one(
    http: GraphHTTP, user_path: str, message: EmailMessage, run: SendRun
) -> ItemFailure | None:
    """Send one message: None when Graph took it, else what became of it."""
    payload = base64.b64encode(message.as_bytes(policy=SMTP))
    try:
        http.call(
            "POST",
            f"{user_path}/sendMail",
            operation="send mail",
            permission=PERM_MAIL,
            data=payload,
            headers={"Content-Type": "text/plain"},
        )
    except OutcomeUnknown:
        run.went_out = True
        return ItemFailure(UNCERTAIN, retryable=False, uncertain=True)
    except (AuthError, PermissionDenied) as exc:
        return run.refused(exc)
    except ProviderError as exc:
        # Refused; when retryable, only after the whole retry budget was spent on it, so
        # neither this run nor the rest of its messages should try again (the next run will).
        if exc.retryable:
            return run.spent(exc)
        return ItemFailure(exc.one_line(), retryable=False)
    run.went_out = True
    return None


def find_sent(http: GraphHTTP, *, user_path: str, message_ids: Sequence[str]) -> dict[str, bool]:
    """Whether the organizer's mailbox holds a message with each Message-ID."""
    found: dict[str, bool] = {}
    for message_id in dict.fromkeys(message_ids):
        reply = http.call(
            "GET",
            f"{user_path}/messages",
            operation="look up sent mail",
            permission=PERM_MAIL_READ,
            params={
                "$filter": f"internetMessageId eq {odata_string(message_id)}",
                "$select": "id,internetMessageId",
                "$top": "1",
            },
        )
        found[message_id] = bool((reply.body or {}).get("value"))
    return found


def read_one_message(http: GraphHTTP, *, user_path: str) -> object:
    """The harmless read ``rmcal auth check`` probes the lookup's permission with."""
    return http.call(
        "GET",
        f"{user_path}/messages",
        operation="read sent mail",
        permission=PERM_MAIL_READ,
        params={"$select": "id", "$top": "1"},
    )
