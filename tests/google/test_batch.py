"""Google provider: batch splitting, per-item retries, pacing and bounded waits (no real sleep),
and network failures named with their fix (real httplib2 and ssl exceptions)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httplib2
import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.errors import HttpError
from rmcal_providers.google import GoogleProvider
from rmcal_providers.google.batch import Pacer, is_rate_limited, reasons

from rmcal.errors import ProviderError
from rmcal.provider import Attendee, ItemFailure, Series, SeriesSpec
from tests.fakes.google_server import (
    ORGANIZER,
    FakeClock,
    batch_reply,
    fixture,
    make_context,
    mock_provider,
    parse_batch,
    reply,
)
from tests.fakes.tls import make_tls_files


def specs(count: int) -> list[SeriesSpec]:
    out = []
    for number in range(count):
        key = f"rm{number:024d}"
        out.append(
            SeriesSpec(
                key=key,
                cohort_id="2030-spring",
                pair_id=f"pair-{number}",
                title=f"Pair {number}",
                description_html="<p>x</p>",
                description_text="x",
                organizer=Attendee(ORGANIZER, "Office"),
                attendees=(Attendee(f"mentor{number}@example.com", "M"),),
                start=datetime(2030, 3, 4, 10, tzinfo=ZoneInfo("Europe/Berlin")),
                duration=timedelta(minutes=30),
                timezone="Europe/Berlin",
                rrule="FREQ=WEEKLY;COUNT=4",
                video=False,
                tags=(),
            )
        )
    return out


def created(key: str) -> dict:
    event = fixture("event_series.json")
    event["id"] = key
    event["extendedProperties"]["private"]["rmcal.key"] = key
    return event


def parts(request) -> list:  # type: ignore[no-untyped-def]
    uri, method, body, headers = request
    assert (uri, method) == ("https://google.test/batch/calendar/v3", "POST")
    return parse_batch(headers["content-type"], body.encode())


def test_120_creates_go_in_three_batches_of_at_most_fifty(tmp_path: Path):
    items = specs(120)
    answers = [
        batch_reply([(200, created(s.key)) for s in items[i : i + 50]]) for i in (0, 50, 100)
    ]
    provider, transport, clock = mock_provider(tmp_path, answers)
    done: list[int] = []
    results = provider.create_series(items, progress=done.append)
    assert all(isinstance(r, Series) for r in results.values())
    assert sorted(results) == sorted(s.key for s in items)
    sizes = [len(parts(request)) for request in transport.request_sequence]
    assert sizes == [50, 50, 20]
    sent_ids = [p.json()["id"] for request in transport.request_sequence for p in parts(request)]
    assert sent_ids == [s.key for s in items]
    assert sum(done) == 120
    # 120 calls are well within a minute's quota of 600: nothing waits.
    assert not clock.sleeps


def test_throttled_items_are_retried_alone_after_waiting(tmp_path: Path):
    items = specs(3)
    provider, transport, clock = mock_provider(
        tmp_path,
        [
            batch_reply(
                [
                    (200, created(items[0].key)),
                    (403, "error_403_rate_limit.json"),
                    (429, "error_403_user_rate_limit.json", {"Retry-After": "7"}),
                ]
            ),
            batch_reply([(200, created(items[1].key)), (200, created(items[2].key))]),
        ],
    )
    results = provider.create_series(items)
    assert all(isinstance(r, Series) for r in results.values())
    first, second = (parts(r) for r in transport.request_sequence)
    assert len(first) == 3
    assert [p.json()["id"] for p in second] == [items[1].key, items[2].key]
    assert clock.sleeps == [7.25]  # the server's Retry-After, plus jitter (rng 0.5 of 0.5 s)


def test_throttling_past_the_time_budget_fails_that_item_and_the_rest_complete(tmp_path: Path):
    items = specs(2)
    throttled = batch_reply([(403, "error_403_user_rate_limit.json")])
    provider, transport, clock = mock_provider(
        tmp_path,
        [batch_reply([(200, created(items[0].key)), (403, "error_403_user_rate_limit.json")])]
        + [throttled] * 10,
        max_retry_seconds=10,
    )
    results = provider.create_series(items)
    assert isinstance(results[items[0].key], Series)
    failure = results[items[1].key]
    assert isinstance(failure, ItemFailure) and failure.retryable
    assert "re-run later" in failure.message
    # Waits of 0.75, 1.5 and 3 s fit in 10 s; the next (6 s) would not: time, not a count.
    assert clock.sleeps == [0.75, 1.5, 3.0]
    assert len(transport.request_sequence) == 4


def test_a_failing_batch_request_is_resent_whole(tmp_path: Path):
    items = specs(2)
    provider, transport, _ = mock_provider(
        tmp_path,
        [
            reply("error_500.json", status=503),
            batch_reply([(200, created(items[0].key)), (200, created(items[1].key))]),
        ],
    )
    results = provider.create_series(items)
    assert all(isinstance(r, Series) for r in results.values())
    assert [len(parts(r)) for r in transport.request_sequence] == [2, 2]


def test_single_calls_retry_5xx_and_429_then_succeed(tmp_path: Path):
    provider, transport, clock = mock_provider(
        tmp_path,
        [
            reply("error_500.json", status=500),
            reply("error_403_rate_limit.json", status=429, retry_after="3"),
            reply("freebusy_mixed.json"),
        ],
    )
    start = datetime(2030, 3, 1, tzinfo=UTC)
    result = provider.busy(["ben@example.com"], start, start + timedelta(days=1))
    assert result == {"ben@example.com": ()}
    assert len(transport.request_sequence) == 3
    assert clock.sleeps == [0.75, 3.5]  # backoff after the 500; Retry-After 3 plus jitter


def test_a_plain_403_is_not_retried(tmp_path: Path):
    provider, transport, _ = mock_provider(
        tmp_path, [reply("error_403_non_organizer.json", status=403)]
    )
    start = datetime(2030, 3, 1, tzinfo=UTC)
    with pytest.raises(ProviderError):
        provider.busy(["ben@example.com"], start, start + timedelta(days=1))
    assert len(transport.request_sequence) == 1


def test_reasons_come_from_the_error_body_not_the_message():
    def error(name: str, status: int) -> HttpError:

        return HttpError(
            httplib2.Response({"status": str(status)}),
            json.dumps(fixture(name)).encode(),
            uri="https://google.test/x",
        )

    scope = error("error_403_insufficient_scope.json", 403)
    # googleapiclient puts ``details`` into error_details when present; ``errors`` is read too.
    assert reasons(scope)[:2] == ["ACCESS_TOKEN_SCOPE_INSUFFICIENT", "insufficientPermissions"]
    assert is_rate_limited(error("error_403_rate_limit.json", 403))
    assert is_rate_limited(error("error_403_user_rate_limit.json", 403))
    assert not is_rate_limited(error("error_403_non_organizer.json", 403))
    assert reasons(error("error_409_duplicate.json", 409)) == ["duplicate"]


def test_pacer_keeps_every_minute_under_the_quota_and_spends_it_at_once():
    clock = FakeClock()
    pacer = Pacer(600, clock=clock, sleep=clock.sleep)
    stamps: list[float] = []
    for _ in range(40):  # 2,000 calls in batches of 50
        pacer.acquire(50)
        stamps += [clock.now] * 50
        clock.now += 0.05  # each batch's round trip
    for index, moment in enumerate(stamps):
        in_window = [t for t in stamps[index:] if t < moment + 60]
        assert len(in_window) <= 600
    # The quota is a count per minute, not a pace: 600 go at once, then 600 as each of them
    # turns a minute old (plus the margin), so 2,000 calls wait three minutes, not 3.6.
    assert stamps[599] - stamps[0] < 1
    assert stamps[600] - stamps[0] == pytest.approx(61)
    assert stamps[-1] - stamps[0] == pytest.approx(3 * 61, abs=1)


def test_pacer_waits_only_for_the_calls_in_the_way():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(10):  # one call a second: the minute is never full
        pacer.acquire()
        clock.now += 1
    assert pacer.waited == 0
    pacer.acquire(2)  # the two oldest must leave the window: the second left at start + 1 + 61
    assert clock.now == pytest.approx(start + 62)
    assert pacer.waited == pytest.approx(52)


def test_a_low_quota_paces_every_call_of_a_batch():
    clock = FakeClock()
    pacer = Pacer(20, clock=clock, sleep=clock.sleep)  # 20 a minute: 50 calls in three steps
    pacer.acquire(50)
    assert clock.now - 1000.0 == pytest.approx(2 * 61)


def test_batch_size_setting_is_honoured(tmp_path: Path):
    items = specs(5)
    provider, transport, _ = mock_provider(
        tmp_path,
        [
            batch_reply([(200, created(s.key)) for s in items[:2]]),
            batch_reply([(200, created(s.key)) for s in items[2:4]]),
            batch_reply([(200, created(items[4].key))]),
        ],
        batch_size=2,
    )
    provider.create_series(items)
    assert [len(parts(r)) for r in transport.request_sequence] == [2, 2, 1]


class Unreachable:
    """A transport failing the way httplib2 does when Google cannot be reached."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls = 0

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    ("error", "remedy"),
    [
        (
            httplib2.ServerNotFoundError("Unable to find the server at google.test"),
            "check the network, proxy and provider.ca_bundle",
        ),
        (ConnectionRefusedError(111, "Connection refused"), "check the network"),
        (TimeoutError("timed out"), "raise provider.timeout"),
    ],
)
def test_a_network_failure_is_retried_within_the_budget_then_named(
    tmp_path: Path, error: BaseException, remedy: str
):
    provider, _, clock = mock_provider(tmp_path, [], max_retry_seconds=20)
    transport = Unreachable(error)
    provider.client.transport = transport
    start = datetime(2030, 3, 1, tzinfo=UTC)
    with pytest.raises(ProviderError) as caught:
        provider.busy(["ben@example.com"], start, start + timedelta(days=1))
    assert caught.value.retryable
    assert f"could not reach Google ({type(error).__name__}" in caught.value.message
    assert remedy in caught.value.remedy
    # The whole 20 s budget, waited on the fake clock: 0.75 + 1.5 + 3 + 6 s, then 12 s more
    # would pass it.
    assert clock.sleeps == [0.75, 1.5, 3.0, 6.0]
    assert transport.calls == 5


