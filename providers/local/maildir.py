"""A Maildir folder as a source of replies: read, never changed.

Why a module of its own: many servers (Dovecot, Postfix with a local delivery agent, fetchmail
or getmail on a workstation) deliver the organizer's mail into a Maildir, and reading the folder
needs no credentials at all. Files are only read: nothing is moved from ``new/`` to ``cur/``,
flagged or deleted. Each message is remembered by its unique name (the part of the file name
that survives a mail client moving or flagging it), so it is read once.
"""

from __future__ import annotations

import logging
import mailbox
import re
from collections.abc import Sequence
from pathlib import Path

from rmcal.errors import ProviderError
from rmcal.provider import KeyValue

from .files import NAME
from .mailsource import MEMORY, Incoming

_UNIQUE = re.compile(r"^(\d+)\.(?:M(\d+))?")


def delivery_order(key: str) -> tuple[int, int, str]:
    """Oldest first: a unique name starts with the delivery second (and, often, ``M`` and its
    microseconds, not zero-padded, so plain text order would put M99 after M100)."""
    found = _UNIQUE.match(key)
    if found is None:
        return (0, 0, key)
    return (int(found.group(1)), int(found.group(2) or 0), key)


class MaildirFolder:
    """``replies.maildir``: the folder that holds ``cur/``, ``new/`` and ``tmp/``."""

    def __init__(self, folder: Path, *, kv: KeyValue, log: logging.Logger) -> None:
        self.folder = folder
        self.kv = kv
        self.log = log
        self.where = f"maildir {folder}"
        self.examined = 0

    def _open(self) -> mailbox.Maildir:
        if not ((self.folder / "cur").is_dir() and (self.folder / "new").is_dir()):
            raise ProviderError(
                NAME,
                f"read replies from {self.where}",
                "not a Maildir (no cur/ and new/ folders in it)",
                remedy="set replies.maildir to the folder that holds cur/, new/ and tmp/",
            )
        return mailbox.Maildir(self.folder, factory=None, create=False)

    def _memory(self, key: str) -> str:
        return f"maildir:{self.folder}:{key}"

    def check(self) -> str:
        """Whether the folder is a readable Maildir, and how many messages it holds."""
        try:
            count = sum(1 for _ in self._open().iterkeys())
        except OSError as exc:
            raise self._failure(exc) from exc
        return f"{self.where}: {count} message(s)"

    def _failure(self, exc: OSError) -> ProviderError:
        return ProviderError(
            NAME,
            f"read replies from {self.where}",
            exc.strerror or str(exc),
            remedy="let the user running rmcal read the folder",
            retryable=True,
        )

    def fetch(self) -> list[Incoming]:
        """Every message whose unique name was not read before, oldest name first."""
        box = self._open()
        incoming: list[Incoming] = []
        try:
            keys = box.iterkeys()
            fresh = sorted(
                (k for k in keys if self.kv.get(MEMORY, self._memory(k)) is None),
                key=delivery_order,
            )
            for key in fresh:
                try:
                    data = box.get_bytes(key)
                except KeyError:  # a mail client moved or removed it since the listing
                    continue
                incoming.append(Incoming(key, f"maildir {key}", data))
        except OSError as exc:
            raise self._failure(exc) from exc
        self.examined = len(fresh)
        self.log.info("local: %d new message(s) in %s", self.examined, self.where)
        return incoming

    def done(self, read: Sequence[Incoming]) -> None:
        """Remember each message read, reply or not, so that the next fetch skips it."""
        for item in read:
            self.kv.put(MEMORY, self._memory(item.key), "read")

    def close(self) -> None:
        """Nothing stays open between reads."""
