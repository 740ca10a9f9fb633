"""The local provider's settings: the ``provider:`` section of the config, checked.

Why a module of its own: every mistake in the section must be a ``SettingsError`` naming its key
(the core points it at the config file's line) before any file is touched, and the SMTP password
must never be a setting at all, only the name of an environment variable.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmcal.errors import SettingsError
from rmcal.provider import ProviderContext

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SETTINGS = ("folder", "smtp", "replies")  # replies: see reply_settings
_SMTP_SETTINGS = ("host", "port", "starttls", "user", "password_env", "from")


@dataclass(frozen=True)
class SmtpSettings:
    """Where to deliver mail besides the outbox; the password is only ever read from the env."""

    host: str
    port: int = 587
    starttls: bool = True
    user: str | None = None
    password_env: str | None = None
    sender: str | None = None  # envelope sender (``from:``); defaults to the organizer


@dataclass(frozen=True)
class LocalSettings:
    """The ``provider:`` section of a local programme, checked."""

    folder: Path
    smtp: SmtpSettings | None = None


def _unknown(key: str, allowed: Sequence[str], where: str) -> SettingsError:
    """An unknown key, with the one it was probably meant to be (or the list of known ones)."""
    close = difflib.get_close_matches(key, allowed, n=1)
    if key == "password" and where == "smtp.":
        hint = "put the password in an environment variable and name it in smtp.password_env"
    elif close:
        hint = f"did you mean {where + close[0]!r}?"
    else:
        hint = "known settings: " + ", ".join(where + name for name in allowed)
    return SettingsError(f"{where}{key}", "unknown setting", hint)


def parse_settings(settings: Mapping[str, Any], context: ProviderContext) -> LocalSettings:
    """Check the ``provider:`` section; every mistake is a SettingsError naming its key."""
    if not isinstance(settings, Mapping):
        raise SettingsError("folder", "the provider section must be a mapping")
    for key in settings:
        if key not in _SETTINGS and key != "kind":
            raise _unknown(str(key), _SETTINGS, "")
    raw_folder = settings.get("folder")
    if raw_folder is None or (isinstance(raw_folder, str) and not raw_folder.strip()):
        raise SettingsError("folder", "is required", "e.g. folder: ./rmcal-data")
    if not isinstance(raw_folder, str | os.PathLike):
        raise SettingsError("folder", "must be a path")
    folder = Path(raw_folder).expanduser()
    if not folder.is_absolute():
        folder = (context.config_dir / folder).resolve()
    if folder.exists() and not folder.is_dir():
        raise SettingsError("folder", f"{folder} exists and is not a folder")
    smtp = settings.get("smtp")
    return LocalSettings(folder=folder, smtp=None if smtp is None else _parse_smtp(smtp))


def _parse_smtp(raw: Any) -> SmtpSettings:
    """The ``smtp:`` subsection; a password is only ever named (``password_env``), never given."""
    if not isinstance(raw, Mapping):
        raise SettingsError("smtp", "must be a mapping (host, port, starttls, user, ...)")
    for key in raw:
        if key not in _SMTP_SETTINGS:
            raise _unknown(str(key), _SMTP_SETTINGS, "smtp.")
    host = raw.get("host")
    if not isinstance(host, str) or not host.strip():
        raise SettingsError("smtp.host", "is required", "e.g. host: smtp.example.com")
    port = raw.get("port", 587)
    if isinstance(port, bool) or not isinstance(port, int):
        raise SettingsError("smtp.port", "must be an integer", "587 for STARTTLS, 465 for TLS")
    if not 0 < port < 65536:
        raise SettingsError("smtp.port", f"{port} is not a TCP port")
    starttls = raw.get("starttls", True)
    if not isinstance(starttls, bool):
        raise SettingsError("smtp.starttls", "must be true or false")
    user = raw.get("user")
    if user is not None and (not isinstance(user, str) or not user.strip()):
        raise SettingsError("smtp.user", "must be a non-empty string")
    password_env = raw.get("password_env")
    if password_env is not None and (
        not isinstance(password_env, str) or not _ENV_NAME.match(password_env)
    ):
        raise SettingsError(
            "smtp.password_env",
            "must be the name of an environment variable",
            "e.g. password_env: RMCAL_SMTP_PASSWORD",
        )
    if user and not password_env:
        raise SettingsError(
            "smtp.password_env",
            "is required when smtp.user is set",
            "name the environment variable that holds the password",
        )
    if password_env and not user:
        raise SettingsError("smtp.user", "is required when smtp.password_env is set")
    sender = raw.get("from")
    if sender is not None and (not isinstance(sender, str) or "@" not in sender):
        raise SettingsError("smtp.from", f"{sender!r} is not an e-mail address")
    return SmtpSettings(
        host=host.strip(),
        port=port,
        starttls=starttls,
        user=user.strip() if user else None,
        password_env=password_env,
        sender=sender.strip().lower() if sender else None,
    )
