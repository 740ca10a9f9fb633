"""The ``provider:`` section of a Google Workspace programme, checked once and typed.

Why a module of its own: every other Google module reads these values, and a typo in a key or a
missing key file should stop ``rmcal validate`` with one line naming the key, long before the
first request. Nothing here touches the network; key files are only read to check their shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rmcal.errors import SettingsError
from rmcal.provider import ProviderContext

from ..values import flag as _bool
from ..values import number as _number

PROVIDER = "google"  # the entry point name, and how errors name the provider
SCOPE_PREFIX = "https://www.googleapis.com/auth/"

# The narrowest scope each method rmcal calls accepts (per-method ``scopes`` lists in the
# discovery documents shipped with google-api-python-client): events.insert/patch/get/list/
# instances accept calendar.events.owned, freebusy.query accepts calendar.freebusy,
# users.messages.send accepts gmail.send.
SCOPE_EVENTS = SCOPE_PREFIX + "calendar.events.owned"
SCOPE_FREEBUSY = SCOPE_PREFIX + "calendar.freebusy"
SCOPE_GMAIL_SEND = SCOPE_PREFIX + "gmail.send"
# sent_items_lookup: users.messages.list with ``q=rfc822msgid:``. The discovery document lists
# gmail.metadata among the method's scopes but says ``q`` cannot be used with it, so the
# narrowest scope that can search is gmail.readonly (it can read whole messages; rmcal asks
# for ids only).
SCOPE_GMAIL_READ = SCOPE_PREFIX + "gmail.readonly"
GMAIL_SEARCH_SCOPES = frozenset(
    {SCOPE_GMAIL_READ, SCOPE_PREFIX + "gmail.modify", "https://mail.google.com/"}
)
# Attendance: Meet conference records, and the People API to turn ``users/{id}`` into e-mails.
SCOPE_MEET = SCOPE_PREFIX + "meetings.space.readonly"
SCOPE_DIRECTORY = SCOPE_PREFIX + "directory.readonly"
# Every scope users.messages.send accepts (GMAIL discovery), narrowest first.
GMAIL_SEND_SCOPES = frozenset(
    {
        SCOPE_GMAIL_SEND,
        SCOPE_PREFIX + "gmail.compose",
        SCOPE_PREFIX + "gmail.modify",
        "https://mail.google.com/",
    }
)
# For domains where the new narrow Calendar scopes cannot be selected yet.
FALLBACK_CALENDAR_SCOPES = (SCOPE_PREFIX + "calendar.events", SCOPE_PREFIX + "calendar.readonly")

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_CALENDAR_ENDPOINT = "https://www.googleapis.com/calendar/v3/"
GOOGLE_BATCH_URI = "https://www.googleapis.com/batch/calendar/v3"
GOOGLE_GMAIL_ENDPOINT = "https://gmail.googleapis.com/"
GOOGLE_MEET_ENDPOINT = "https://meet.googleapis.com/"
GOOGLE_PEOPLE_ENDPOINT = "https://people.googleapis.com/"

MAX_BATCH = 50  # Calendar calls per batch request (see docs/google.md, "Quotas")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class GoogleSettings:
    """Typed provider settings; ``service_account_info`` is the parsed key, never logged."""

    auth: str
    service_account_info: Mapping[str, Any] | None
    service_account_source: str  # "file /path" or "env VAR": for messages, never the key
    subject: str
    oauth_client_file: Path | None
    token_path: Path
    calendar_id: str
    api_endpoint: str
    gmail_endpoint: str
    meet_endpoint: str
    people_endpoint: str
    batch_uri: str
    token_uri: str
    ca_bundle: str | None
    attendance: bool
    timeout: float
    requests_per_minute: int
    batch_size: int
    scopes: tuple[str, ...]
    scopes_overridden: bool
    sync_tokens: bool
    max_retry_seconds: float
    retry_base_seconds: float = 1.0
    sent_items_lookup: bool = False

    @property
    def client_id(self) -> str:
        """The service account's numeric client ID: what the Admin console DWD entry asks for."""
        if self.service_account_info:
            return str(self.service_account_info.get("client_id", ""))
        return ""


