"""``rmcal auth check`` for Microsoft 365: the token, the certificate, then what rmcal needs.

Why a module of its own: the rows are what an admin reads while setting up the app
registration, so each one must say what is missing and where to grant it, for the way the
admin chose to grant it (docs/microsoft.md: RBAC for Applications, an application access
policy, or tenant-wide). That wording is policy that reads best in one place, apart from the
calls it probes.

What is proven by calling, and what cannot be:

* Reading the organizer's calendar (``GET /users/{organizer}/calendar``) and asking free/busy
  (``getSchedule``) are harmless real calls: they pass or fail the way rmcal's own calls will,
  whichever way access was granted.
* Writing events and sending mail cannot be tried without writing or sending. A token carries
  ``roles`` only for permissions granted in Entra; RBAC for Applications grants them inside
  Exchange, and the token then carries no roles at all. So a permission in the token is shown
  as granted; one missing from it is a warning with both remedies (the Exchange command that
  shows what RBAC grants, ``Test-ServicePrincipalAuthorization``, and the Entra grant), never
  a failure that tells an RBAC admin to grant tenant-wide access.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

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
RBAC_TEST = (
    "Test-ServicePrincipalAuthorization -Identity {client_id} -Resource {organizer} "
    "(Exchange Online PowerShell)"
)
RBAC_HINT = (
    "with RBAC for Applications, run " + RBAC_TEST + ": the role 'Application {perm}' must show "
    "InScope True, else New-ManagementRoleAssignment -App {client_id} -Role 'Application "
    "{perm}' -CustomResourceScope <the organizer's scope>"
)
POLICY_HINT = (
    "; app-only also needs a Teams application access policy granted to the organizer "
    "(New-CsApplicationAccessPolicy / Grant-CsApplicationAccessPolicy)"
)
CERTIFICATE_WARNING = timedelta(days=30)
ROTATE_HINT = (
    "make a new certificate, upload it to the app registration (Certificates & secrets) next "
    "to the old one, point certificate_file at it, run rmcal auth check, then delete the old "
    "one (docs/microsoft.md, 'Rotating the certificate')"
)
Probe = Callable[[], object]


def auth_checks(
    *,
    settings: MicrosoftSettings,
    tokens: TokenSource,
    organizer: str,
    read_calendar: Probe,
    read_busy: Probe,
    now: datetime,
) -> list[Check]:
    """One row per thing rmcal needs, each with the remedy when it is missing.

    ``read_calendar`` and ``read_busy`` are the probes: real calls that raise ``ProviderError``
    when Graph refuses them. ``now`` dates the certificate's expiry.
    """
    rows: list[Check] = []
    kind = "application" if settings.app_only else "delegated"

    def grant(perm: str) -> str:
        return GRANT_HINT.format(kind=kind, perm=perm)

    def rbac(perm: str) -> str:
        return RBAC_HINT.format(client_id=settings.client_id, organizer=organizer, perm=perm)

    certificate = _certificate_row(settings, now)
    try:
        claims = tokens.claims()
    except AuthError as exc:
        rows.append(Check("token", False, exc.message, exc.remedy))
        rows.extend([certificate] if certificate else [])
        for name in ("organizer calendar", "free/busy", "write events", "send mail"):
            rows.append(Check(name, False, "skipped: no token"))
        return rows
    granted = granted_permissions(claims)
    exchange_only = settings.app_only and not claims.get("roles")
    how = ""
    if settings.app_only:
        how = (
            "; it carries no application roles, so Exchange (RBAC for Applications) decides "
            "what it may do: the calls below show it"
            if exchange_only
            else "; Entra grants it: " + ", ".join(sorted(str(r) for r in claims["roles"]))
        )
    rows.append(
        Check(
            "token",
            True,
            f"{'app-only' if settings.app_only else 'delegated'} token for tenant "
            f"{settings.tenant_id} from {settings.authority_host}{how}",
        )
    )
    rows.extend([certificate] if certificate else [])

    def probe(name: str, perm: str, call: Probe, detail: str) -> Check:
        try:
            call()
        except ProviderError as exc:
            remedy = exc.remedy
            if isinstance(exc, PermissionDenied):
                fix = rbac(perm) if exchange_only else grant(perm)
                remedy = fix + "; " + (exc.remedy or "")
            return Check(name, False, exc.message, remedy)
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
    for name, perm, action in (
        ("write events", PERM_WRITE, "create, change and end events"),
        ("send mail", PERM_MAIL, "send mail"),
    ):
        rows.append(_unprovable(f"{name} ({perm})", perm, action, granted, settings, rbac, grant))
    if settings.attendance:
        meetings = PERM_MEETINGS if settings.app_only else PERM_MEETINGS_DELEGATED
        for perm in (PERM_ATTENDANCE, meetings):
            rows.append(carried(f"attendance ({perm})", perm, granted, grant(perm) + POLICY_HINT))
    return rows


def _unprovable(
    name: str,
    perm: str,
    action: str,
    granted: set[str],
    settings: MicrosoftSettings,
    rbac: Callable[[str], str],
    grant: Callable[[str], str],
) -> Check:
    """A permission only writing or sending could prove: judged by the token, honestly."""
    if perm in granted:
        return Check(name, True, f"the token carries {perm} (not tried: it would {action})")
    if not settings.app_only:
        return Check(name, False, f"the signed-in token lacks {perm}", grant(perm))
    return Check(
        name,
        True,
        f"not in the token and not tried (it would {action}): granted by RBAC for "
        "Applications or missing",
        f"{rbac(perm)}; without RBAC for Applications: {grant(perm)}",
        warn=True,
    )


def _certificate_row(settings: MicrosoftSettings, now: datetime) -> Check | None:
    """When the app's certificate expires: a warning inside ``CERTIFICATE_WARNING``."""
    expires = settings.certificate_expires
    if expires is None:
        return None
    left = expires - now
    when = f"{expires:%Y-%m-%d %H:%M} UTC"
    if left <= timedelta(0):
        return Check("certificate", False, f"expired on {when}", ROTATE_HINT)
    days = left.days
    if left <= CERTIFICATE_WARNING:
        return Check("certificate", True, f"expires on {when}, in {days} day(s)", ROTATE_HINT, True)
    return Check("certificate", True, f"valid until {when} ({days} days)")


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
