"""Google provider, Gmail: raw RFC 2822 as base64url, X-Rmcal-Key kept, never blindly re-sent."""

from __future__ import annotations

import base64
import email.policy
import json
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import httplib2
import pytest

from rmcal.errors import PermissionDenied
from rmcal.provider import ItemFailure
from tests.fakes.google_server import ORGANIZER, mock_provider, reply

SEND_URL = "https://google.test/gmail/v1/users/me/messages/send?alt=json"


def message(key: str, to: str = "ana@example.com") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Programme Office <{ORGANIZER}>"
    msg["To"] = to
    msg["Subject"] = "Agenda for Monday — session 2"
    msg["X-Rmcal-Key"] = key
    msg.set_content("Plain agenda: topics, questions.\n")
    msg.add_alternative("<p>HTML agenda: <b>topics</b>, questions.</p>", subtype="html")
    return msg


def decoded(request) -> EmailMessage:  # type: ignore[no-untyped-def]
    uri, method, body, _ = request
    assert (uri, method) == (SEND_URL, "POST")
    raw = json.loads(body)["raw"]
    assert "+" not in raw and "/" not in raw  # base64url, not base64
    data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    return BytesParser(policy=email.policy.default).parsebytes(data)


def test_send_posts_the_whole_message_as_base64url_raw(tmp_path: Path):
    provider, transport, _ = mock_provider(tmp_path, [reply("gmail_sent.json")])
    result = provider.send([message("agenda:rm01:20300304T090000Z")])
    assert result == {"agenda:rm01:20300304T090000Z": None}
    parsed = decoded(transport.request_sequence[0])
    assert parsed["X-Rmcal-Key"] == "agenda:rm01:20300304T090000Z"
    assert parsed["To"] == "ana@example.com"
    assert parsed["From"] == f"Programme Office <{ORGANIZER}>"
    assert parsed["Subject"] == "Agenda for Monday — session 2"
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert text.get_content() == "Plain agenda: topics, questions.\n"
    assert html.get_content().strip() == "<p>HTML agenda: <b>topics</b>, questions.</p>"


def test_throttled_send_waits_and_sends_once(tmp_path: Path):
    provider, transport, clock = mock_provider(
        tmp_path,
        [
            reply("error_403_user_rate_limit.json", status=429, retry_after="2"),
            reply("gmail_sent.json"),
        ],
    )
    assert provider.send([message("k1")]) == {"k1": None}
    assert len(transport.request_sequence) == 2
    assert clock.sleeps == [2.25]  # Retry-After 2, plus jitter


def test_a_server_error_leaves_the_outcome_unknown_and_is_not_resent(tmp_path: Path):
    provider, transport, _ = mock_provider(
        tmp_path, [reply("error_500.json", status=500), reply("gmail_sent.json")]
    )
    result = provider.send([message("k1"), message("k2")])
    failure = result["k1"]
    assert isinstance(failure, ItemFailure) and not failure.retryable and failure.uncertain
    assert "may or may not have been sent" in failure.message
    assert result["k2"] is None
    assert len(transport.request_sequence) == 2  # k1 once, k2 once