KNOWN_KEYS = {
    "auth",
    "service_account_file",
    "service_account_json_env",
    "subject",
    "oauth_client_file",
    "calendar_id",
    "api_endpoint",
    "gmail_endpoint",
    "meet_endpoint",
    "people_endpoint",
    "batch_uri",
    "token_uri",
    "ca_bundle",
    "attendance",
    "timeout",
    "requests_per_minute",
    "batch_size",
    "scopes",
    "sync_tokens",
    "max_retry_seconds",
    "retry_base_seconds",
    "sent_items_lookup",
}


def default_scopes(attendance: bool, lookup: bool = False) -> tuple[str, ...]:
    """The narrowest scope set for what rmcal does; Meet and directory only with attendance,
    Gmail reading only with ``sent_items_lookup``."""
    scopes = [SCOPE_EVENTS, SCOPE_FREEBUSY, SCOPE_GMAIL_SEND]
    if attendance:
        scopes += [SCOPE_MEET, SCOPE_DIRECTORY]
    if lookup:
        scopes.append(SCOPE_GMAIL_READ)
    return tuple(scopes)


def full_scope(name: str) -> str:
    """``calendar.events`` -> ``https://www.googleapis.com/auth/calendar.events``."""
    name = name.strip()
    if name.startswith("https://"):
        return name
    return SCOPE_PREFIX + name


def short_scope(scope: str) -> str:
    """The scope as people read it in the Admin console docs (prefix dropped)."""
    return scope[len(SCOPE_PREFIX) :] if scope.startswith(SCOPE_PREFIX) else scope


def parse_settings(settings: Mapping[str, Any], context: ProviderContext) -> GoogleSettings:
    """Check every key and return typed settings, or raise ``SettingsError`` naming the key."""
    unknown = sorted(set(settings) - KNOWN_KEYS - {"kind"})
    if unknown:
        raise SettingsError(
            unknown[0],
            "is not a Google provider setting",
            hint="known settings: " + ", ".join(sorted(KNOWN_KEYS)),
        )
    auth = _text(settings, "auth", "service_account")
    if auth not in ("service_account", "oauth"):
        raise SettingsError("auth", f"must be service_account or oauth, not {auth!r}")

    subject = _text(settings, "subject", context.organizer.email).lower()
    if not _EMAIL.match(subject):
        raise SettingsError(
            "subject", f"{subject!r} is not an e-mail address", hint="the organizer's mailbox"
        )

    info: Mapping[str, Any] | None = None
    source = ""
    oauth_client: Path | None = None
    if auth == "service_account":
        info, source = _service_account(settings, context)
    else:
        if "service_account_file" in settings or "service_account_json_env" in settings:
            raise SettingsError(
                "auth", "is oauth, but a service account key is also set", hint="remove one"
            )
        if "oauth_client_file" not in settings:
            raise SettingsError(
                "oauth_client_file",
                "is required with auth: oauth",
                hint="download an OAuth client of type 'Desktop app' from the Cloud console",
            )
        oauth_client = _path(context, _text(settings, "oauth_client_file", ""))

    attendance = _bool(settings, "attendance", False)
    lookup = _bool(settings, "sent_items_lookup", False)
    raw_scopes = settings.get("scopes")
    if raw_scopes is None:
        scopes = default_scopes(attendance, lookup)
    else:
        if isinstance(raw_scopes, str):
            raw_scopes = [s for s in re.split(r"[,\s]+", raw_scopes) if s]
        if not isinstance(raw_scopes, list) or not raw_scopes:
            raise SettingsError("scopes", "must be a non-empty list of OAuth scopes")
        scopes = tuple(full_scope(str(s)) for s in raw_scopes)

    token_uri = _url(settings, "token_uri", GOOGLE_TOKEN_URI)
    if info is not None and "token_uri" not in settings:
        token_uri = str(info.get("token_uri") or GOOGLE_TOKEN_URI)

    ca_bundle = settings.get("ca_bundle")
    if ca_bundle is not None:
        path = _path(context, str(ca_bundle))
        if not path.is_file():
            raise SettingsError("ca_bundle", f"{path} does not exist or is not a file")
        ca_bundle = str(path)

    batch_size = _number(settings, "batch_size", MAX_BATCH, low=1, high=MAX_BATCH, integer=True)
    return GoogleSettings(
        auth=auth,
        service_account_info=info,
        service_account_source=source,
        subject=subject,
        oauth_client_file=oauth_client,
        token_path=context.state_dir / "google-token.json",
        calendar_id=_text(settings, "calendar_id", "primary"),
        api_endpoint=_url(settings, "api_endpoint", GOOGLE_CALENDAR_ENDPOINT, slash=True),
        gmail_endpoint=_url(settings, "gmail_endpoint", GOOGLE_GMAIL_ENDPOINT, slash=True),
        meet_endpoint=_url(settings, "meet_endpoint", GOOGLE_MEET_ENDPOINT, slash=True),
        people_endpoint=_url(settings, "people_endpoint", GOOGLE_PEOPLE_ENDPOINT, slash=True),
        batch_uri=_url(settings, "batch_uri", GOOGLE_BATCH_URI),
        token_uri=token_uri,
        ca_bundle=ca_bundle,
        attendance=attendance,
        timeout=float(_number(settings, "timeout", 60, low=0.1, high=600)),
        requests_per_minute=int(
            _number(settings, "requests_per_minute", 600, low=2, high=100_000, integer=True)
        ),
        batch_size=int(batch_size),
        scopes=scopes,
        scopes_overridden=raw_scopes is not None,
        sync_tokens=_bool(settings, "sync_tokens", True),
        max_retry_seconds=float(_number(settings, "max_retry_seconds", 300, low=0, high=3600)),
        retry_base_seconds=float(_number(settings, "retry_base_seconds", 1, low=0.01, high=60)),
        sent_items_lookup=lookup,
    )


