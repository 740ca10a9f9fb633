"""Invitations for the local provider: iMIP (RFC 6047) messages carrying an iTIP REQUEST.

Why a module of its own: without a calendar server, the invitation e-mail *is* the calendar
entry people get, so it must open as a real invitation in Outlook, Gmail and Apple Mail
(``text/calendar; method=REQUEST`` beside the text and HTML, plus an ``.ics`` attachment for
clients that only offer a download). Pure: a series file and a moment in, a message out; the
provider puts it in the outbox.
"""

from __future__ import annotations

import html
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

from rmcal import recurrence
from rmcal.mail import domain_of, message_id
from rmcal.provider import MAIL_KEY_HEADER, Attendee

from . import ics
from .ics.values import UTC

Change = Literal["create", "update", "end", "cancel"]  # what happened to the series
_UPDATED = "Updated: "
_CANCELLED = "Cancelled: "


def invitation(
    series: ics.SeriesFile, *, change: Change, now: datetime, organizer: Attendee
) -> EmailMessage:
    """An iMIP REQUEST for the series as stored: opens as a real invitation; for a cancelled
    series an iMIP CANCEL, which removes it from the attendees' calendars.

    ``organizer`` is the programme mailbox: the sender when the file names none, and the domain
    of the Message-ID. ``now`` dates the message (the run's clock, so ``--now`` moves it).
    """
    master = series.master
    title = " ".join(ics.text_of(master, "SUMMARY").split()) or "Reverse-mentoring session"
    organizer_prop = master.get("ORGANIZER")
    organizer_name = ics.param_of(organizer_prop, "CN") if organizer_prop is not None else ""
    organizer_email = series.organizer or organizer.email.lower()
    names = {ics.email_of(a): ics.param_of(a, "CN") for a in ics.prop_values(master, "ATTENDEE")}
    when = when_line(series, change)
    text_body = ics.text_of(master, "DESCRIPTION")
    html_body = ics.text_of(master, "X-ALT-DESC") or (
        "<pre>" + html.escape(text_body) + "</pre>" if text_body else ""
    )
    message = EmailMessage()
    message["From"] = Address(organizer_name, addr_spec=organizer_email)
    message["To"] = [Address(names.get(email, ""), addr_spec=email) for email in series.attendees()]
    prefix = {"create": "", "cancel": _CANCELLED}.get(change, _UPDATED)
    message["Subject"] = prefix + title
    message["Date"] = format_datetime(now.astimezone(UTC))
    key = f"invite:{series.key}:{series.sequence}"
    message["Message-ID"] = message_id(key, domain_of(organizer.email))
    message[MAIL_KEY_HEADER] = key
    message.set_content(f"{when}\n\n{text_body}".rstrip() + "\n")
    message.add_alternative(
        f"<p>{html.escape(when)}</p>\n{html_body}".rstrip() + "\n", subtype="html"
    )
    method = "CANCEL" if change == "cancel" else "REQUEST"
    invite = ics.itip(series.calendar, method).to_ical()
    message.add_alternative(
        invite.decode("utf-8"),
        subtype="calendar",
        params={"method": method},
        # 8bit would need the server's 8BITMIME; quoted-printable travels everywhere.
        cte="7bit" if invite.isascii() else "quoted-printable",
    )
    message.add_attachment(invite, maintype="application", subtype="ics", filename="invite.ics")
    return message


def when_line(series: ics.SeriesFile, change: Change) -> str:
    """One human line about the schedule (the calendar part carries the exact rule)."""
    first = series.event.first
    zone = ics.zone_name(series.event.zone)
    end = first + series.event.duration
    if change == "cancel":
        return (
            f"Cancelled: the series that was to start on {first:%A %d %B %Y}, "
            f"{first:%H:%M}-{end:%H:%M} ({zone}); none of its sessions will take place."
        )
    line = (
        f"First session: {first:%A %d %B %Y}, {first:%H:%M}-{end:%H:%M} ({zone})"
        if change != "end"
        else f"Sessions at {first:%H:%M}-{end:%H:%M} ({zone})"
    )
    count = recurrence.occurrence_count(series.rule, first)
    last = recurrence.last_start(series.rule, first)
    if change == "end" and last is not None:
        return f"{line}; the series now ends with the session on {last:%A %d %B %Y}."
    if count is not None and count > 1:
        return f"{line}; {count} sessions."
    return line + "."
