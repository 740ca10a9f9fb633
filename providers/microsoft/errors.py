"""What a Graph error response means for the person running rmcal.

Why apart from ``http.py``: that module decides *whether* to retry; this one decides what to
tell a person once rmcal gives up. Every error is mapped by its ``error.code`` (never its
message, which is not stable) to a ``ProviderError`` subclass with a remedy a person can act on,
and the same mapping serves whole responses and the responses inside a ``$batch``.
"""

from __future__ import annotations

from typing import Any

from rmcal.errors import AuthError, NotFound, PermissionDenied, ProviderError, QuotaError
from rmcal.provider import ItemFailure

from .settings import PROVIDER

NO_MAILBOX_CODES = frozenset(
    {
        "MailboxNotEnabledForRESTAPI",
        "MailboxNotSupportedForRESTAPI",
        "ResourceNotFound",
        "ErrorInvalidUser",
        "ErrorNonExistentMailbox",
        "Request_ResourceNotFound",
    }
)
ACCESS_CODES = frozenset(
    {"ErrorAccessDenied", "AccessDenied", "Authorization_RequestDenied", "ErrorSendAsDenied"}
)


def _error_parts(body: Any) -> tuple[str, str, str]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", "", ""
    inner = error.get("innerError") or error.get("innererror") or {}
    ids = ""
    if isinstance(inner, dict) and inner.get("request-id"):
        ids = f"request-id {inner.get('request-id')}, date {inner.get('date', '?')}"
    return str(error.get("code") or ""), str(error.get("message") or ""), ids


def map_error(
    status: int, body: Any, operation: str, permission: str | None = None
) -> ProviderError:
    """The ProviderError a user can act on for a Graph error response.

    ``permission`` names the Graph permission the operation needs, so that an access error can
    say which one to grant.
    """
    code, message, ids = _error_parts(body)
    detail = f"HTTP {status} {code or '(no code)'}: {message}" + (f" ({ids})" if ids else "")
    if code in ACCESS_CODES or (status == 403 and not code):
        needed = permission or "the Graph permission for this operation"
        return PermissionDenied(
            PROVIDER,
            operation,
            f"access denied ({code or 'HTTP 403'})",
            remedy=(
                f"grant the application permission {needed} to the app registration and "
                "give admin consent; if the app is limited to some mailboxes (RBAC for "
                "Applications or an application access policy), include the organizer mailbox "
                "in its scope (policy changes can take an hour to apply)"
            ),
            detail=detail,
        )
    if code in NO_MAILBOX_CODES:
        return NotFound(
            PROVIDER,
            operation,
            f"no usable Exchange Online mailbox ({code})",
            remedy=(
                "check the address; the user needs an Exchange Online licence and a cloud "
                "mailbox (on-premises and unlicensed mailboxes cannot be reached through Graph)"
            ),
            detail=detail,
        )
    if code == "ErrorItemNotFound" or (status == 404 and not code):
        return NotFound(
            PROVIDER,
            operation,
            "the event no longer exists in the organizer's calendar",
            remedy="it was deleted or cancelled in Outlook; re-run to re-create it if wanted",
            detail=detail,
        )
    if status == 401 or code in {"InvalidAuthenticationToken", "CompactToken parsing failed"}:
        return AuthError(
            PROVIDER,
            operation,
            f"Graph rejected the access token ({code or 'HTTP 401'})",
            remedy=(
                "check that 'cloud' (or graph_url/authority_host) matches the tenant's cloud; "
                "for device-code sign-in run 'rmcal auth login --provider microsoft' again"
            ),
            detail=detail,
        )
    if status == 429 or code in {"ApplicationThrottled", "TooManyRequests"}:
        return QuotaError(
            PROVIDER,
            operation,
            f"Graph kept throttling ({code or f'HTTP {status}'}) beyond rmcal's bounded wait",
            remedy="re-run later; what was done is kept and a re-run finishes the rest",
            retryable=True,
            detail=detail,
        )
    if code in {"TimeZoneNotSupportedException", "ErrorPropertyValidationFailure"}:
        return ProviderError(
            PROVIDER,
            operation,
            f"Outlook rejected a value of the event ({code})",
            remedy=(
                "usually a time zone Outlook does not accept; choose a neighbouring zone, and "
                "make sure the organizer mailbox has a time zone set in Outlook settings"
            ),
            detail=detail,
        )
    if code == "ErrorOccurrenceCrossingBoundary":
        return ProviderError(
            PROVIDER,
            operation,
            "an occurrence cannot move onto or past the day of its neighbour",
            remedy="move that occurrence in Outlook first, or pick a slot that keeps the order",
            detail=detail,
        )
    if code == "ErrorInvalidIdMalformed":
        return ProviderError(
            PROVIDER,
            operation,
            "Graph did not recognise an event id",
            remedy="the stored id belongs to another mailbox or was truncated; re-run 'rmcal "
            "schedule' so the series is found again by its tag",
            detail=detail,
        )
    if code == "ErrorMimeContentInvalidBase64String":
        return ProviderError(
            PROVIDER, operation, "Graph could not decode the message", detail=detail
        )
    if code in {"ErrorQuotaExceeded", "ErrorMessageSizeExceeded"}:
        return ProviderError(
            PROVIDER,
            operation,
            f"the organizer mailbox refused it ({code})",
            remedy="free space in the organizer mailbox or shorten the message",
            detail=detail,
        )
    if status >= 500:
        return ProviderError(
            PROVIDER,
            operation,
            f"Graph failed or stayed unavailable (HTTP {status} {code})".replace(" )", ")"),
            remedy="a transient service fault; re-run later (what was done is kept)",
            retryable=True,
            detail=detail,
        )
    return ProviderError(
        PROVIDER,
        operation,
        f"Graph refused the request: {code or f'HTTP {status}'}: {message}",
        detail=detail,
    )


def item_failure(status: int, body: Any, operation: str, permission: str) -> ItemFailure:
    """One refused item of a batched write, as the result the core records for that item.

    Auth and permission errors concern every item alike, so they fail the whole call (raised)
    rather than being repeated once per pair.
    """
    error = map_error(status, body, operation, permission)
    if isinstance(error, AuthError | PermissionDenied):
        raise error
    return ItemFailure(error.one_line(), retryable=error.retryable)
