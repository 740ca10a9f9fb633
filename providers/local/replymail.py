"""Attendees' answers as their calendar apps mail them: iMIP (RFC 6047) replies, read.

Why a module of its own: the local provider has no calendar server, so an RSVP reaches it only
as an e-mail that the attendee's app writes, and each app writes it its own way. Outlook puts a
base64 ``text/calendar; method=REPLY`` beside its text, full of ``X-MICROSOFT-*``/``X-MS-OLK-*``
properties, with Windows zone names and ``MAILTO:`` in capitals; Gmail sends the same calendar
twice (the ``text/calendar`` alternative and an ``invite.ics`` attachment); Apple Calendar
quotes its parameters, adds ``X-CALENDARSERVER-*`` ones and may name the attendee by a
``urn:uuid:`` address with the e-mail in ``EMAIL=``. This module reads all of them into one
small type, ``Answer``. Pure: message bytes in, a ``ReplyMail`` out; applying an answer to a
series file is ``rsvp``'s job.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from . import ics
from .ics.values import (
    UTC,
    check_times,
    email_of,
    events_of,
    param_of,
    prop_time,
    prop_values,
    reading,
    sequence_of,
)

CALENDAR_TYPES = ("text/calendar", "application/ics")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the stamp of an answer that carries none


@dataclass(frozen=True)
class Answer:
    """One attendee's answer to a series, or to one of its sessions, as a REPLY carries it.

    The times stay properties: a floating RECURRENCE-ID can only be read in the zone of the
    series it answers, which is not known until the UID is matched to a file.
    """

    uid: str
    attendee: str  # the calendar address as an e-mail, lower-cased
    aliases: frozenset[str]  # every e-mail the reply gives for the attendee (mailto:, EMAIL=)
    partstat: str  # upper-cased
    sequence: int  # the invitation revision the attendee answered
    stamp: datetime  # DTSTAMP, aware UTC: orders answers of the same revision
    recurrence_id: Any | None  # the RECURRENCE-ID property; None: the whole series
    start: Any | None  # the DTSTART property: the time the attendee said yes or no to

    @property
    def order(self) -> tuple[int, datetime]:
        """RFC 5546 ordering: a higher SEQUENCE is newer; within one, the later DTSTAMP."""
        return (self.sequence, self.stamp)


@dataclass(frozen=True)
class ReplyMail:
    """An e-mail with an iCalendar part: who sent it, its METHOD and the answers in it."""

    message_id: str
    senders: frozenset[str]  # From and Sender, lower-cased: who may answer for whom
    method: str  # METHOD of the calendar (REPLY, COUNTER, REQUEST...), upper-cased
    answers: tuple[Answer, ...] = ()
    problem: str | None = None  # why the calendar part could not be used

    @property
    def sender(self) -> str:
        return min(self.senders) if self.senders else ""


def message_key(data: bytes, message: Message) -> str:
    """The message's Message-ID, or a digest of its bytes when it has none."""
    found = message.get("Message-ID")
    text = str(found).strip() if found is not None else ""
    return text or f"<sha256-{hashlib.sha256(data).hexdigest()[:40]}>"


def _senders(message: Message) -> frozenset[str]:
    values = [str(v) for name in ("From", "Sender") for v in message.get_all(name, [])]
    return frozenset(addr.strip().lower() for _, addr in getaddresses(values) if "@" in addr)


def _calendar_parts(part: Message) -> Iterator[Message]:
    """The iCalendar parts of a message, not looking inside attached messages.

    A forwarded or bounced message (``message/rfc822``) carries someone else's calendar; only
    parts the sender's own app wrote count.
    """
    if part.get_content_maintype() == "message":
        return
    if part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                yield from _calendar_parts(sub)
        return
    if part.get_content_type() in CALENDAR_TYPES:
        yield part


