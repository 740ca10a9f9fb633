"""What every source of replies hands the inbox: a message's bytes and where it was read.

Why a module of its own: the IMAP and Maildir sources differ in everything but this, and the
inbox (``replies``) reads both through it without knowing which one it has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

MEMORY = "local.replies"  # the state file's key/value namespace for what was read


@dataclass(frozen=True)
class Incoming:
    """One message not read before."""

    key: str  # the source's own name for it (an IMAP UID, a Maildir unique name)
    label: str  # where it was read, for the report: "INBOX UID 42", "maildir new/1733..."
    data: bytes


class MailSource(Protocol):
    """A mailbox read for replies: ``fetch`` what is new, then ``done`` once it is applied."""

    where: str  # the mailbox as an operator names it (no credentials)
    examined: int  # new messages looked at by the last fetch, replies or not

    def fetch(self) -> list[Incoming]:
        """Messages not read before that may carry a reply."""
        ...

    def done(self, read: Sequence[Incoming]) -> None:
        """Remember what was read, so that the next fetch starts after it."""
        ...

    def check(self) -> str:
        """Open the mailbox once (``rmcal auth check``); what it holds, in words."""
        ...

    def close(self) -> None: ...
