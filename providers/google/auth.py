"""Credentials for the Google provider: service account with domain-wide delegation, or OAuth.

Why a module of its own: the token endpoint speaks OAuth error codes, not Calendar reasons, and
turning them into a remedy an admin can act on (which client ID, which scopes, where in the
Admin console) is the one place where most first-run failures land. Nothing here logs a key or
a token.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.auth.credentials import Credentials
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from rmcal.errors import AuthError, PermissionDenied, ProviderError, SettingsError
from rmcal.private import narrow, write_private

from .settings import PROVIDER, GoogleSettings, short_scope

DWD_CONSOLE = (
    "Admin console > Security > Access and data control > API controls > Domain-wide delegation"
)


def build_credentials(settings: GoogleSettings) -> Credentials:
    """Credentials for every scope in ``settings.scopes``; not refreshed yet (no network)."""
    if settings.auth == "service_account":
        return service_account_credentials(settings, settings.scopes)
    return load_user_credentials(settings)


def service_account_credentials(
    settings: GoogleSettings, scopes: tuple[str, ...]
) -> service_account.Credentials:
    """Delegated credentials impersonating ``subject`` for exactly ``scopes``."""
    info = dict(settings.service_account_info or {})
    info.setdefault("token_uri", settings.token_uri)
    try:
        creds = service_account.Credentials.from_service_account_info(info, scopes=list(scopes))
    except (ValueError, KeyError) as exc:
        key = (
            "service_account_file"
            if settings.service_account_source.startswith("file")
            else "service_account_json_env"
        )
        # The message of a key parsing error never contains the key itself.
        raise SettingsError(
            key, f"{settings.service_account_source} holds an unusable key ({type(exc).__name__})"
        ) from None
    return creds.with_subject(settings.subject).with_token_uri(settings.token_uri)


def load_user_credentials(settings: GoogleSettings) -> user_credentials.Credentials:
    """The organizer's OAuth token saved by ``rmcal auth login``."""
    path = settings.token_path
    if not path.exists():
        raise AuthError(
            PROVIDER,
            "sign-in",
            f"no OAuth token at {path}",
            remedy="run: rmcal auth login --provider google",
        )
    narrow(path)  # it holds a refresh token: owner-only
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        creds = user_credentials.Credentials.from_authorized_user_info(
            info, scopes=list(settings.scopes)
        )
    except (OSError, ValueError) as exc:
        raise AuthError(
            PROVIDER,
            "sign-in",
            f"the OAuth token at {path} is unreadable ({type(exc).__name__})",
            remedy="delete it and run: rmcal auth login --provider google",
        ) from None
    return creds.with_token_uri(settings.token_uri)


def save_user_credentials(path: Path, creds: user_credentials.Credentials) -> None:
    """Write the token readable by its owner only: it grants access to the organizer's mail."""
    write_private(path, creds.to_json().encode("utf-8"))


def run_login(
    settings: GoogleSettings,
    echo: Callable[[str], None],
    *,
    open_browser: bool = True,
    port: int = 0,
) -> user_credentials.Credentials:
    """Installed-app OAuth flow for a trial without an admin; saves and returns the token."""
    # Imported here: only the interactive path needs oauthlib and requests.
    from google_auth_oauthlib.flow import InstalledAppFlow

    client_file = settings.oauth_client_file
    if client_file is None:
        raise SettingsError("auth", "rmcal auth login needs auth: oauth and oauth_client_file")
    if not client_file.is_file():
        raise SettingsError("oauth_client_file", f"{client_file} does not exist")
    try:
        flow = InstalledAppFlow.from_client_secrets_file(
            str(client_file), scopes=list(settings.scopes)
        )
    except ValueError as exc:
        raise SettingsError(
            "oauth_client_file",
            f"{client_file} is not an OAuth client file ({exc})",
            hint="create an OAuth client of type 'Desktop app' and download its JSON",
        ) from None
    flow.client_config["token_uri"] = settings.token_uri
    if settings.ca_bundle:
        # An explicit ``verify`` per request: a session default would lose to
        # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment (proxies still apply).
        fetch = flow.fetch_token
        bundle = settings.ca_bundle

        def fetch_with_bundle(**kwargs: Any) -> Any:
            return fetch(**{"verify": bundle, **kwargs})

        flow.fetch_token = fetch_with_bundle
    make_url = flow.authorization_url

    def announce(**kwargs: Any) -> tuple[str, str]:
        # The flow prints with print(); route the URL through the CLI's echo instead.
        url, state = make_url(**kwargs)
        echo(f"Sign in as {settings.subject} in your browser:\n{url}")
        return url, state

    flow.authorization_url = announce
    creds = flow.run_local_server(
        port=port,
        open_browser=open_browser,
        authorization_prompt_message="",
        success_message="rmcal is signed in; you can close this tab.",
    )
    save_user_credentials(settings.token_path, creds)
    return creds


