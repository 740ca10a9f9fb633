"""The Graph HTTP layer: $batch splitting, throttling retries (waits asserted, never slept),
unknown outcomes and paging (what an error means is test_errors.py's)."""

from __future__ import annotations

import contextlib
import json
import logging
import threading

import pytest
import requests
import responses
from rmcal_providers.backoff import Backoff
from rmcal_providers.microsoft.errors import map_error
from rmcal_providers.microsoft.http import (
    UNKNOWN,
    GraphHTTP,
    GraphRequest,
    MailboxGate,
    OutcomeUnknown,
    batch_body,
    odata_string,
    segment,
    slots_of,
    split_batches,
)

from rmcal.errors import QuotaError
from tests.microsoft.helpers import GRAPH, Waits, fixture

BATCH = f"{GRAPH}/$batch"


def client(waits: Waits, *, max_elapsed: float = 300.0) -> GraphHTTP:
    def budget() -> Backoff:
        return Backoff(
            budget=max_elapsed,
            base=2.0,
            cap=60.0,
            sleep=waits.sleep,
            clock=waits.clock,
            rng=waits.rng,
        )

    return GraphHTTP(
        "https://graph.microsoft.com",
        lambda: "token",
        timeout=5.0,
        backoff=budget,
        log=logging.getLogger("test"),
    )


def requests_for(mailbox: str, count: int, start: int = 0) -> list[GraphRequest]:
    return [
        GraphRequest(
            str(start + i), "POST", f"/users/{mailbox}/events", {"subject": str(i)}, mailbox=mailbox
        )
        for i in range(count)
    ]


def test_batches_are_chains_of_at_most_twenty_requests_for_one_mailbox():
    same = split_batches(requests_for("org@contoso.com", 25))
    assert [len(b) for b in same] == [20, 5]
    mixed = [r for n in range(6) for r in requests_for(f"m{n}@contoso.com", 4, start=10 * n)]
    batches = split_batches(mixed)
    assert [len(b) for b in batches] == [4] * 6
    assert all(len({r.mailbox for r in batch}) == 1 for batch in batches)


def test_a_chain_holds_one_of_its_mailbox_s_four_places():
    chain = requests_for("org@contoso.com", 20)
    body = batch_body(chain)["requests"]
    assert "dependsOn" not in body[0]
    assert [r["dependsOn"] for r in body[1:]] == [[str(n)] for n in range(19)]
    assert slots_of(chain) == {"org@contoso.com": 1}