@pytest.fixture
def wrong_host(tmp_path: Path) -> Iterator[tuple[str, Path, list[int]]]:
    """A TLS listener on 127.0.0.1 whose certificate (from a trusted CA) names another host.

    Yields its base URL, the CA to trust and the list of connections it accepted.
    """
    files = make_tls_files(tmp_path / "tls", hosts=("elsewhere.test",))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert_path, files.key_path)
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed: the test is over
            accepted.append(1)
            try:
                with context.wrap_socket(connection, server_side=True):
                    pass
            except OSError:
                pass  # the client refuses the certificate mid-handshake

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}", files.ca_path, accepted
    finally:
        listener.close()
        thread.join(timeout=5)


def test_a_certificate_for_another_host_is_named_and_not_retried(
    tmp_path: Path, wrong_host: tuple[str, Path, list[int]]
):
    # Real httplib2 over real TLS: a hostname mismatch is ssl.SSLCertVerificationError.
    base, ca_path, accepted = wrong_host
    clock = FakeClock()
    provider = GoogleProvider(
        {
            "auth": "oauth",
            "oauth_client_file": "client.json",
            "api_endpoint": f"{base}/calendar/v3/",
            "batch_uri": f"{base}/batch/calendar/v3",
            "ca_bundle": str(ca_path),
        },
        make_context(tmp_path),
        credentials=Credentials(token="test-token"),
        sleep=clock.sleep,
        clock=clock,
    )
    start = datetime(2030, 3, 1, tzinfo=UTC)
    try:
        with pytest.raises(ProviderError) as caught:
            provider.busy(["ben@example.com"], start, start + timedelta(days=1))
    finally:
        provider.close()
    assert "SSLCertVerificationError" in caught.value.message
    assert "TLS certificate was not trusted" in caught.value.remedy
    assert accepted == [1]  # waiting cannot cure a certificate: no second try
    assert clock.sleeps == []