def _payload(part: Message) -> bytes:
    """The part's calendar text as UTF-8 bytes, whatever transfer encoding and charset."""
    raw = part.get_payload(decode=True)
    data = raw if isinstance(raw, bytes) else b""
    charset = (part.get_content_charset() or "utf-8").lower()
    if charset not in ("utf-8", "utf8", "us-ascii", "ascii"):
        with contextlib.suppress(LookupError, UnicodeDecodeError):  # else: the bytes as sent
            data = data.decode(charset).encode("utf-8")
    # Line ends as the transfer left them (CRLF, LF, or a stray CR after quoted-printable):
    # iCalendar text has no bare CR, so every one of them ends a line.
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _date(message: Message) -> datetime:
    try:
        parsed = parsedate_to_datetime(str(message.get("Date", "")))
    except (TypeError, ValueError):
        return EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _addresses(prop: object) -> tuple[str, frozenset[str]]:
    """The attendee's e-mail and every alias: ``mailto:`` (any case) or Apple's ``EMAIL=``."""
    text = str(prop).strip()
    mailto = email_of(text) if text[:7].lower() == "mailto:" else ""
    param = param_of(prop, "EMAIL").strip().strip('"').lower()
    aliases = frozenset(a for a in (mailto, param) if "@" in a)
    return (mailto or param), aliases


def _single(event: Any, name: str) -> Any | None:
    """A property that should appear once; the first of several (a damaged copy adds one)."""
    found = prop_values(event, name)
    return found[0] if found else None


@reading
def _answers(calendar: Any, senders: frozenset[str], fallback: datetime) -> list[Answer]:
    found: list[Answer] = []
    for event in events_of(calendar):
        check_times(event)  # a damaged DTSTART or RECURRENCE-ID stops here, named
        uid = str(event.get("UID", "")).strip()
        people = [(prop, *_addresses(prop)) for prop in prop_values(event, "ATTENDEE")]
        people = [p for p in people if p[1]]
        if len(people) > 1:  # RFC 5546 wants only the replier; some apps list everyone
            people = [p for p in people if p[2] & senders] or people
        sequence = sequence_of(event)
        stamp_prop = event.get("DTSTAMP")
        stamp = (
            prop_time(stamp_prop, UTC, "DTSTAMP").astimezone(UTC)
            if stamp_prop is not None
            else fallback
        )
        for prop, email, aliases in people:
            found.append(
                Answer(
                    uid=uid,
                    attendee=email,
                    aliases=aliases,
                    partstat=param_of(prop, "PARTSTAT", "NEEDS-ACTION").upper(),
                    sequence=sequence,
                    stamp=stamp,
                    recurrence_id=_single(event, "RECURRENCE-ID"),
                    start=_single(event, "DTSTART"),
                )
            )
    return found


def _identity(answer: Answer) -> tuple[object, ...]:
    rid = answer.recurrence_id
    return (
        answer.uid,
        answer.attendee,
        answer.partstat,
        answer.order,
        None
        if rid is None
        else (rid.to_ical(), *sorted(f"{k}={v}" for k, v in rid.params.items())),
    )


def read_reply_mail(data: bytes) -> ReplyMail | None:
    """The calendar content of one message; None when it carries no iCalendar part.

    The same answer found twice (Gmail's inline calendar and its ``invite.ics``) counts once.
    """
    message = message_from_bytes(data, policy=policy.compat32)
    parts = list(_calendar_parts(message))
    if not parts:
        return None
    key = message_key(data, message)
    senders = _senders(message)
    methods: list[str] = []
    answers: dict[tuple[object, ...], Answer] = {}
    problem = None
    for part in parts:
        try:
            (calendar,) = ics.parse_calendar(_payload(part))
            method = str(calendar.get("METHOD", "") or part.get_param("method") or "").upper()
            methods.append(method)
            if method == "REPLY":
                for answer in _answers(calendar, senders, _date(message)):
                    answers.setdefault(_identity(answer), answer)
        except ics.IcsError as exc:
            problem = f"its calendar part cannot be read: {exc}"
    method = "REPLY" if "REPLY" in methods else (methods[0] if methods else "")
    if answers:
        problem = None  # one readable copy is enough (Gmail sends two)
    elif method == "REPLY" and problem is None:
        problem = "its REPLY names no attendee"
    return ReplyMail(
        message_id=key,
        senders=senders,
        method=method,
        answers=tuple(answers.values()),
        problem=problem,
    )