def test_the_gate_never_lets_a_fifth_request_start():
    gate = MailboxGate()
    started = threading.Barrier(4, timeout=5)
    inside: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        with gate.hold({"org": 1}):
            with lock:
                inside.append(1)
            with contextlib.suppress(threading.BrokenBarrierError):
                started.wait()
            with lock:
                inside.append(-1)

    threads = [threading.Thread(target=work) for _ in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    running, most = 0, 0
    for step in inside:
        running += step
        most = max(most, running)
    assert most == 4 and gate.peak == {"org": 4}


@responses.activate
def test_batch_sends_one_chain_with_content_type_on_bodies():
    def answer(request):
        sent = json.loads(request.body)["requests"]
        assert all(r["headers"]["Content-Type"] == "application/json" for r in sent)
        assert sent[1]["dependsOn"] == ["0"]
        return (
            200,
            {},
            json.dumps(
                {
                    "responses": [
                        {"id": r["id"], "status": 201, "body": {"id": "e" + r["id"]}} for r in sent
                    ]
                }
            ),
        )

    responses.add_callback(responses.POST, BATCH, callback=answer)
    results = client(Waits()).batch(requests_for("org@contoso.com", 9), operation="create")
    assert len(responses.calls) == 1
    assert {k: v.body["id"] for k, v in results.items()} == {str(i): f"e{i}" for i in range(9)}


@responses.activate
def test_requests_held_up_by_a_failed_one_go_again_at_once(waits):
    failed = {
        "responses": [
            {"id": "0", "status": 400, "body": {"error": {"code": "BadRequest"}}},
            {"id": "1", "status": 424, "body": {}},
            {"id": "2", "status": 424, "body": {}},
        ]
    }
    done = {"responses": [{"id": str(i), "status": 201, "body": {}} for i in (1, 2)]}
    responses.add(responses.POST, BATCH, json=failed)
    responses.add(responses.POST, BATCH, json=done)
    results = client(waits).batch(requests_for("org@contoso.com", 3), operation="create")
    assert waits.waits == []  # nothing asked to slow down
    assert [results[str(i)].status for i in range(3)] == [400, 201, 201]
    second = json.loads(responses.calls[1].request.body)["requests"]
    assert [r["id"] for r in second] == ["1", "2"]


@responses.activate
def test_inner_429_is_retried_alone_after_its_retry_after(waits):
    first = fixture("batch_throttled")
    retried = {"responses": [{"id": "0", "status": 201, "headers": {}, "body": {"id": "late"}}]}
    responses.add(responses.POST, BATCH, json=first)
    responses.add(responses.POST, BATCH, json=retried)

    results = client(waits).batch(requests_for("org@contoso.com", 2), operation="create")

    assert waits.waits == [7.0]  # the inner Retry-After, not a computed backoff
    second_batch = json.loads(responses.calls[1].request.body)["requests"]
    assert [r["id"] for r in second_batch] == ["0"]
    assert results["0"].body == {"id": "late"}
    assert results["1"].body["id"] == "AAMkAD-created-1"


@responses.activate
def test_dependency_failures_are_retried_with_the_longest_retry_after(waits):
    throttled = {
        "responses": [
            {"id": "0", "status": 429, "headers": {"retry-after": "3"}, "body": {}},
            {"id": "1", "status": 429, "headers": {"Retry-After": "11"}, "body": {}},
            {"id": "2", "status": 424, "headers": {}, "body": {}},
        ]
    }
    done = {"responses": [{"id": str(i), "status": 200, "body": {}} for i in range(3)]}
    responses.add(responses.POST, BATCH, json=throttled)
    responses.add(responses.POST, BATCH, json=done)
    results = client(waits).batch(requests_for("org@contoso.com", 3), operation="create")
    assert waits.waits == [11.0]
    assert all(r.status == 200 for r in results.values())


@responses.activate
def test_inner_throttling_beyond_the_budget_returns_the_429s(waits):
    throttled = {"responses": [{"id": "0", "status": 429, "headers": {"Retry-After": "50"}}]}
    for _ in range(5):
        responses.add(responses.POST, BATCH, json=throttled)
    results = client(waits, max_elapsed=120).batch(
        requests_for("org@contoso.com", 1), operation="create"
    )
    assert waits.waits == [50.0, 50.0]  # a third wait would pass the 120 s budget
    assert results["0"].status == 429
    error = map_error(429, results["0"].body, "create series")
    assert isinstance(error, QuotaError)


@responses.activate
def test_outer_429_and_503_honour_retry_after_then_succeed(waits):
    url = f"{GRAPH}/users/org@contoso.com/calendar"
    responses.add(
        responses.GET,
        url,
        status=429,
        headers={"Retry-After": "4"},
        json={"error": {"code": "TooManyRequests", "message": "slow down"}},
    )
    responses.add(
        responses.GET, url, status=503, json=fixture("errors")["ServiceUnavailable"]["body"]
    )
    responses.add(responses.GET, url, json={"id": "cal"})
    reply = client(waits).call("GET", "/users/org@contoso.com/calendar", operation="read")
    assert reply.body == {"id": "cal"}
    assert waits.waits[0] == 4.0
    assert waits.waits[1] == 2.0  # no Retry-After: half of the second step (2 s * 2**1), no jitter
    assert len(waits.waits) == 2


@responses.activate
def test_throttled_for_too_long_raises_quota_error(waits):
    url = f"{GRAPH}/users/org@contoso.com/calendar"
    responses.add(
        responses.GET,
        url,
        status=429,
        headers={"Retry-After": "30"},
        json={"error": {"code": "ApplicationThrottled", "message": "x"}},
    )
    with pytest.raises(QuotaError) as raised:
        client(waits, max_elapsed=100).call(
            "GET", "/users/org@contoso.com/calendar", operation="read"
        )
    assert waits.waits == [30.0, 30.0, 30.0]  # a time budget: a fourth wait would end at 120 s
    assert "re-run later" in str(raised.value)


@responses.activate
def test_a_write_whose_connection_dropped_is_not_resent():
    responses.add(responses.POST, BATCH, body=requests.ConnectionError("reset by peer"))
    results = client(Waits()).batch(requests_for("org@contoso.com", 2), operation="create")
    assert len(responses.calls) == 1
    assert {r.status for r in results.values()} == {UNKNOWN}

    responses.add(responses.POST, f"{GRAPH}/users/org@contoso.com/sendMail", status=504)
    with pytest.raises(OutcomeUnknown):
        client(Waits()).call("POST", "/users/org@contoso.com/sendMail", operation="send")


@responses.activate
def test_a_read_whose_connection_dropped_is_retried(waits):
    url = f"{GRAPH}/users/org@contoso.com/events"
    responses.add(responses.GET, url, body=requests.ConnectionError("reset"))
    responses.add(responses.GET, url, json={"value": [{"id": "1"}]})
    assert list(client(waits).pages("/users/org@contoso.com/events", operation="find")) == [
        {"id": "1"}
    ]
    assert len(waits.waits) == 1


@responses.activate
def test_paging_follows_next_links_to_the_end():
    url = f"{GRAPH}/users/org@contoso.com/events"
    responses.add(responses.GET, url, json={"value": [1, 2], "@odata.nextLink": url + "?$skip=2"})
    responses.add(responses.GET, url, json={"value": [3]})
    assert list(client(Waits()).pages("/users/org@contoso.com/events", operation="find")) == [
        1,
        2,
        3,
    ]
    assert responses.calls[1].request.url.endswith("$skip=2")


def test_values_are_spelled_safely_into_paths_and_filters():
    assert segment("org@contoso.com") == "org@contoso.com"
    assert segment("AAMkAGUzYRgWAAA=") == "AAMkAGUzYRgWAAA%3D"
    assert segment("a/b c") == "a%2Fb%20c"
    assert odata_string("O'Brien's cohort") == "'O''Brien''s cohort'"


@responses.activate
def test_inside_a_batch_a_5xx_is_retried_for_a_read_but_returned_for_writes(waits):
    read = GraphRequest("g", "GET", "/users/org@contoso.com/events/1", None, mailbox="org")
    patch = GraphRequest("p", "PATCH", "/users/org@contoso.com/events/1", {}, mailbox="org")
    create = GraphRequest("c", "POST", "/users/org@contoso.com/events", {}, mailbox="org")
    failing = {
        "responses": [
            {"id": "g", "status": 500, "body": {}},
            {"id": "p", "status": 500, "body": {}},
            {"id": "c", "status": 500, "body": {}},
        ]
    }
    responses.add(responses.POST, BATCH, json=failing)
    responses.add(responses.POST, BATCH, json={"responses": [{"id": "g", "status": 200}]})
    results = client(waits).batch([read, patch, create], operation="write")
    assert results["g"].status == 200  # a repeated read changes nothing
    # A repeated PATCH would mail the attendees a second update: the next run looks first.
    assert results["p"].status == 500
    assert results["c"].status == 500  # the create may exist: the caller looks it up first
    second = json.loads(responses.calls[1].request.body)["requests"]
    assert [r["id"] for r in second] == ["g"]


@responses.activate
def test_a_patch_batch_whose_answer_was_lost_is_not_sent_again(waits):
    # Found by the crash harness under faults (tests/crash/): the whole $batch was re-sent,
    # and each PATCH carried out mails the pair another "Updated" invitation.
    patch = GraphRequest("p", "PATCH", "/users/org@contoso.com/events/1", {}, mailbox="org")
    responses.add(responses.POST, BATCH, body=requests.ConnectionError("Connection aborted"))
    results = client(waits).batch([patch], operation="update series")
    assert results["p"].status == UNKNOWN
    assert len(responses.calls) == 1


@responses.activate
def test_a_write_batch_throttled_past_the_budget_fails_its_items(waits):
    throttled = {"error": {"code": "ApplicationThrottled", "message": "over the limit"}}
    responses.add(responses.POST, BATCH, status=429, headers={"Retry-After": "30"}, json=throttled)
    responses.add(responses.POST, BATCH, status=429, headers={"Retry-After": "30"}, json=throttled)
    results = client(waits, max_elapsed=40).batch(
        requests_for("org@contoso.com", 6), operation="create"
    )
    assert waits.waits == [30.0]
    assert [results[str(i)].status for i in range(6)] == [429] * 6
    assert isinstance(map_error(429, results["0"].body, "create series"), QuotaError)
    assert len(responses.calls) == 2


@responses.activate
def test_a_server_error_on_a_read_is_retried_and_on_a_post_is_an_unknown_outcome(waits):
    url = f"{GRAPH}/users/org@contoso.com/calendar"
    responses.add(responses.GET, url, status=500, json={"error": {"code": "InternalServerError"}})
    responses.add(responses.GET, url, json={"id": "cal"})
    assert client(waits).call("GET", "/users/org@contoso.com/calendar", operation="read").ok
    assert len(waits.waits) == 1
    responses.add(responses.POST, BATCH, status=502, json={})
    results = client(waits).batch(requests_for("org@contoso.com", 2), operation="create")
    assert {r.status for r in results.values()} == {UNKNOWN}


def test_the_session_never_retries_below_rmcal():
    session = client(Waits()).session
    retry = session.get_adapter("https://graph.microsoft.com/v1.0/$batch").max_retries
    assert (retry.total, retry.connect, retry.read, retry.status) == (0, 0, False, 0)
