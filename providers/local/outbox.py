"""The outbox: one ``.eml`` per X-Rmcal-Key, and the queue of those SMTP has not yet accepted.

Why a class of its own: the outbox is what makes the local provider's ``send`` idempotent (a
key already there is a success, not a second message), and the SMTP queue is what makes
delivery survive a server that is down: a message reaches the outbox first, then waits as a
marker in ``.smtp-pending/`` until the server takes it, on this call or a later one.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from rmcal.mail import domain_of, message_id
from rmcal.provider import Attendee, Check, mail_key

from .files import OUTBOX, PENDING, atomic_write
from .ics.values import UTC
from .settings import SmtpSettings
from .smtp import Mailer, SmtpFailure

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"  # 16 characters, sorts in time order
_SLUG = re.compile(r"[^a-z0-9]+")


def mail_slug(key: str) -> str:
    """A file-name-safe, unique name for a mail key: readable prefix plus a hash of the key."""
    readable = _SLUG.sub("-", key.lower()).strip("-")[:80].strip("-") or "message"
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


class Outbox:
    """``<folder>/outbox``: messages written once per key, delivered over SMTP when set.

    ``clock`` dates a message that has no Date header (and names its file); ``organizer`` is
    the sender and Message-ID domain of a message that names none.
    """

    def __init__(
        self,
        folder: Path,
        *,
        smtp: SmtpSettings | None,
        organizer: Attendee,
        env: Mapping[str, str],
        clock: Callable[[], datetime],
        log: logging.Logger,
    ) -> None:
        self.folder = folder / OUTBOX
        self.smtp = smtp
        self.organizer = organizer
        self.env = env
        self.clock = clock
        self.log = log

    @property
    def pending(self) -> Path:
        return self.folder / PENDING

    def index(self) -> dict[str, str]:
        """Outbox file names by ``<slug>-<hash>`` (the part after the time stamp)."""
        if not self.folder.is_dir():
            return {}
        found: dict[str, str] = {}
        for name in os.listdir(self.folder):
            if name.endswith(".eml") and len(name) > len(STAMP_FORMAT) + 6 and name[16] == "-":
                found[name[17:-4]] = name
        return found

    def queue(self, message: EmailMessage) -> bool:
        """Put one message in the outbox (and the SMTP queue); False when its key is there.

        The SMTP marker is written before the .eml: a crash between the two leaves a marker
        without a message (dropped on the next flush), never a message that is silently
        taken as delivered.
        """
        key = mail_key(message) or ""
        slug = mail_slug(key)
        if slug in self.index():
            return False
        if message["Date"] is None or message["Message-ID"] is None or message["From"] is None:
            message = copy.deepcopy(message)  # the caller's message is never changed
        when = self.clock()
        if message["Date"] is None:
            message["Date"] = format_datetime(when.astimezone(UTC))
        else:
            with contextlib.suppress(TypeError, ValueError):
                parsed = parsedate_to_datetime(str(message["Date"]))
                when = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if message["Message-ID"] is None:
            message["Message-ID"] = message_id(key, domain_of(self.organizer.email))
        if message["From"] is None:
            message["From"] = Address(self.organizer.name, addr_spec=self.organizer.email)
        data = message.as_bytes(policy=policy.SMTP)
        name = f"{when.astimezone(UTC).strftime(STAMP_FORMAT)}-{slug}.eml"
        if self.smtp is not None:
            atomic_write(self.pending / slug, name.encode())
        atomic_write(self.folder / name, data)
        self.log.info("local: wrote %s", self.folder / name)
        return True

    def _mailer(self, smtp: SmtpSettings) -> Mailer:
        return Mailer(smtp, self.env, self.organizer.email.lower())

    def flush(self) -> dict[str, str]:
        """Deliver every queued message over SMTP, oldest first; failures by mail key."""
        smtp = self.smtp
        if smtp is None or not self.pending.is_dir():
            return {}
        markers = sorted(
            (p for p in self.pending.iterdir() if not p.name.startswith(".")),
            key=lambda p: p.read_text(errors="replace"),
        )
        failures: dict[str, str] = {}
        mailer = self._mailer(smtp)
        try:
            for marker in markers:
                eml = self.folder / marker.read_text().strip()
                if not eml.is_file():
                    marker.unlink(missing_ok=True)
                    continue
                with eml.open("rb") as handle:
                    message = BytesParser(policy=policy.default).parse(handle)
                key = mail_key(message) or marker.name
                try:
                    mailer.deliver(message)
                except SmtpFailure as exc:
                    failures[key] = str(exc)
                    self.log.warning("local: %s stays queued: %s", eml.name, exc)
                    continue
                marker.unlink(missing_ok=True)
                self.log.info("local: delivered %s over SMTP", eml.name)
        finally:
            mailer.close()
        return failures

    def check_smtp(self, smtp: SmtpSettings) -> Check:
        """Whether the server accepts rmcal's login, and how many messages wait for it."""
        mailer = self._mailer(smtp)
        queued = len(list(self.pending.iterdir())) if self.pending.is_dir() else 0
        waiting = f"; {queued} message(s) waiting for delivery" if queued else ""
        who = f" as {smtp.user}" if smtp.user else ""
        try:
            mailer.connect()
        except SmtpFailure as exc:
            return Check(
                "smtp",
                False,
                f"{exc}{waiting}",
                remedy="check smtp.host, smtp.port, smtp.starttls, smtp.user and the password "
                "environment variable",
            )
        finally:
            mailer.close()
        return Check("smtp", True, f"{smtp.host}:{smtp.port}{who} accepted{waiting}")
