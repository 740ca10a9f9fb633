"""The ``replies:`` section of the local provider's settings: where attendees' answers arrive.

Why a module of its own: reading replies is optional and has its own vocabulary (a Maildir
folder, or an IMAP mailbox with TLS and a login), and every mistake in it must be a
``SettingsError`` naming its key before anything is read. Like SMTP, the IMAP password is never
a setting: only the name of an environment variable or of a file that holds it, read when rmcal
logs in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmcal.errors import SettingsError
from rmcal.provider import ProviderContext

from .settings import _ENV_NAME, _unknown

_REPLIES_SETTINGS = ("maildir", "imap")
_IMAP_SETTINGS = (
    "host",
    "port",
    "starttls",
    "user",
    "password_env",
    "password_file",
    "mailbox",
    "ca_file",
    "mark_seen",
)
IMAPS_PORT = 993  # IMAP over implicit TLS (RFC 8314)
IMAP_PORT = 143  # IMAP, upgraded with STARTTLS


@dataclass(frozen=True)
class ImapSettings:
    """An IMAP mailbox read over TLS; the password is read only when rmcal logs in."""

    host: str
    user: str
    port: int = IMAPS_PORT
    starttls: bool = False  # False: TLS from the first byte; True: plain connect, then STARTTLS
    password_env: str | None = None
    password_file: Path | None = None
    mailbox: str = "INBOX"
    ca_file: Path | None = None  # trust this CA instead of the system's (an internal server)
    mark_seen: bool = False  # False: EXAMINE and BODY.PEEK, the mailbox is never changed

    @property
    def where(self) -> str:
        """The mailbox as an operator names it (no credentials)."""
        scheme = "imap+starttls" if self.starttls else "imaps"
        return f"{scheme}://{self.host}:{self.port}/{self.mailbox} as {self.user}"


@dataclass(frozen=True)
class RepliesSettings:
    """Where the organizer's mail arrives: exactly one of a Maildir folder and an IMAP box."""

    maildir: Path | None = None
    imap: ImapSettings | None = None

    @property
    def where(self) -> str:
        if self.imap is not None:
            return self.imap.where
        return f"maildir {self.maildir}"


def _path(raw: Any, key: str, context: ProviderContext) -> Path:
    if not isinstance(raw, str | os.PathLike) or not str(raw).strip():
        raise SettingsError(key, "must be a path")
    path = Path(raw).expanduser()
    return path if path.is_absolute() else (context.config_dir / path).resolve()


def parse_replies(raw: Any, context: ProviderContext) -> RepliesSettings | None:
    """Check the ``replies:`` section (None when absent); every mistake names its key."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise SettingsError("replies", "must be a mapping with maildir: or imap:")
    for key in raw:
        if key not in _REPLIES_SETTINGS:
            raise _unknown(str(key), _REPLIES_SETTINGS, "replies.")
    if ("maildir" in raw) == ("imap" in raw):
        raise SettingsError(
            "replies",
            "set exactly one of replies.maildir and replies.imap",
            "e.g. maildir: /var/mail/programme, or imap: {host: ..., user: ...}",
        )
    if "maildir" in raw:
        folder = _path(raw["maildir"], "replies.maildir", context)
        if folder.exists() and not folder.is_dir():
            raise SettingsError("replies.maildir", f"{folder} exists and is not a folder")
        return RepliesSettings(maildir=folder)
    return RepliesSettings(imap=_parse_imap(raw["imap"], context))


def _parse_imap(raw: Any, context: ProviderContext) -> ImapSettings:
    where = "replies.imap."
    if not isinstance(raw, Mapping):
        raise SettingsError("replies.imap", "must be a mapping (host, user, password_env, ...)")
    for key in raw:
        if key == "password":
            raise SettingsError(
                where + "password",
                "a password does not belong in the config",
                "name an environment variable (password_env) or a file (password_file)",
            )
        if key not in _IMAP_SETTINGS:
            raise _unknown(str(key), _IMAP_SETTINGS, where)
    host = raw.get("host")
    if not isinstance(host, str) or not host.strip():
        raise SettingsError(where + "host", "is required", "e.g. host: imap.example.com")
    user = raw.get("user")
    if not isinstance(user, str) or not user.strip():
        raise SettingsError(where + "user", "is required", "the organizer mailbox's login")
    starttls = raw.get("starttls", False)
    if not isinstance(starttls, bool):
        raise SettingsError(where + "starttls", "must be true or false")
    port = raw.get("port", IMAP_PORT if starttls else IMAPS_PORT)
    if isinstance(port, bool) or not isinstance(port, int):
        raise SettingsError(where + "port", "must be an integer", "993 for TLS, 143 for STARTTLS")
    if not 0 < port < 65536:
        raise SettingsError(where + "port", f"{port} is not a TCP port")
    password_env = raw.get("password_env")
    if password_env is not None and (
        not isinstance(password_env, str) or not _ENV_NAME.match(password_env)
    ):
        raise SettingsError(
            where + "password_env",
            "must be the name of an environment variable",
            "e.g. password_env: RMCAL_IMAP_PASSWORD",
        )
    password_file = raw.get("password_file")
    if (password_env is None) == (password_file is None):
        raise SettingsError(
            where + "password_env",
            "set exactly one of replies.imap.password_env and replies.imap.password_file",
            "name the environment variable, or the file, that holds the password",
        )
    mailbox = raw.get("mailbox", "INBOX")
    if not isinstance(mailbox, str) or not mailbox.strip():
        raise SettingsError(where + "mailbox", "must be a mailbox name", "e.g. INBOX")
    if not mailbox.isascii():
        raise SettingsError(
            where + "mailbox",
            "must be an ASCII name",
            "name a folder without accents, or read it through a Maildir instead",
        )
    ca_file = None
    if raw.get("ca_file") is not None:
        ca_file = _path(raw["ca_file"], where + "ca_file", context)
        if not ca_file.is_file():
            raise SettingsError(where + "ca_file", f"file {ca_file} does not exist")
    mark_seen = raw.get("mark_seen", False)
    if not isinstance(mark_seen, bool):
        raise SettingsError(where + "mark_seen", "must be true or false")
    return ImapSettings(
        host=host.strip(),
        user=user.strip(),
        port=port,
        starttls=starttls,
        password_env=password_env,
        password_file=(
            None
            if password_file is None
            else _path(password_file, where + "password_file", context)
        ),
        mailbox=mailbox.strip(),
        ca_file=ca_file,
        mark_seen=mark_seen,
    )
