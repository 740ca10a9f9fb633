"""Turning rendered text into a standards-compliant ``EmailMessage``, safely.

Why a module of its own: every e-mail rmcal sends goes through ``compose``, so the rules that
keep mail safe and traceable live in one place:

* MIME is built by the standard library (``email.message.EmailMessage``, policy ``default``),
  never by hand: a text part and an HTML alternative, correct encodings and folding.
* Names come from configs and HR exports. A name with CR/LF (or any control character) could
  inject headers, so display names and subjects are flattened to one line and addresses go
  through ``email.headerregistry.Address``; an address with a control character or whitespace
  is refused outright (it can only be an attack or a broken export).
* ``Message-ID`` is derived from the mail key and the organizer's domain, so a message re-sent
  after a crash carries the same id and mail systems can drop the duplicate.
* ``X-Rmcal-Key`` carries the ledger key; providers key their send results by it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as DEFAULT_POLICY
from email.utils import format_datetime

from rmcal.provider import MAIL_KEY_HEADER

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators that some mail software
# treats as line breaks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ADDRESS = re.compile(r"^[^\s@<>,;:\"\\()\[\]]+@[^\s@<>,;:\"\\()\[\]]+$")


class UnsafeHeader(ValueError):
    """A value cannot go into a mail header without changing the header's meaning."""


def one_line(value: str) -> str:
    """Control characters (CR, LF, TAB, NUL...) become single spaces; ends trimmed."""
    return " ".join(_CONTROL.sub(" ", value).split())


def address(name: str, email: str) -> Address:
    """A header-safe address: the name flattened to one line, the address checked."""
    if not _ADDRESS.match(email):
        raise UnsafeHeader(f"refusing to use {email!r} as an e-mail address")
    local, domain = email.rsplit("@", 1)
    return Address(display_name=one_line(name), username=local, domain=domain)


def domain_of(email: str) -> str:
    """The domain part of an address (``localhost`` for none), e.g. for Message-IDs."""
    return email.rsplit("@", 1)[-1].strip().lower() or "localhost"


def message_id(key: str, domain: str) -> str:
    """Stable per mail key: the same logical message always has the same Message-ID."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<rmcal.{digest}@{domain}>"


@dataclass(frozen=True)
class Rendered:
    """What a template produced for one message, before it becomes MIME."""

    subject: str
    text: str
    html: str


def compose(
    *,
    key: str,
    sender: Address,
    to: Sequence[Address],
    rendered: Rendered,
    date: datetime,
    cc: Sequence[Address] = (),
    reply_to: Address | None = None,
) -> EmailMessage:
    """One multipart/alternative message (text first, HTML preferred), ledger key attached."""
    if not to:
        raise ValueError(f"{key}: a message needs at least one recipient")
    msg = EmailMessage(policy=DEFAULT_POLICY)
    msg["From"] = sender
    msg["To"] = list(to)
    if cc:
        msg["Cc"] = list(cc)
    if reply_to is not None:
        msg["Reply-To"] = reply_to
    msg["Subject"] = one_line(rendered.subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id(key, sender.domain)
    msg[MAIL_KEY_HEADER] = one_line(key)
    # RFC 3834: tells auto-responders (out-of-office) not to answer a machine.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


def recipients(msg: EmailMessage) -> list[str]:
    """Every address the message goes to (To and Cc), for the ledger."""
    out: list[str] = []
    for header in ("To", "Cc"):
        value = msg[header]
        if value is not None:
            out.extend(a.addr_spec for a in value.addresses)
    return out
