"""Access tokens for Microsoft Graph through MSAL: app-only (certificate or secret) or device code.

Why this shape: ``rmcal tick`` runs unattended, so the normal case is an app-only token
(client credentials) for the ``/.default`` scope of the cloud's Graph host. MSAL keeps tokens in
its cache and ``acquire_token_for_client`` looks there first, so one MSAL application object
lives as long as the provider and tokens are reused until near expiry rather than fetched per
request. The device-code flow is for a trial without admin consent: a person signs in once
(``rmcal auth login``) and the refresh token is kept in a cache file next to the state file,
readable by its owner only.

Secrets never pass through here as settings: ``settings.py`` reads them from the environment or a
file and hands over the credential; nothing in this module logs it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
from collections.abc import Callable
from typing import Any

import msal
import requests

from rmcal.errors import AuthError
from rmcal.private import narrow, write_private

from .settings import PROVIDER, MicrosoftSettings

MSAL_KNOWN_HOSTS = {
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login-us.microsoftonline.com",
    "login.chinacloudapi.cn",
    "login.windows.net",
    "login.microsoft.com",
    "sts.windows.net",
}

# The Graph permissions rmcal uses, as they appear in a token's ``roles`` / ``scp``.
PERM_WRITE = "Calendars.ReadWrite"
PERM_READ = "Calendars.Read"
PERM_MAIL = "Mail.Send"
PERM_ATTENDANCE = "OnlineMeetingArtifact.Read.All"
PERM_MEETINGS = "OnlineMeetings.Read.All"  # application; the delegated one drops ".All"
PERM_MEETINGS_DELEGATED = "OnlineMeetings.Read"
PERM_USERS = "User.Read.All"  # only to look up the organizer's object ID for attendance
# sent_items_lookup: read message properties (never bodies) to find a sent Message-ID.
PERM_MAIL_READ = "Mail.ReadBasic.All"  # application; the delegated one is Mail.ReadBasic
PERM_MAIL_READ_DELEGATED = "Mail.ReadBasic"
MAIL_READ_PERMS = frozenset(
    {PERM_MAIL_READ, PERM_MAIL_READ_DELEGATED, "Mail.Read", "Mail.ReadWrite"}
)

# Delegated scopes for the device-code trial (MSAL adds openid/profile/offline_access itself).
DELEGATED_SCOPES = (PERM_WRITE, PERM_MAIL)
ATTENDANCE_DELEGATED_SCOPES = (PERM_ATTENDANCE, PERM_MEETINGS_DELEGATED)

# First AADSTS codes an admin meets, with what to do about each.
AADSTS_REMEDIES = {
    "AADSTS7000215": "the client secret is wrong or expired: create a new one and update the "
    "file or environment variable that holds it",
    "AADSTS7000222": "the client secret has expired: create a new one in the app registration",
    "AADSTS700027": "the certificate was not accepted: upload the certificate (public part) "
    "to the app registration and check the thumbprint",
    "AADSTS700016": "no app with this client_id in the tenant: check client_id and tenant_id",
    "AADSTS90002": "tenant not found: check tenant_id and the 'cloud' setting",
    "AADSTS50059": "tenant not found: check tenant_id and the 'cloud' setting",
    "AADSTS7000218": "the app registration does not allow public client flows: enable "
    "'Allow public client flows' (Authentication) for device-code sign-in",
    "AADSTS65001": "admin consent is missing: grant consent for the requested permissions",
    "AADSTS70043": "the sign-in has expired: run 'rmcal auth login --provider microsoft'",
    "AADSTS700082": "the sign-in has expired: run 'rmcal auth login --provider microsoft'",
}


def _remedy(result: dict[str, Any]) -> str:
    text = str(result.get("error_description") or "")
    for code, remedy in AADSTS_REMEDIES.items():
        if code in text:
            return remedy
    return "check tenant_id, client_id and the credential in the provider settings"


def _first_line(result: dict[str, Any]) -> str:
    text = str(result.get("error_description") or result.get("error") or "unknown error")
    return text.splitlines()[0][:300]


def decode_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT access token, unverified: only to read ``roles``/``scp``.

    Never used for any security decision; Graph verifies the token, this only lets
    ``rmcal auth check`` say which permission is missing without sending a mail to find out.
    """
    try:
        payload = token.split(".")[1]
        padded = payload + "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def granted_permissions(claims: dict[str, Any]) -> set[str]:
    """Application ``roles`` plus delegated ``scp`` of a token, as one set of names."""
    roles = claims.get("roles") or []
    scopes = str(claims.get("scp") or "").split()
    return {str(r) for r in roles} | set(scopes)