class FlakyTransport:
    """Fails the first requests with the given errors, then answers like Gmail."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        head, content = reply("gmail_sent.json")
        return httplib2.Response(head), content.encode()


def test_a_send_that_never_left_is_retried_and_sent_once(tmp_path: Path):
    provider, _, clock = mock_provider(tmp_path, [])
    transport = FlakyTransport(
        ConnectionRefusedError(111, "Connection refused"),
        httplib2.ServerNotFoundError("Unable to find the server at google.test"),
    )
    provider.client.transport = transport
    assert provider.send([message("k1")]) == {"k1": None}
    assert transport.calls == 3 and len(clock.sleeps) == 2


def test_a_503_is_waited_out_because_google_did_not_act(tmp_path: Path):
    provider, transport, _ = mock_provider(
        tmp_path, [reply("error_500.json", status=503, retry_after="1"), reply("gmail_sent.json")]
    )
    assert provider.send([message("k1")]) == {"k1": None}
    assert len(transport.request_sequence) == 2


def test_a_scope_refused_after_a_send_went_out_fails_the_rest_without_raising(tmp_path: Path):
    provider, _, _ = mock_provider(
        tmp_path,
        [reply("gmail_sent.json"), reply("error_403_insufficient_scope.json", status=403)],
    )
    result = provider.send([message("k1"), message("k2"), message("k3")])
    assert result["k1"] is None  # sent: raising now would make the ledger forget it
    assert result["k2"] == result["k3"] and result["k2"] is not None
    assert "not sent" in result["k2"].message and not result["k2"].uncertain


def test_find_sent_searches_the_whole_mailbox_by_rfc822msgid(tmp_path: Path):
    provider, transport, _ = mock_provider(
        tmp_path,
        [reply({"messages": [{"id": "m1", "threadId": "t1"}]}), reply({"resultSizeEstimate": 0})],
    )
    found = provider.find_sent(["<rmcal.1@example.com>", "<rmcal.2@example.com>"])
    assert found == {"<rmcal.1@example.com>": True, "<rmcal.2@example.com>": False}
    uri, method, _, _ = transport.request_sequence[0]
    assert method == "GET" and uri.startswith("https://google.test/gmail/v1/users/me/messages?")
    assert "q=rfc822msgid%3Armcal.1%40example.com" in uri
    assert "includeSpamTrash=true" in uri and "maxResults=1" in uri


class DroppingTransport:
    """Loses the connection on the first send, as a dropped TCP connection would."""

    def __init__(self) -> None:
        self.calls = 0

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 1:
            raise ConnectionResetError("connection reset by peer")
        head, content = reply("gmail_sent.json")
        return httplib2.Response(head), content.encode()


def test_a_dropped_connection_is_reported_not_retried(tmp_path: Path):
    provider, _, _ = mock_provider(tmp_path, [])
    transport = DroppingTransport()
    provider.client.transport = transport  # the same provider, over a transport that drops
    result = provider.send([message("k1"), message("k2")])
    assert isinstance(result["k1"], ItemFailure) and not result["k1"].retryable
    assert result["k1"].uncertain
    assert result["k2"] is None
    assert transport.calls == 2


def test_a_message_without_key_is_refused(tmp_path: Path):
    provider, transport, _ = mock_provider(tmp_path, [])
    msg = message("x")
    del msg["X-Rmcal-Key"]
    result = provider.send([msg])
    assert list(result) == ["#0"]
    assert "X-Rmcal-Key" in result["#0"].message
    assert transport.request_sequence == []


def test_quota_exhaustion_leaves_the_rest_unsent_for_the_next_run(tmp_path: Path):
    provider, transport, clock = mock_provider(
        tmp_path,
        [reply("error_403_user_rate_limit.json", status=403)] * 8,
        max_retry_seconds=10,
    )
    result = provider.send([message("k1"), message("k2")])
    # Not sent, and not to be tried again in this run (the budget is spent): the next run.
    assert not result["k1"].retryable and not result["k2"].retryable
    assert not result["k1"].uncertain  # throttled: Google did not act on it
    assert "the next run sends it" in result["k2"].message
    assert clock.sleeps == [0.75, 1.5, 3.0]  # 10 s of budget, then 6 s more would pass it
    assert len(transport.request_sequence) == 4  # k2 was not even tried


def test_one_spent_budget_per_run_though_the_outbox_sends_one_message_per_call(tmp_path: Path):
    # The outbox hands over one message per call: the budget spent on one call must stop the
    # run's later calls too, instead of spending a budget per message.
    provider, transport, clock = mock_provider(
        tmp_path,
        [reply("error_403_user_rate_limit.json", status=403)] * 8,
        max_retry_seconds=10,
    )
    first = provider.send([message("k1")])
    second = provider.send([message("k2")])
    assert not first["k1"].retryable and not first["k1"].uncertain
    assert "the next run sends it" in second["k2"].message
    assert len(transport.request_sequence) == 4 and clock.sleeps == [0.75, 1.5, 3.0]


def test_missing_gmail_scope_is_a_permission_error(tmp_path: Path):
    provider, _, _ = mock_provider(
        tmp_path, [reply("error_403_insufficient_scope.json", status=403)]
    )
    with pytest.raises(PermissionDenied) as caught:
        provider.send([message("k1")])
    assert "gmail.send" in caught.value.remedy


def test_a_folded_key_read_back_from_stored_bytes_is_the_key(tmp_path: Path):
    """A key past ~66 characters is folded when stored and reads back with a leading space;
    the send result is keyed by the key itself."""
    key = "headsup:rmjqru2q1tvrmotitkkatrlbk1:2027-01-13T14:00:00Z:ana@example.com"
    stored = BytesParser(policy=email.policy.default).parsebytes(message(key).as_bytes())
    assert str(stored["X-Rmcal-Key"]) == " " + key
    provider, _, _ = mock_provider(tmp_path, [reply("gmail_sent.json")])
    assert provider.send([stored]) == {key: None}
