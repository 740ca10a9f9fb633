"""Replies as Outlook, Gmail and Apple Calendar mail them, read into answers (no files touched).

The fixtures in ``fixtures/replies/`` are written after RFC 6047/5546 and each client's habits:
Outlook's base64 ``text/calendar`` with ``X-MICROSOFT-*``/``X-MS-OLK-*`` and Windows zone names,
Gmail's calendar twice (inline and ``invite.ics``), Apple's quoted-printable attachment whose
attendee is a ``urn:uuid:`` with ``EMAIL=`` and ``X-CALENDARSERVER-*`` parameters.
"""

from __future__ import annotations

from datetime import datetime

from rmcal_providers.local.replymail import read_reply_mail

from tests.local.helpers import FIXTURES, london
from tests.zones import UTC

REPLIES = FIXTURES / "replies"
UID = "rm77ic44dm1m8ebhtia1722mg6@rmcal"  # series_key("c1", "ann-bob-000001"), as in spec()


def fixture(name: str) -> bytes:
    return (REPLIES / name).read_bytes()


def test_outlook_declines_one_session_with_a_windows_zone() -> None:
    mail = read_reply_mail(fixture("outlook_decline_one_session.eml"))
    assert mail is not None and mail.method == "REPLY" and mail.problem is None
    assert mail.message_id.endswith("@DB9PR03MB7436.eurprd03.prod.outlook.com>")
    assert mail.senders == {"bob@example.com"}
    (answer,) = mail.answers
    assert (answer.uid, answer.attendee, answer.partstat) == (UID, "bob@example.com", "DECLINED")
    assert answer.order == (0, datetime(2025, 3, 20, 10, 15, 32, tzinfo=UTC))
    # RECURRENCE-ID;TZID=GMT Standard Time:20250402T140000 is 14:00 London (BST).
    assert answer.recurrence_id is not None
    assert answer.recurrence_id.dt.replace(tzinfo=None) == datetime(2025, 4, 2, 14, 0)


def test_gmail_sends_the_calendar_twice_and_it_counts_once() -> None:
    mail = read_reply_mail(fixture("gmail_accept_series.eml"))
    assert mail is not None
    (answer,) = mail.answers
    assert (answer.attendee, answer.partstat, answer.recurrence_id) == (
        "ann@example.com",
        "ACCEPTED",
        None,
    )
    assert "calendar-notification@google.com" in mail.senders  # Gmail's Sender header


def test_apple_names_the_attendee_by_urn_uuid_with_the_address_in_email() -> None:
    mail = read_reply_mail(fixture("apple_tentative_one_session.eml"))
    assert mail is not None and mail.problem is None
    (answer,) = mail.answers
    assert answer.attendee == "ann@example.com"
    assert answer.partstat == "TENTATIVE"
    assert answer.recurrence_id is not None
    assert answer.recurrence_id.dt == london(2025, 4, 9, 14, 0)


def test_a_proposal_for_another_time_is_a_counter_not_an_answer() -> None:
    mail = read_reply_mail(fixture("outlook_propose_new_time.eml"))
    assert mail is not None and mail.method == "COUNTER" and mail.answers == ()


def test_ordinary_mail_carries_no_calendar() -> None:
    assert read_reply_mail(fixture("plain_mail.eml")) is None


def test_a_forwarded_reply_inside_another_message_is_not_the_senders_answer() -> None:
    inner = fixture("outlook_decline_one_session.eml")
    outer = (
        b"From: Ann Mentor <ann@example.com>\r\nTo: programme@example.com\r\n"
        b"Subject: Fwd: Declined\r\nMessage-ID: <fwd-1@example.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nFYI\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
        + inner
        + b"\r\n--b--\r\n"
    )
    assert read_reply_mail(outer) is None


def test_a_reply_without_message_id_gets_a_stable_key_from_its_bytes() -> None:
    data = fixture("reply_for_bob_sent_by_someone_else.eml").replace(
        b"Message-ID: <forged-1@elsewhere.example>\r\n", b""
    )
    first, second = read_reply_mail(data), read_reply_mail(data)
    assert first is not None and second is not None
    assert first.message_id == second.message_id
    assert first.message_id.startswith("<sha256-")


def test_a_damaged_calendar_is_a_problem_named_in_words() -> None:
    data = fixture("reply_for_bob_sent_by_someone_else.eml").replace(
        b"BEGIN:VEVENT", b"BEGIN:VEVENT\r\nDTSTART:not-a-date"
    )
    mail = read_reply_mail(data)
    assert mail is not None and mail.answers == ()
    assert mail.problem is not None and "cannot be read" in mail.problem