def _service_account(
    settings: Mapping[str, Any], context: ProviderContext
) -> tuple[Mapping[str, Any], str]:
    has_file = "service_account_file" in settings
    has_env = "service_account_json_env" in settings
    if has_file == has_env:
        raise SettingsError(
            "service_account_file",
            "set exactly one of service_account_file and service_account_json_env",
            hint="a path to the key JSON, or the name of an environment variable holding it",
        )
    if has_file:
        path = _path(context, _text(settings, "service_account_file", ""))
        source = f"file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(
                "service_account_file", f"cannot read {path}: {exc.strerror or exc}"
            ) from None
        key = "service_account_file"
    else:
        var = _text(settings, "service_account_json_env", "")
        source = f"environment variable {var}"
        if var not in context.env:
            raise SettingsError(
                "service_account_json_env",
                f"environment variable {var} is not set",
                hint="export the service account key JSON in it",
            )
        text = context.env[var]
        key = "service_account_json_env"
    try:
        info = json.loads(text)
    except ValueError:
        # Never echo the content: it is a private key.
        raise SettingsError(key, f"{source} does not hold JSON") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise SettingsError(
            key, f"{source} is not a service account key", hint='expected "type": "service_account"'
        )
    missing = [k for k in ("client_email", "private_key", "client_id") if not info.get(k)]
    if missing:
        raise SettingsError(key, f"{source} lacks {', '.join(missing)}")
    return info, source


def _text(settings: Mapping[str, Any], key: str, default: str) -> str:
    value = settings.get(key, default)
    if not isinstance(value, str) or (key in settings and not value.strip()):
        raise SettingsError(key, "must be a non-empty string")
    return value.strip()


def _url(settings: Mapping[str, Any], key: str, default: str, *, slash: bool = False) -> str:
    value = _text(settings, key, default)
    parsed = urlparse(value)
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise SettingsError(key, f"{value!r} is not an http(s) URL")
    if slash and not value.endswith("/"):
        value += "/"
    return value


def _path(context: ProviderContext, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else context.config_dir / path
