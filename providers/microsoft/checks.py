"""``rmcal auth check`` for Microsoft 365: the token, then each permission rmcal needs.

Why a module of its own: the rows are what an admin reads while setting up the app
registration, so each one must say which permission is missing and where to grant it, in the
words of the Entra admin center. That wording, and which permission each probe stands for, is
policy that reads best in one place, apart from the calls it probes.

A permission is judged two ways: by a harmless real call (reading the organizer's calendar,
asking free/busy for one hour) and by the token's own claims (``roles`` or ``scp``), so that a
missing ``Mail.Send`` shows up without sending a mail to find out.
"""

from __future__ import annotations

from collections.abc import Callable

from rmcal.errors import AuthError, PermissionDenied, ProviderError
from rmcal.provider import Check

from .auth import (
    MAIL_READ_PERMS,
    PERM_ATTENDANCE,
    PERM_MAIL,
    PERM_MAIL_READ,
    PERM_MAIL_READ_DELEGATED,
    PERM_MEETINGS,
    PERM_MEETINGS_DELEGATED,
    PERM_READ,
    PERM_WRITE,
    TokenSource,
    granted_permissions,
)
from .settings import MicrosoftSettings

GRANT_HINT = (
    "Entra admin center > App registrations > the app > API permissions > add Microsoft "
    "Graph {kind} permission {perm}, then 'Grant admin consent'"
)
POLICY_HINT = (
    "; app-only also needs a Teams application access policy granted to the organizer "
    "(New-CsApplicationAccessPolicy / Grant-CsApplicationAccessPolicy)"
)
Probe = Callable[[], object]


def auth_checks(
    *,
    settings: MicrosoftSettings,
    tokens: TokenSource,
    organizer: str,
    read_calendar: Probe,
    read_busy: Probe,
) -> list[Check]:
    """One row per thing rmcal needs, each with the remedy when it is missing.

    ``read_calendar`` and ``read_busy`` are the probes: real calls that raise ``ProviderError``
    when Graph refuses them.
    """
    rows: list[Check] = []
    kind = "application" if settings.app_only else "delegated"

    def grant(perm: str) -> str:
        return GRANT_HINT.format(kind=kind, perm=perm)

    try:
        claims = tokens.claims()
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
            f"{'app-only' if settings.app_only else 'delegated'} token for tenant "
            f"{settings.tenant_id} from {settings.authority_host}",
        )
    )

    def probe(name: str, perm: str, call: Probe, detail: str) -> Check:
        try:
            call()
        except ProviderError as exc:
            remedy = exc.remedy
            if isinstance(exc, PermissionDenied):
                remedy = grant(perm) + "; " + (exc.remedy or "")
            return Check(name, False, exc.message, remedy)
        if granted and perm not in granted and not (perm == PERM_READ and PERM_WRITE in granted):
            return Check(name, False, f"the token does not carry {perm}", grant(perm))
        return Check(name, True, detail)

    rows.append(
        probe(
            f"organizer calendar ({PERM_WRITE})",
            PERM_WRITE,
            read_calendar,
            f"{organizer}'s calendar is readable",
        )
    )
    rows.append(probe(f"free/busy ({PERM_READ})", PERM_READ, read_busy, "getSchedule answers"))
    rows.append(carried(f"send mail ({PERM_MAIL})", PERM_MAIL, granted, grant(PERM_MAIL)))
    if settings.attendance:
        meetings = PERM_MEETINGS if settings.app_only else PERM_MEETINGS_DELEGATED
        for perm in (PERM_ATTENDANCE, meetings):
            rows.append(carried(f"attendance ({perm})", perm, granted, grant(perm) + POLICY_HINT))
    return rows


def carried(name: str, perm: str, granted: set[str], remedy: str) -> Check:
    """A row judged by the token's claims alone: does it carry ``perm``?"""
    if perm in granted:
        return Check(name, True, f"the token carries {perm}")
    return Check(name, False, f"the token does not carry {perm}", remedy)


# -- sent items lookup (issue 10) -------------------------------------------------------------


def sent_lookup_check(*, settings: MicrosoftSettings, tokens: TokenSource, probe: Probe) -> Check:
    """Whether uncertain sends can be settled automatically, and what to grant if wanted.

    Off (the default) is a passing row that says how to switch it on; on, the row probes a
    harmless one-message read of the organizer's mailbox and the token's claims.
    """
    name = (
        f"sent items lookup ({PERM_MAIL_READ if settings.app_only else PERM_MAIL_READ_DELEGATED})"
    )
    if not settings.sent_items_lookup:
        return Check(
            "sent items lookup",
            True,
            "off: uncertain sends wait for `rmcal outbox resolve`; set sent_items_lookup: true "
            f"and grant {PERM_MAIL_READ} to settle them automatically",
        )
    kind = "application" if settings.app_only else "delegated"
    perm = PERM_MAIL_READ if settings.app_only else PERM_MAIL_READ_DELEGATED
    grant = GRANT_HINT.format(kind=kind, perm=perm)
    try:
        granted = granted_permissions(tokens.claims())
        probe()
    except AuthError as exc:
        return Check(name, False, f"skipped: {exc.message}", exc.remedy)
    except ProviderError as exc:
        remedy = grant if isinstance(exc, PermissionDenied) else exc.remedy
        return Check(name, False, exc.message, remedy)
    if granted and not granted & MAIL_READ_PERMS:
        return Check(name, False, f"the token does not carry {perm}", grant)
    return Check(name, True, "uncertain sends are looked up by Message-ID and settled")
