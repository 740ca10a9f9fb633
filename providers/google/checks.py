"""``rmcal auth check`` for Google: one row per thing rmcal needs, each with its fix.

Why apart: a first run fails in the Admin or Cloud console far more often than in rmcal, so the
check asks the token endpoint for each scope alone (a delegated token request fails as a whole,
which would not say which scope is missing), reads the calendar and free/busy once, and never
sends mail: it only says whether a scope that allows sending was configured.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import google.auth.exceptions
import google_auth_httplib2
from google.auth.credentials import Credentials

from rmcal.errors import AuthError, ProviderError, SettingsError
from rmcal.provider import Check

from . import auth
from .batch import NETWORK_ERRORS
from .client import GoogleClient
from .events import rfc3339
from .settings import (
    FALLBACK_CALENDAR_SCOPES,
    GMAIL_SEARCH_SCOPES,
    GMAIL_SEND_SCOPES,
    SCOPE_EVENTS,
    SCOPE_FREEBUSY,
    SCOPE_GMAIL_READ,
    SCOPE_GMAIL_SEND,
    short_scope,
)


def check(client: GoogleClient, now: Callable[[], datetime]) -> list[Check]:
    """Credentials and every scope first; the calendar, free/busy, mail and Meet only if
    those pass (a call with a refused token would only repeat the same failure)."""
    rows: list[Check] = []
    s = client.settings
    try:
        creds = client.ensure_credentials()
    except (AuthError, SettingsError) as exc:
        return [Check("credentials", False, str(exc), getattr(exc, "remedy", None))]
    if s.auth == "service_account":
        email = str((s.service_account_info or {}).get("client_email", ""))
        rows.append(
            Check(
                "credentials",
                True,
                f"service account {email} (client ID {s.client_id}) acting as {s.subject}",
            )
        )
        rows += _check_delegation(client)
    else:
        rows += _check_oauth(client, creds)
    if not all(r.ok for r in rows):
        return rows
    rows.append(
        _probe(
            client,
            "calendar readable",
            lambda: client.events.list(calendarId=s.calendar_id, maxResults=1),
            f"calendar {s.calendar_id!r}",
        )
    )
    moment = now()
    rows.append(
        _probe(
            client,
            "free/busy",
            lambda: (
                client.service("calendar")
                .freebusy()
                .query(
                    body={
                        "timeMin": rfc3339(moment),
                        "timeMax": rfc3339(moment + timedelta(hours=1)),
                        "items": [{"id": s.subject}],
                    }
                )
            ),
            f"free/busy of {s.subject}",
        )
    )
    can_send = bool(GMAIL_SEND_SCOPES & set(s.scopes))
    rows.append(
        Check(
            "gmail send",
            can_send,
            f"as {s.subject}: scope granted (not tried: a check must not send mail)"
            if can_send
            else "no scope that allows users.messages.send is configured",
            None if can_send else f"add {SCOPE_GMAIL_SEND} to provider.scopes",
        )
    )
    if s.attendance:
        rows.append(
            _probe(
                client,
                "meet attendance",
                lambda: client.service("meet").conferenceRecords().list(pageSize=1),
                "Meet conference records",
            )
        )
    rows.append(sent_lookup_check(client))
    return rows


def sent_lookup_check(client: GoogleClient) -> Check:
    """Whether uncertain sends can be settled automatically (``sent_items_lookup``).

    Off (the default) is a passing row that says how to switch it on; on, a search for a
    Message-ID that does not exist proves that ``q`` is allowed with the granted scopes.
    """
    s = client.settings
    if not s.sent_items_lookup:
        return Check(
            "sent mail lookup",
            True,
            "off: uncertain sends wait for `rmcal outbox resolve`; set sent_items_lookup: true "
            f"and authorise {short_scope(SCOPE_GMAIL_READ)} to settle them automatically",
        )
    name = f"sent mail lookup ({short_scope(SCOPE_GMAIL_READ)})"
    if not GMAIL_SEARCH_SCOPES & set(s.scopes):
        return Check(
            name,
            False,
            "no scope that may search mail (q=) is configured",
            f"add {SCOPE_GMAIL_READ} to provider.scopes and to the delegation entry",
        )
    probe = "<rmcal-auth-check@invalid>"
    return _probe(
        client,
        name,
        lambda: (
            client.service("gmail")
            .users()
            .messages()
            .list(userId="me", q=f"rfc822msgid:{probe.strip('<>')}", maxResults=1)
        ),
        f"uncertain sends are looked up in {s.subject}'s mailbox by Message-ID",
    )


def _check_delegation(client: GoogleClient) -> list[Check]:
    """Each scope alone at the token endpoint, so a refusal names the missing scope."""
    s = client.settings
    rows = []
    for scope in s.scopes:
        name = f"scope {short_scope(scope)}"
        try:
            refused = auth.probe_scope(s, client.raw_transport(), scope)
        except NETWORK_ERRORS as exc:  # the other scopes would only fail the same way
            rows.append(
                Check(
                    name,
                    False,
                    f"cannot reach the token endpoint {s.token_uri} ({type(exc).__name__}: {exc})",
                    "check the network, proxy, provider.token_uri and provider.ca_bundle",
                )
            )
            break
        if refused is None:
            rows.append(Check(name, True, "granted through domain-wide delegation"))
            continue
        code, _ = auth.refresh_reason(refused)
        if code == "unauthorized_client":
            rows.append(
                Check(
                    name,
                    False,
                    f"not authorised for client ID {s.client_id}",
                    f"{auth.DWD_CONSOLE}: add {scope} to the entry of client ID "
                    f"{s.client_id} (full list: {','.join(s.scopes)})"
                    + _fallback_hint(client, scope),
                )
            )
        else:
            error = auth.explain_refresh_error(refused, s, "auth check")
            rows.append(Check(name, False, error.message, error.remedy))
    return rows


def _fallback_hint(client: GoogleClient, scope: str) -> str:
    """The older, wider Calendar scopes, for consoles that do not offer the narrow ones yet."""
    if scope in (SCOPE_EVENTS, SCOPE_FREEBUSY) and not client.settings.scopes_overridden:
        return "; if the console does not offer it, set provider.scopes to " + ", ".join(
            short_scope(x) for x in (*FALLBACK_CALENDAR_SCOPES, SCOPE_GMAIL_SEND)
        )
    return ""


def _check_oauth(client: GoogleClient, creds: Credentials) -> list[Check]:
    """A saved OAuth token: refresh it once, then compare what was granted with what is needed."""
    s = client.settings
    try:
        creds.refresh(google_auth_httplib2.Request(client.raw_transport()))
    except google.auth.exceptions.RefreshError as exc:
        error = auth.explain_refresh_error(exc, s, "auth check")
        return [Check("credentials", False, error.message, error.remedy)]
    except NETWORK_ERRORS as exc:
        return [Check("credentials", False, f"token endpoint unreachable: {exc}", None)]
    rows = [Check("credentials", True, f"OAuth token of {s.subject}")]
    granted = set(getattr(creds, "granted_scopes", None) or s.scopes)
    for scope in s.scopes:
        ok = scope in granted
        rows.append(
            Check(
                f"scope {short_scope(scope)}",
                ok,
                "granted" if ok else "not granted at sign-in",
                None if ok else "run `rmcal auth login --provider google` and allow all",
            )
        )
    return rows


def _probe(client: GoogleClient, name: str, make: Callable[[], Any], what: str) -> Check:
    """One harmless call; its failure becomes a row with the remedy instead of an error."""
    try:
        client.calls.execute(make(), f"check {name}")
    except ProviderError as exc:
        return Check(name, False, f"{what}: {exc.message}", exc.remedy)
    return Check(name, True, what)
