"""iMIP replies made to order, and a local provider that reads them.

``imip_reply`` covers the cases the client fixtures (``fixtures/replies/``) do not.

A plain ``text/calendar; method=REPLY`` message with one VEVENT and the replying ATTENDEE, as a
minimal client (or Thunderbird) writes it: enough to vary one thing at a time (the stamp, the
sequence, the session, the sender) while the fixtures in ``fixtures/replies/`` show what the
big clients really send.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

from rmcal_providers.local import LocalProvider

from rmcal.provider import KeyValue, Response
from tests.local.helpers import FIXTURES, NOW, WIDE, by_day, context
from tests.zones import UTC

IMAP_PASSWORD_ENV = "RM_IMAP_PASSWORD"
REPLIES = FIXTURES / "replies"
# The clients' answers to spec()'s series (applied), then what must change nothing.
CLIENTS = [
    "outlook_accept_series.eml",
    "gmail_accept_series.eml",
    "outlook_decline_one_session.eml",
    "apple_tentative_one_session.eml",
]
OTHERS = [
    "gmail_forwarded_invite_stranger_accepts.eml",
    "reply_for_bob_sent_by_someone_else.eml",
    "outlook_propose_new_time.eml",
    "reply_to_another_meeting.eml",
    "plain_mail.eml",
]


def fixtures(*names: str) -> list[bytes]:
    return [(REPLIES / name).read_bytes() for name in names]


def responses(p: LocalProvider, key: str, who: str) -> dict[str, Response]:
    """``who``'s answer for each session of series ``key`` (by ``mm-dd``), as read back."""
    series = [s for s in p.find_series("c1") if s.key == key]
    return {d: o.responses[who] for d, o in by_day(p.occurrences(series, *WIDE)[key]).items()}


def reply_provider(
    tmp_path: Path, kv: KeyValue, replies: dict[str, object], password: str = ""
) -> LocalProvider:
    """A local provider on ``tmp_path/rm`` whose ``replies:`` section is ``replies``."""
    settings = {"folder": str(tmp_path / "rm"), "replies": replies}
    env = {IMAP_PASSWORD_ENV: password} if password else {}
    return LocalProvider(settings, replace(context(tmp_path, env=env, clock=lambda: NOW), kv=kv))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(moment: datetime) -> str:
    zone = getattr(moment.tzinfo, "key", "UTC")
    return f";TZID={zone}:{moment:%Y%m%dT%H%M%S}"


def imip_reply(
    *,
    uid: str,
    attendee: str,
    partstat: str,
    stamp: datetime,
    start: datetime | None = None,
    session: datetime | None = None,
    sequence: int = 0,
    sender: str | None = None,
    message_id: str | None = None,
    method: str = "REPLY",
) -> bytes:
    """One reply: ``session`` (an original start) answers that session, else the series."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//rmcal tests//reply builder//EN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_stamp(stamp)}",
        f"SEQUENCE:{sequence}",
        "ORGANIZER:mailto:programme@example.com",
        f"ATTENDEE;PARTSTAT={partstat}:mailto:{attendee}",
    ]
    if start is not None:
        lines.append("DTSTART" + _local(start))
    if session is not None:
        lines.append("RECURRENCE-ID" + _local(session))
    lines += ["END:VEVENT", "END:VCALENDAR"]
    message = EmailMessage()
    message["From"] = sender or attendee
    message["To"] = "programme@example.com"
    message["Subject"] = f"{partstat.title()}: Reverse mentoring"
    message["Date"] = format_datetime(stamp.astimezone(UTC))
    message["Message-ID"] = message_id or f"<{_stamp(stamp)}.{partstat}.{attendee}>"
    message.set_content(
        "\r\n".join(lines) + "\r\n",
        subtype="calendar",
        params={"method": method},
        cte="7bit",
    )
    return message.as_bytes(policy=SMTP)
