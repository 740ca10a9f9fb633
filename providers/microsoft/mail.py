"""Sending rmcal's mail from the organizer mailbox with Graph's ``sendMail``, in MIME form.

Why MIME and not JSON: the JSON message has one body (HTML or text), so the plain-text
alternative the core renders would be lost, and its ``internetMessageHeaders`` accept only
``x-``-prefixed names. The MIME form (base64 of the whole RFC 5322 message,
``Content-Type: text/plain``) keeps the multipart/alternative text+HTML bodies and the
``X-Rmcal-Key`` header exactly as rendered, and Graph still saves it to Sent Items.

Messages go one request at a time rather than through ``$batch``: a batch carries a body as JSON
or base64url, and whether a text/plain MIME body survives that is not documented; mail volume is
small and the Exchange send rate is the real limit.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP

from rmcal.errors import AuthError, PermissionDenied, ProviderError
from rmcal.provider import MAIL_KEY_HEADER, ItemFailure, Progress

from .auth import PERM_MAIL
from .http import GraphHTTP, OutcomeUnknown


def send_mime(
    http: GraphHTTP,
    *,
    user_path: str,
    messages: Sequence[EmailMessage],
    progress: Progress | None = None,
) -> dict[str, ItemFailure | None]:
    """Send each message as ``user_path`` (``/users/<organizer>``); None for each one sent.

    A send whose answer never came is not retried (it may have gone out); auth and permission
    refusals concern every message alike and stop the whole send.
    """
    results: dict[str, ItemFailure | None] = {}
    for n, message in enumerate(messages):
        key = str(message.get(MAIL_KEY_HEADER) or f"<message {n} without {MAIL_KEY_HEADER}>")
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
