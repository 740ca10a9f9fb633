"""sendMail: the MIME payload keeps X-Rmcal-Key and both bodies; failures map per message."""

from __future__ import annotations

import base64
import email
import email.policy
from email.message import EmailMessage

import pytest
import requests
import responses

from rmcal.errors import PermissionDenied
from rmcal.provider import ItemFailure
from tests.microsoft.helpers import ORGANIZER, USER, fixture, mock_login, provider

SEND = f"{USER}/sendMail"


def message(key: str, to: str = "mentee0@contoso.com") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Programme Office <{ORGANIZER}>"
    msg["To"] = to
    msg["Subject"] = "Agenda for Wednesday — reverse mentoring"
    msg["X-Rmcal-Key"] = key
    msg.set_content("Plain agenda: 1. AI tools 2. Questions\n")
    msg.add_alternative("<p>HTML agenda: <b>AI tools</b></p>\n", subtype="html")
    return msg


def test_send_posts_base64_mime_that_parses_back_to_the_same_message(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, SEND, status=202)
        result = provider(tmp_path).send([message("agenda:key-0:20260107T130000Z")])
        call = next(c for c in rsps.calls if c.request.url == SEND)
    assert result == {"agenda:key-0:20260107T130000Z": None}
    assert call.request.headers["Content-Type"] == "text/plain"
    raw = base64.b64decode(call.request.body, validate=True)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["X-Rmcal-Key"] == "agenda:key-0:20260107T130000Z"
    assert parsed["To"] == "mentee0@contoso.com"
    assert parsed["Subject"] == "Agenda for Wednesday — reverse mentoring"
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(preferencelist=("plain",)).get_content()
    html = parsed.get_body(preferencelist=("html",)).get_content()
    assert "Plain agenda" in plain
    assert "<b>AI tools</b>" in html


def test_each_message_gets_its_own_result(tmp_path, waits):
    bad = fixture("errors")["TimeZoneNotSupportedException"]
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, SEND, status=202)
        rsps.add(responses.POST, SEND, status=429, headers={"Retry-After": "5"})
        rsps.add(responses.POST, SEND, status=202)
        rsps.add(responses.POST, SEND, status=400, json=bad["body"])
        rsps.add(responses.POST, SEND, body=requests.ConnectionError("reset"))
        result = provider(tmp_path, waits).send(
            [message("a"), message("b"), message("c"), message("d")]
        )
    assert result["a"] is None
    assert result["b"] is None  # throttled once, sent after the Retry-After
    assert waits.waits == [5.0]
    assert isinstance(result["c"], ItemFailure) and not result["c"].retryable
    assert isinstance(result["d"], ItemFailure)
    assert "may have gone out" in result["d"].message and not result["d"].retryable


def test_missing_mail_send_permission_stops_the_whole_send(tmp_path):
    denied = fixture("errors")["ErrorAccessDenied"]
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, SEND, status=403, json=denied["body"])
        with pytest.raises(PermissionDenied, match=r"Mail\.Send"):
            provider(tmp_path).send([message("a"), message("b")])