class TokenSource:
    """Hands out Graph access tokens; one MSAL application per provider instance."""

    def __init__(self, config: MicrosoftSettings, log: logging.Logger) -> None:
        self.config = config
        self.log = log
        self._app: msal.ClientApplication | None = None
        self._cache: msal.SerializableTokenCache | None = None

    @property
    def authority(self) -> str:
        return f"{self.config.authority_host.rstrip('/')}/{self.config.tenant_id}"

    @property
    def scopes(self) -> list[str]:
        if self.config.mode == "device_code":
            extra = ATTENDANCE_DELEGATED_SCOPES if self.config.attendance else ()
            if self.config.sent_items_lookup:
                extra = (*extra, PERM_MAIL_READ_DELEGATED)
            return [f"{self.config.graph_root}/{s}" for s in (*DELEGATED_SCOPES, *extra)]
        return [f"{self.config.graph_root}/.default"]

    def _build(self) -> msal.ClientApplication:
        if self._app is not None:
            return self._app
        host = self.config.authority_host.split("://", 1)[-1].split("/")[0].lower()
        # MSAL's own session would take ``verify`` at session level, where REQUESTS_CA_BUNDLE
        # from the environment overrides it; bind verify and timeout to every request instead.
        session = requests.Session()
        session.request = functools.partial(  # type: ignore[method-assign]
            session.request, timeout=self.config.timeout, verify=self.config.verify
        )
        options: dict[str, Any] = {
            "authority": self.authority,
            "http_client": session,
            # Known Microsoft hosts need no discovery; any other host (a sovereign proxy, a
            # test server) is trusted because an admin wrote it into the config.
            "instance_discovery": host in MSAL_KNOWN_HOSTS,
        }
        try:
            if self.config.mode == "device_code":
                self._cache = self._load_cache()
                self._app = msal.PublicClientApplication(
                    self.config.client_id, token_cache=self._cache, **options
                )
            else:
                self._app = msal.ConfidentialClientApplication(
                    self.config.client_id, client_credential=self.config.credential, **options
                )
        except requests.RequestException as exc:
            raise AuthError(
                PROVIDER,
                "sign in",
                f"cannot reach the authority {self.authority} ({type(exc).__name__})",
                remedy="check 'cloud' / 'authority_host', the network, proxy and ca_bundle",
                detail=str(exc)[:300],
            ) from exc
        except ValueError as exc:
            raise AuthError(
                PROVIDER,
                "sign in",
                f"cannot use the authority {self.authority}: {str(exc).splitlines()[0][:200]}",
                remedy="check tenant_id, 'cloud' / 'authority_host', the network and ca_bundle",
            ) from exc
        return self._app

    def _load_cache(self) -> msal.SerializableTokenCache:
        cache = msal.SerializableTokenCache()
        path = self.config.cache_path
        if path.exists():
            narrow(path, logger=self.log)  # it holds a refresh token: owner-only
            try:
                cache.deserialize(path.read_text(encoding="utf-8"))
            except ValueError:
                self.log.warning("ignoring unreadable token cache %s", path)
        return cache

    def save_cache(self) -> None:
        """Persist the device-code cache (owner-only) when MSAL changed it."""
        if self._cache is None or not self._cache.has_state_changed:
            return
        write_private(self.config.cache_path, self._cache.serialize().encode("utf-8"))
        self._cache.has_state_changed = False

    def token(self) -> str:
        """A valid access token (from MSAL's cache while it is fresh)."""
        app = self._build()
        try:
            if isinstance(app, msal.ConfidentialClientApplication):
                result = app.acquire_token_for_client(scopes=self.scopes)
            else:
                accounts = app.get_accounts()
                result = (
                    app.acquire_token_silent(self.scopes, account=accounts[0]) if accounts else None
                )
                self.save_cache()
                if not result:
                    raise AuthError(
                        PROVIDER,
                        "sign in",
                        "no signed-in user (or the sign-in expired)",
                        remedy="run 'rmcal auth login --provider microsoft'",
                    )
        except requests.RequestException as exc:
            raise AuthError(
                PROVIDER,
                "sign in",
                f"cannot reach {self.config.authority_host}: {type(exc).__name__}",
                remedy="check the network, proxy, 'cloud'/'authority_host' and ca_bundle",
            ) from exc
        if "access_token" not in result:
            raise AuthError(
                PROVIDER,
                "sign in",
                f"Entra ID refused the token request: {_first_line(result)}",
                remedy=_remedy(result),
                detail=str(result.get("correlation_id") or ""),
            )
        return str(result["access_token"])

    def login(self, echo: Callable[[str], None]) -> str:
        """Device-code sign-in: show the code, wait for the person, keep the cache."""
        app = self._build()
        if not isinstance(app, msal.PublicClientApplication):
            raise AuthError(
                PROVIDER,
                "sign in",
                f"auth is {self.config.mode!r}: app-only credentials need no interactive sign-in",
                remedy="run 'rmcal auth check' instead, or set auth: device_code for a trial",
            )
        flow = app.initiate_device_flow(scopes=self.scopes)
        if "user_code" not in flow:
            raise AuthError(
                PROVIDER,
                "sign in",
                f"could not start device-code sign-in: {_first_line(flow)}",
                remedy=_remedy(flow),
            )
        echo(str(flow["message"]))
        result = app.acquire_token_by_device_flow(flow)
        self.save_cache()
        if "access_token" not in result:
            raise AuthError(
                PROVIDER,
                "sign in",
                f"sign-in did not complete: {_first_line(result)}",
                remedy=_remedy(result),
            )
        claims = result.get("id_token_claims") or {}
        return str(claims.get("preferred_username") or claims.get("name") or "signed in")

    def claims(self) -> dict[str, Any]:
        return decode_claims(self.token())
