"""Invitations: an iMIP REQUEST that opens as a real invitation in any mail client."""

from __future__ import annotations

from pathlib import Path

from icalendar import Calendar

from tests.local.helpers import (
    NOW,
    created,
    london,
    outbox,
    parse_eml,
    provider,
    spec,
)


def test_invitation_is_a_real_imip_request(tmp_path: Path) -> None:
    p = provider(tmp_path)
    s = spec(start=london(2025, 3, 19, 14, 0))
    created(p, s)
    (path,) = outbox(p)
    assert path.name.startswith("20250301T090000Z-invite-")
    message = parse_eml(path)
    assert message["X-Rmcal-Key"] == f"invite:{s.key}:0"
    assert message["Subject"] == "Reverse mentoring: Ann & Bob"
    assert message["From"].addresses[0].addr_spec == "programme@example.com"
    assert [a.addr_spec for a in message["To"].addresses] == ["ann@example.com", "bob@example.com"]
    assert message["Date"].datetime == NOW
    assert message["Message-ID"].endswith("@example.com>")
    kinds = [part.get_content_type() for part in message.walk()]
    assert kinds == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
        "application/ics",
    ]
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and "Bob owns the agenda" in plain.get_content()
    assert "Wednesday 19 March 2025, 14:00-14:45 (Europe/London); 6 sessions" in plain.get_content()
    assert html is not None and "<b>owns the agenda</b>" in html.get_content()
    (calendar_part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_content_charset() == "utf-8"
    invite = Calendar.from_ical(calendar_part.get_content())
    assert str(invite["METHOD"]) == "REQUEST"
    (event,) = invite.walk("VEVENT")
    assert int(event["SEQUENCE"]) == 0 and str(event["UID"]) == f"{s.key}@rmcal"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "invite.ics"
    assert Calendar.from_ical(attachment.get_content()).to_ical() == invite.to_ical()
