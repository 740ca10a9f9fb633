"""sendMail: the MIME payload keeps X-Rmcal-Key and both bodies; failures map per message."""

from __future__ import annotations

import base64
import email
import email.policy
from email.message import EmailMessage

import pytest
import requests
import responses
import urllib3.exceptions as u3

from rmcal.errors import PermissionDenied
from rmcal.provider import ItemFailure
from tests.microsoft.helpers import ORGANIZER, USER, fixture, mock_login, provider

SEND = f"{USER}/sendMail"
MESSAGES = f"{USER}/messages"
REFUSED = requests.ConnectionError(
    u3.MaxRetryError(None, SEND, u3.NewConnectionError(None, "[Errno 111] Connection refused"))
)


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
    assert result["d"].uncertain and not result["c"].uncertain


def test_missing_mail_send_permission_stops_the_whole_send(tmp_path):
    denied = fixture("errors")["ErrorAccessDenied"]
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, SEND, status=403, json=denied["body"])
        with pytest.raises(PermissionDenied, match=r"Mail\.Send"):
            provider(tmp_path).send([message("a"), message("b")])


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_server_error_on_a_send_is_uncertain_and_never_repeated(tmp_path, waits, status):
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        send = rsps.add(responses.POST, SEND, status=status, json={"error": {"code": "x"}})
        result = provider(tmp_path, waits).send([message("a")])
    failure = result["a"]
    assert isinstance(failure, ItemFailure) and failure.uncertain and not failure.retryable
    assert send.call_count == 1 and waits.waits == []


def test_a_timeout_after_the_send_went_out_is_uncertain(tmp_path, waits):
    timeout = requests.ReadTimeout(u3.ReadTimeoutError(None, SEND, "Read timed out."))
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        send = rsps.add(responses.POST, SEND, body=timeout)
        result = provider(tmp_path, waits).send([message("a")])
    assert result["a"] is not None and result["a"].uncertain
    assert send.call_count == 1


def test_503_and_a_refused_connection_are_retried_because_nothing_was_sent(tmp_path, waits):
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, SEND, status=503, headers={"Retry-After": "3"})
        rsps.add(responses.POST, SEND, body=REFUSED)
        rsps.add(responses.POST, SEND, status=202)
        result = provider(tmp_path, waits).send([message("a")])
    assert result == {"a": None}
    assert waits.waits == [3.0, 2.0]  # Retry-After, then half the second backoff step


def test_throttling_past_the_budget_leaves_this_and_the_rest_unsent(tmp_path, waits):
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, SEND, status=202)
        throttled = rsps.add(
            responses.POST, SEND, status=429, headers={"Retry-After": "40"}, json={}
        )
        result = provider(tmp_path, waits, max_retry_seconds=100).send(
            [message("a"), message("b"), message("c")]
        )
    assert result["a"] is None
    assert waits.waits == [40.0, 40.0]  # a third wait would pass the 100 s budget
    for key in ("b", "c"):
        failure = result[key]
        # Not sent, and not to be tried again in this run: the budget is spent.
        assert failure is not None and not failure.retryable and not failure.uncertain
    assert "not sent" in str(result["c"]) and "the next run sends it" in str(result["c"])
    assert throttled.call_count == 3  # c was never tried: it would only be throttled too


def test_a_permission_refused_after_a_send_went_out_fails_the_rest_without_raising(tmp_path):
    denied = fixture("errors")["ErrorAccessDenied"]
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, SEND, status=202)
        rsps.add(responses.POST, SEND, status=403, json=denied["body"])
        result = provider(tmp_path).send([message("a"), message("b"), message("c")])
    assert result["a"] is None  # sent: raising would let the ledger forget that
    assert result["b"] == result["c"]
    assert result["b"] is not None and "Mail.Send" in result["b"].message


def test_one_spent_budget_per_run_though_the_outbox_sends_one_message_per_call(tmp_path, waits):
    # The outbox hands over one message per call (so that a crash leaves only the message in
    # flight in doubt): the budget spent on one call must stop the run's later calls too.
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        throttled = rsps.add(
            responses.POST, SEND, status=429, headers={"Retry-After": "40"}, json={}
        )
        graph = provider(tmp_path, waits, max_retry_seconds=100)
        first = graph.send([message("a")])
        second = graph.send([message("b")])
    assert first["a"] is not None and not first["a"].retryable and not first["a"].uncertain
    failure = second["b"]
    assert failure is not None and "the next run sends it" in failure.message
    assert throttled.call_count == 3 and waits.waits == [40.0, 40.0]  # b was never tried


def test_a_permission_refused_on_a_later_call_of_the_run_fails_without_raising(tmp_path):
    denied = fixture("errors")["ErrorAccessDenied"]
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, SEND, status=202)
        rsps.add(responses.POST, SEND, status=403, json=denied["body"])
        graph = provider(tmp_path)
        assert graph.send([message("a")]) == {"a": None}
        refused = graph.send([message("b")])["b"]
        later = graph.send([message("c")])["c"]
    assert refused is not None and "Mail.Send" in refused.message and later == refused


def test_find_sent_filters_the_mailbox_on_the_internet_message_id(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        lookup = rsps.add(
            responses.GET,
            MESSAGES,
            json={"value": [{"id": "AAMk1", "internetMessageId": "<rmcal.1@contoso.com>"}]},
        )
        rsps.add(responses.GET, MESSAGES, json={"value": []})
        found = provider(tmp_path).find_sent(["<rmcal.1@contoso.com>", "<rmcal.2@contoso.com>"])
    assert found == {"<rmcal.1@contoso.com>": True, "<rmcal.2@contoso.com>": False}
    query = lookup.calls[0].request.params
    assert query["$filter"] == "internetMessageId eq '<rmcal.1@contoso.com>'"
    assert query["$select"] == "id,internetMessageId" and query["$top"] == "1"


def test_a_folded_key_read_back_from_stored_bytes_is_the_key(tmp_path):
    """The outbox re-sends a message parsed back from its kept bytes; a key past ~66
    characters was folded there and reads back with a leading space. The result is keyed by
    the key itself, as the ledger knows it."""
    key = "headsup:rmjqru2q1tvrmotitkkatrlbk1:2027-01-13T14:00:00Z:mentee0@contoso.com"
    stored = email.message_from_bytes(message(key).as_bytes(), policy=email.policy.default)
    assert str(stored["X-Rmcal-Key"]) == " " + key
    with responses.RequestsMock() as rsps:
        mock_login(rsps)
        rsps.add(responses.POST, SEND, status=202)
        assert provider(tmp_path).send([stored]) == {key: None}
