"""The ``provider:`` section of a Microsoft 365 programme, checked once and typed.

Why a module of its own: every other module of the provider reads these values, and a typo in a
key, a missing certificate or an unset secret variable should stop ``rmcal validate`` with one
line naming the key, long before the first request. Nothing here touches the network; the
certificate file is read only to take its private key and check its thumbprint, and a secret is
read from the environment or a file, never from the settings themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from rmcal.errors import SettingsError
from rmcal.provider import ProviderContext

from ..values import flag, number

PROVIDER = "microsoft"  # the provider's name: config ``kind``, and the prefix of its errors

# cloud -> (authority host, Graph root). Sources: Microsoft Learn "National cloud deployments".
CLOUDS: dict[str, tuple[str, str]] = {
    "global": ("https://login.microsoftonline.com", "https://graph.microsoft.com"),
    "usgov": ("https://login.microsoftonline.us", "https://graph.microsoft.us"),
    "usgov-dod": ("https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    "china": ("https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
}
AUTH_MODES = ("certificate", "secret", "device_code")
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRY = 300.0  # seconds of waiting out throttling per operation
DEFAULT_RETRY_BASE = 2.0  # first backoff step when Graph names no Retry-After
SETTINGS_KEYS = frozenset(
    {
        "tenant_id",
        "client_id",
        "auth",
        "certificate_file",
        "thumbprint",
        "certificate_thumbprint",
        "client_secret_env",
        "client_secret_file",
        "cloud",
        "graph_url",
        "authority_host",
        "ca_bundle",
        "attendance",
        "timeout",
        "organizer_object_id",
        "max_retry_seconds",
        "retry_base_seconds",
        "sent_items_lookup",
        "delta_sync",
        "kind",
    }
)

AuthMode = Literal["certificate", "secret", "device_code"]
# What MSAL takes as ``client_credential``: a secret, or a private key with its thumbprint.
Credential = str | dict[str, str] | None


@dataclass(frozen=True)
class MicrosoftSettings:
    """Validated settings; ``credential`` is the secret or key itself, never logged."""

    tenant_id: str
    client_id: str
    mode: AuthMode
    authority_host: str
    graph_root: str  # without the version, e.g. https://graph.microsoft.com
    credential: Credential  # None for device code: a person signs in instead
    verify: bool | str  # True, or the path of the CA bundle to trust
    timeout: float
    cache_path: Path  # the device-code token cache, next to the state file
    attendance: bool = False
    # onlineMeetings paths take the object ID, not the UPN; set it to spare rmcal the lookup
    # (which needs User.Read.All).
    organizer_object_id: str | None = None
    # When the certificate in ``certificate_file`` stops being valid (None: no certificate in
    # the file, or a secret): ``rmcal auth check`` warns before Entra starts refusing it.
    certificate_expires: datetime | None = None
    max_retry_seconds: float = DEFAULT_MAX_RETRY
    retry_base_seconds: float = DEFAULT_RETRY_BASE
    # Look uncertain sends up in the organizer's mailbox by Message-ID (needs
    # Mail.ReadBasic.All, or Mail.ReadBasic for a signed-in person).
    sent_items_lookup: bool = False
    # Read occurrences through calendarView/delta with the link kept in the state file
    # (false: every series' instances, each run).
    delta_sync: bool = True

    @property
    def app_only(self) -> bool:
        """An application token (certificate or secret) rather than a signed-in person's."""
        return self.mode != "device_code"


def parse_settings(settings: Mapping[str, Any], context: ProviderContext) -> MicrosoftSettings:
    """Check every setting up front, so a typo fails at load time with its key named."""
    if "client_secret" in settings:
        raise SettingsError(
            "client_secret",
            "a secret does not belong in the config file",
            "use client_secret_env (an environment variable name) or client_secret_file",
        )
    unknown = sorted(set(settings) - SETTINGS_KEYS)
    if unknown:
        raise SettingsError(
            unknown[0],
            "unknown setting for the microsoft provider",
            "known: " + ", ".join(sorted(SETTINGS_KEYS - {"kind"})),
        )
    tenant_id = _required_id(settings, "tenant_id")
    client_id = _required_id(settings, "client_id")
    mode = _mode(settings)
    authority_host, graph_root = _hosts(settings)

    verify: bool | str = True
    if "ca_bundle" in settings:
        verify = str(_path(context, "ca_bundle", settings["ca_bundle"]))

    attendance = flag(settings, "attendance", False)
    lookup = flag(settings, "sent_items_lookup", False)
    delta_sync = flag(settings, "delta_sync", True)
    timeout = float(number(settings, "timeout", DEFAULT_TIMEOUT, low=0.01, high=600))
    max_retry = float(number(settings, "max_retry_seconds", DEFAULT_MAX_RETRY, low=0, high=3600))
    retry_base = float(
        number(settings, "retry_base_seconds", DEFAULT_RETRY_BASE, low=0.01, high=60)
    )

    credential: Credential = None
    expires = None
    if mode == "certificate":
        credential, expires = _certificate(settings, context)
    elif mode == "secret":
        credential = _secret(settings, context)

    object_id = settings.get("organizer_object_id")
    if object_id is not None and (not isinstance(object_id, str) or not object_id.strip()):
        raise SettingsError("organizer_object_id", "must be the organizer's Entra object ID")
    return MicrosoftSettings(
        tenant_id=tenant_id,
        client_id=client_id,
        mode=mode,
        authority_host=authority_host,
        graph_root=graph_root,
        credential=credential,
        verify=verify,
        timeout=timeout,
        cache_path=context.state_dir / "msal-cache.json",
        attendance=attendance,
        organizer_object_id=object_id.strip() if object_id else None,
        certificate_expires=expires,
        max_retry_seconds=max_retry,
        retry_base_seconds=retry_base,
        sent_items_lookup=lookup,
        delta_sync=delta_sync,
    )