def probe_scope(
    settings: GoogleSettings, transport: httplib2.Http, scope: str
) -> google.auth.exceptions.RefreshError | None:
    """Ask the token endpoint for ``scope`` alone; the error when it is refused, else None.

    A delegated token request fails as a whole when any requested scope is missing from the
    Admin console entry, so only one scope per request tells which one is missing.
    """
    creds = service_account_credentials(settings, (scope,))
    try:
        creds.refresh(google_auth_httplib2.Request(transport))
    except google.auth.exceptions.RefreshError as exc:
        return exc
    return None


def refresh_reason(exc: google.auth.exceptions.RefreshError) -> tuple[str, str]:
    """The OAuth ``error`` code and description of a token endpoint refusal."""
    data = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(data, dict):
        return str(data.get("error", "")), str(data.get("error_description", ""))
    text = str(exc.args[0]) if exc.args else ""
    code, _, description = text.partition(":")
    return code.strip(), description.strip()


def explain_refresh_error(
    exc: google.auth.exceptions.RefreshError, settings: GoogleSettings, operation: str
) -> ProviderError:
    """Turn a token endpoint refusal into the fix: which scopes, which client, which user."""
    code, description = refresh_reason(exc)
    scopes = ",".join(settings.scopes)
    if settings.auth == "oauth":
        return AuthError(
            PROVIDER,
            operation,
            f"the saved OAuth token was refused ({code or 'error'}: {description})",
            remedy="run: rmcal auth login --provider google",
            detail=str(exc.args[0]) if exc.args else None,
        )
    if code == "unauthorized_client":
        return PermissionDenied(
            PROVIDER,
            operation,
            f"domain-wide delegation is not authorised for service account client ID "
            f"{settings.client_id} with these scopes",
            remedy=f"in the {DWD_CONSOLE}, add client ID {settings.client_id} with the scopes "
            f"{scopes} (changes can take up to a day to apply); `rmcal auth check` names the "
            "missing ones",
            detail=description,
        )
    if code == "invalid_grant" and "user" in description.lower():
        return AuthError(
            PROVIDER,
            operation,
            f"Google does not know the subject {settings.subject} ({description})",
            remedy="set provider.subject to an existing user of the Workspace domain",
            detail=description,
        )
    if code in ("invalid_grant", "invalid_client"):
        return AuthError(
            PROVIDER,
            operation,
            f"the service account key from {settings.service_account_source} was refused "
            f"({code}: {description})",
            remedy="create a new key for the service account in the Cloud console "
            "(IAM & Admin > Service accounts > Keys) and point rmcal at it",
            detail=description,
        )
    return AuthError(
        PROVIDER,
        operation,
        f"the token endpoint refused the credentials ({code or 'error'}: {description})",
        remedy="run `rmcal auth check` for details",
        detail=description,
    )


def describe_scopes(scopes: tuple[str, ...]) -> str:
    """``calendar.events.owned, gmail.send`` for messages."""
    return ", ".join(short_scope(s) for s in scopes)
