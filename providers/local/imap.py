"""The organizer's IMAP mailbox as a source of replies: TLS always, read-only by default.

Why a module of its own: the conversation with the server (TLS from the first byte or STARTTLS,
a login whose password comes from the environment or a file, EXAMINE so that nothing in the
mailbox changes, BODY.PEEK so that nothing is marked read) is apart from what a reply means.
Only messages above the last UID read are asked for (per UIDVALIDITY, kept in the state file's
key/value store), and of those only the ones whose BODYSTRUCTURE holds a calendar part are
downloaded, so a tick on a busy mailbox costs a search and a structure fetch.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import socket
import ssl
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rmcal.errors import AuthError, ProviderError
from rmcal.provider import KeyValue

from .files import NAME
from .mailsource import MEMORY, Incoming
from .reply_settings import ImapSettings

IMAP_TIMEOUT = 30.0
STRUCTURE_BATCH = 500  # UIDs per BODYSTRUCTURE fetch
BODY_BATCH = 25  # messages per body fetch: bounds the memory one round trip takes
_START = re.compile(rb"^\d+ \(")
_UID = re.compile(rb"\bUID (\d+)")
# A calendar part in a BODYSTRUCTURE: ("text" "calendar" ...) or ("application" "ics" ...).
_CALENDAR = re.compile(rb'"TEXT" "CALENDAR"|"APPLICATION" "ICS"', re.IGNORECASE)


def quoted(text: str) -> str:
    """An IMAP quoted string (imaplib quotes only the password itself)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fetched(data: Sequence[Any]) -> Iterator[tuple[int, bytes, bytes]]:
    """imaplib's FETCH answer as (uid, text, literal) per message.

    imaplib hands back a flat list: a message's response is bytes, or a (text, literal) tuple
    followed by the rest of its text; an unsolicited FETCH without UID is left out.
    """
    items: list[list[bytes]] = []
    for item in data:
        text, literal = item if isinstance(item, tuple) else (item, b"")
        if not isinstance(text, bytes):
            continue
        if _START.match(text) or not items:
            items.append([text, literal or b""])
        else:
            items[-1][0] += text
            items[-1][1] += literal or b""
    for text, literal in items:
        uid = _UID.search(text)
        if uid is not None:
            yield int(uid.group(1)), text, literal


def _chunks(values: Sequence[int], size: int) -> Iterator[str]:
    for index in range(0, len(values), size):
        yield ",".join(str(v) for v in values[index : index + size])