def test_the_next_run_counts_the_calls_an_earlier_run_made_in_its_last_minute(tmp_path: Path):
    """A tick started 20 s after a 1,000-pair schedule met 234 ``rateLimitExceeded`` answers:
    each run's pacer knew only its own calls. The provider now saves the last minute's calls
    in the state file when it closes, and the next run counts them before its first call."""
    from rmcal_providers.google import quota

    from rmcal.provider import MemoryKeyValue

    kv = MemoryKeyValue()
    first, _, clock = mock_provider(tmp_path, [], kv=kv)
    first.client.calls.pacer.acquire(50)
    clock.now += 10
    first.client.calls.pacer.acquire(550)  # the minute's quota, spent
    first.close()
    saved = kv.get(quota.NAMESPACE, "calendar")
    assert saved is not None and "example" not in saved  # times and counts, no addresses
    assert kv.get(quota.NAMESPACE, "gmail") is None  # no send, nothing kept

    second, _, later = mock_provider(tmp_path, [], kv=kv)
    second.client.calls.pacer.acquire(1)
    # The first 50 calls were 10 s older than the rest: they leave the minute 51 s from now.
    assert later.sleeps and later.sleeps[0] == pytest.approx(51, abs=0.5)


def test_saved_calls_that_are_stale_or_unreadable_are_ignored():
    from rmcal_providers.google import quota

    from rmcal.provider import MemoryKeyValue

    clock = FakeClock()
    kv = MemoryKeyValue()
    kv.put(quota.NAMESPACE, "calendar", '{"saved_at": 100.0, "calls": [[0, 600]]}')
    stale = Pacer(600, clock=clock, sleep=clock.sleep)
    quota.restore({"calendar": stale}, kv, wall=lambda: 100.0 + 62)  # over a minute ago
    stale.acquire(1)
    assert not clock.sleeps
    for garbage in ("{", '{"saved_at": "x"}', '{"saved_at": 1, "calls": [["a", 1]]}'):
        kv.put(quota.NAMESPACE, "calendar", garbage)
        fresh = Pacer(600, clock=clock, sleep=clock.sleep)
        quota.restore({"calendar": fresh}, kv, wall=lambda: 1.0)
        fresh.acquire(600)
        assert not clock.sleeps