def _required_id(settings: Mapping[str, Any], key: str) -> str:
    value = settings.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(key, "is required", "copy it from the app registration's Overview page")
    return value.strip()


def _mode(settings: Mapping[str, Any]) -> AuthMode:
    """``auth``, defaulting to certificate when a certificate file is given, else secret."""
    mode = settings.get("auth")
    if mode is None:
        return "certificate" if "certificate_file" in settings else "secret"
    if mode == "certificate" or mode == "secret" or mode == "device_code":
        return mode
    raise SettingsError("auth", f"{mode!r} is not one of {', '.join(AUTH_MODES)}")


def _hosts(settings: Mapping[str, Any]) -> tuple[str, str]:
    """(authority host, Graph root): the cloud's, unless a proxy or test server overrides one."""
    cloud = settings.get("cloud", "global")
    if cloud not in CLOUDS:
        raise SettingsError("cloud", f"{cloud!r} is not one of {', '.join(CLOUDS)}")
    authority_host, graph_root = CLOUDS[cloud]
    for key in ("authority_host", "graph_url"):
        if key not in settings:
            continue
        value = settings[key]
        if not isinstance(value, str) or not value.startswith("https://"):
            raise SettingsError(key, "must be an https:// URL")
        value = value.rstrip("/")
        if key == "graph_url":
            graph_root = value.removesuffix("/v1.0")
        else:
            authority_host = value
    return authority_host, graph_root


def _path(context: ProviderContext, key: str, value: Any) -> Path:
    """An existing file; a relative path is read from the config file's folder."""
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(key, "must be a file path")
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = context.config_dir / path
    if not path.is_file():
        raise SettingsError(key, f"file {path} does not exist")
    return path


def _certificate(
    settings: Mapping[str, Any], context: ProviderContext
) -> tuple[dict[str, str], datetime | None]:
    """The private key and SHA-1 thumbprint MSAL signs its client assertion with, and when the
    certificate expires (None when the file holds only the key)."""
    if "certificate_file" not in settings:
        raise SettingsError(
            "certificate_file",
            "is required with auth: certificate",
            "a PEM file holding the private key and the certificate",
        )
    path = _path(context, "certificate_file", settings["certificate_file"])
    pem = path.read_text(encoding="utf-8", errors="replace")
    if "PRIVATE KEY-----" not in pem:
        raise SettingsError(
            "certificate_file",
            f"{path} holds no private key",
            "convert a .pfx with: openssl pkcs12 -in app.pfx -out app.pem -nodes",
        )
    key_block = re.search(
        r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----.+?-----END (?:[A-Z]+ )?PRIVATE KEY-----",
        pem,
        re.DOTALL,
    )
    if key_block is None:
        raise SettingsError("certificate_file", f"{path}: the private key block is damaged")
    given = settings.get("thumbprint", settings.get("certificate_thumbprint"))
    computed = None
    expires = None
    cert_block = re.search(
        r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.DOTALL
    )
    if cert_block:
        cert = x509.load_pem_x509_certificate(cert_block.group(0).encode())
        computed = cert.fingerprint(hashes.SHA1()).hex().upper()  # Entra shows SHA-1
        expires = cert.not_valid_after_utc
    thumbprint = re.sub(r"[^0-9A-Fa-f]", "", str(given)).upper() if given else computed
    if not thumbprint:
        raise SettingsError(
            "thumbprint",
            "is required when the PEM file has no certificate",
            "copy it from Certificates & secrets in the app registration",
        )
    if computed and thumbprint != computed:
        raise SettingsError(
            "thumbprint",
            f"does not match the certificate in {path} (its thumbprint is {computed})",
        )
    return {"private_key": key_block.group(0), "thumbprint": thumbprint}, expires


def _secret(settings: Mapping[str, Any], context: ProviderContext) -> str:
    """The client secret, from the named environment variable or file (exactly one of them)."""
    has_env = "client_secret_env" in settings
    has_file = "client_secret_file" in settings
    if has_env == has_file:
        raise SettingsError(
            "client_secret_env",
            "set exactly one of client_secret_env and client_secret_file with auth: secret",
            "or prefer auth: certificate",
        )
    if has_env:
        name = settings["client_secret_env"]
        if not isinstance(name, str) or not name:
            raise SettingsError("client_secret_env", "must name an environment variable")
        secret = context.env.get(name, "")
        if not secret.strip():
            raise SettingsError(
                "client_secret_env", f"environment variable {name} is not set or empty"
            )
        return secret.strip()
    path = _path(context, "client_secret_file", settings["client_secret_file"])
    secret = path.read_text(encoding="utf-8").strip()
    if not secret:
        raise SettingsError("client_secret_file", f"{path} is empty")
    return secret