class ImapMailbox:
    """One session with the organizer's mailbox: connect, read what is new, remember it.

    ``write`` is False for a dry run, and without ``mark_seen``: the mailbox is then opened
    with EXAMINE, and nothing in it can change.
    """

    def __init__(
        self,
        settings: ImapSettings,
        *,
        env: Mapping[str, str],
        kv: KeyValue,
        log: logging.Logger,
        write: bool,
    ) -> None:
        self.settings = settings
        self.env = env
        self.kv = kv
        self.log = log
        self.write = write and settings.mark_seen
        self.where = settings.where
        self.examined = 0
        self._client: imaplib.IMAP4 | None = None
        self._memory = f"imap:{settings.user}@{settings.host}:{settings.port}/{settings.mailbox}"
        self._validity = ""
        self._last = 0

    # --- errors, in the operator's words -------------------------------------------------------

    def _failure(self, exc: BaseException) -> ProviderError:
        operation = f"read replies from {self.where}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return ProviderError(
                NAME,
                operation,
                f"the server's certificate is not trusted ({exc.verify_message})",
                remedy="set replies.imap.ca_file to the CA that signed it",
            )
        if isinstance(exc, socket.timeout | TimeoutError):
            return ProviderError(
                NAME, operation, "the server did not answer in time", retryable=True
            )
        if isinstance(exc, OSError):
            return ProviderError(
                NAME,
                operation,
                f"cannot reach the server: {exc.strerror or exc}",
                remedy="check replies.imap.host, port and starttls",
                retryable=True,
            )
        text = exc.args[0] if exc.args else exc
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return ProviderError(NAME, operation, f"the server said: {text}", retryable=True)

    def _password(self) -> str:
        settings = self.settings
        if settings.password_file is not None:
            try:
                secret = settings.password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                secret = ""
                why = f"cannot read {settings.password_file}: {exc.strerror or exc}"
            else:
                why = f"{settings.password_file} is empty"
            where = "replies.imap.password_file"
        else:
            secret = self.env.get(settings.password_env or "", "").strip()
            why = f"environment variable {settings.password_env} is not set"
            where = "replies.imap.password_env"
        if not secret:
            raise AuthError(
                NAME, f"log in to {self.where}", why, remedy=f"provide the password ({where})"
            )
        return secret

    # --- the session -----------------------------------------------------------------------------

    def _connect(self) -> imaplib.IMAP4:
        if self._client is not None:
            return self._client
        settings = self.settings
        password = self._password()
        tls = ssl.create_default_context(
            cafile=str(settings.ca_file) if settings.ca_file is not None else None
        )
        try:
            if settings.starttls:
                client = imaplib.IMAP4(settings.host, settings.port, timeout=IMAP_TIMEOUT)
                self._client = client
                client.starttls(ssl_context=tls)
            else:
                client = imaplib.IMAP4_SSL(
                    settings.host, settings.port, ssl_context=tls, timeout=IMAP_TIMEOUT
                )
                self._client = client
        except (imaplib.IMAP4.error, OSError) as exc:
            self.close()
            raise self._failure(exc) from exc
        try:
            client.login(quoted(settings.user), password)
        except imaplib.IMAP4.abort as exc:
            self.close()
            raise self._failure(exc) from exc
        except imaplib.IMAP4.error as exc:
            self.close()
            raise AuthError(
                NAME,
                f"log in to {self.where}",
                "the server refused the login",
                remedy="check replies.imap.user and the password",
            ) from exc
        except OSError as exc:
            self.close()
            raise self._failure(exc) from exc
        return client

    def _open(self) -> imaplib.IMAP4:
        """Log in and open the mailbox: EXAMINE (read-only) unless mark_seen may write."""
        client = self._connect()
        status, data = client.select(quoted(self.settings.mailbox), readonly=not self.write)
        if status != "OK":
            said = data[-1].decode("utf-8", "replace") if data and data[-1] else "no reason given"
            raise ProviderError(
                NAME,
                f"open {self.where}",
                f"the server cannot open mailbox {self.settings.mailbox!r}: {said}",
                remedy="check replies.imap.mailbox (e.g. INBOX)",
            )
        _, validity = client.response("UIDVALIDITY")
        self._validity = validity[-1].decode() if validity and validity[-1] else ""
        return client

    def check(self) -> str:
        """Log in and open the mailbox once (``rmcal auth check``); what it holds, in words."""
        try:
            client = self._open()
            _, found = client.uid("SEARCH", "ALL")
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._failure(exc) from exc
        finally:
            self.close()
        count = len(found[0].split()) if found and found[0] else 0
        return f"{self.where}: logged in, {count} message(s)"

    def fetch(self) -> list[Incoming]:
        """Messages above the last UID read whose structure holds a calendar part."""
        try:
            client = self._open()
            stored = (self.kv.get(MEMORY, self._memory) or "").split()
            last = int(stored[1]) if len(stored) == 2 and stored[0] == self._validity else 0
            status, found = client.uid("SEARCH", "UID", f"{last + 1}:*")
            if status != "OK":
                raise imaplib.IMAP4.error(found[-1] if found else b"SEARCH failed")
            # "n:*" always matches the highest UID, even below n (RFC 3501 6.4.8).
            uids = sorted(u for u in map(int, (found[0] or b"").split()) if u > last)
            self.examined = len(uids)
            self._last = max([last, *uids])
            wanted: list[int] = []
            for chunk in _chunks(uids, STRUCTURE_BATCH):
                _, data = client.uid("FETCH", chunk, "(UID BODYSTRUCTURE)")
                wanted += [uid for uid, text, _ in fetched(data) if _CALENDAR.search(text)]
            incoming: list[Incoming] = []
            for chunk in _chunks(sorted(set(wanted)), BODY_BATCH):
                _, data = client.uid("FETCH", chunk, "(UID BODY.PEEK[])")
                incoming += [
                    Incoming(str(uid), f"{self.settings.mailbox} UID {uid}", body)
                    for uid, _, body in fetched(data)
                    if body
                ]
        except (imaplib.IMAP4.error, OSError) as exc:
            self.close()
            raise self._failure(exc) from exc
        self.log.info("local: %d new message(s) in %s", self.examined, self.where)
        return incoming

    def done(self, read: Sequence[Incoming]) -> None:
        """Remember the highest UID looked at; with ``mark_seen``, flag the replies read."""
        if self.write and read and self._client is not None:
            uids = [int(item.key) for item in read]
            try:
                for chunk in _chunks(uids, STRUCTURE_BATCH):
                    self._client.uid("STORE", chunk, "+FLAGS.SILENT", r"(\Seen)")
            except (imaplib.IMAP4.error, OSError) as exc:
                self.close()
                raise self._failure(exc) from exc
        if self._validity:
            self.kv.put(MEMORY, self._memory, f"{self._validity} {self._last}")

    def close(self) -> None:
        """Log out politely when the server still listens; drop the socket either way."""
        client, self._client = self._client, None
        if client is None:
            return
        # LOGOUT, never CLOSE: CLOSE on a mailbox opened for writing expunges every message
        # that another client flagged \Deleted, and rmcal never removes mail.
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            with contextlib.suppress(OSError):
                client.shutdown()
