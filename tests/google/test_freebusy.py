"""Google free/busy: fifty people and ninety days per call, errors as unknown, blocks kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rmcal.errors import ProviderError
from tests.fakes.google_server import batch_reply, mock_provider, parse_batch, reply


def freebusy_body(emails: list[str]) -> dict[str, object]:
    return {"kind": "calendar#freeBusy", "calendars": {e: {"busy": []} for e in emails}}


def batched_bodies(request) -> list[dict]:  # type: ignore[no-untyped-def]
    """The JSON bodies of one batch request's parts, each checked to be a freeBusy query."""
    uri, method, body, headers = request
    assert (uri, method) == ("https://google.test/batch/calendar/v3", "POST")
    found = parse_batch(headers["content-type"], body.encode())
    assert all(p.method == "POST" and p.target.endswith("/freeBusy?alt=json") for p in found)
    return [json.loads(p.body) for p in found]


def test_busy_asks_fifty_people_per_call_and_sends_the_calls_in_one_batch(tmp_path: Path):
    people = [f"person{i:03d}@example.com" for i in range(120)]
    chunks = [people[:50], people[50:100], people[100:]]
    provider, transport, _ = mock_provider(
        tmp_path, [batch_reply([(200, freebusy_body(c)) for c in chunks])]
    )
    start = datetime(2030, 3, 1, tzinfo=UTC)
    result = provider.busy(people, start, start + timedelta(days=60))
    assert len(transport.request_sequence) == 1  # one round trip; three calls of the quota
    bodies = batched_bodies(transport.request_sequence[0])
    assert [len(b["items"]) for b in bodies] == [50, 50, 20]
    assert bodies[0]["timeMin"] == "2030-03-01T00:00:00Z"
    assert bodies[0]["timeMax"] == "2030-04-30T00:00:00Z"
    assert result == {p: () for p in people}


def test_one_call_goes_alone_not_in_a_batch(tmp_path: Path):
    provider, transport, _ = mock_provider(tmp_path, [reply("freebusy_mixed.json")])
    start = datetime(2030, 3, 1, tzinfo=UTC)
    provider.busy(["ana@example.com"], start, start + timedelta(days=5))
    ((uri, method, _, _),) = transport.request_sequence
    assert (method, uri.endswith("/calendar/v3/freeBusy?alt=json")) == ("POST", True)


def test_busy_splits_long_horizons_into_windows_of_ninety_days(tmp_path: Path):
    provider, transport, _ = mock_provider(
        tmp_path, [batch_reply([(200, "freebusy_mixed.json"), (200, "freebusy_mixed.json")])]
    )
    start = datetime(2030, 3, 1, tzinfo=UTC)
    provider.busy(["ana@example.com"], start, start + timedelta(days=150))
    windows = [(b["timeMin"], b["timeMax"]) for b in batched_bodies(transport.request_sequence[0])]
    assert windows == [
        ("2030-03-01T00:00:00Z", "2030-05-30T00:00:00Z"),
        ("2030-05-30T00:00:00Z", "2030-07-29T00:00:00Z"),
    ]


def test_a_throttled_read_in_a_batch_is_asked_again_and_a_refused_one_is_an_error(
    tmp_path: Path,
):
    people = [f"person{i:03d}@example.com" for i in range(60)]
    provider, transport, clock = mock_provider(
        tmp_path,
        [
            batch_reply(
                [
                    (200, freebusy_body(people[:50])),
                    (429, "error_403_user_rate_limit.json", {"Retry-After": "3"}),
                ]
            ),
            batch_reply([(200, freebusy_body(people[50:]))]),  # asked again, in a batch of one
        ],
    )
    start = datetime(2030, 3, 1, tzinfo=UTC)
    result = provider.busy(people, start, start + timedelta(days=60))
    assert result == {p: () for p in people}
    assert len(transport.request_sequence) == 2
    assert clock.sleeps and clock.sleeps[-1] >= 3

    refused, _, _ = mock_provider(
        tmp_path / "again",
        [batch_reply([(200, freebusy_body(people[:50])), (404, "error_404_calendar.json")])],
    )
    with pytest.raises(ProviderError):
        refused.busy(people, start, start + timedelta(days=60))


def test_a_batch_answered_in_another_format_is_one_clear_error(tmp_path: Path):
    """googleapiclient's ``BatchError`` is an ``HttpError`` without error details: it must be
    told apart before any ``HttpError`` handling reads them."""
    people = [f"person{i:03d}@example.com" for i in range(60)]
    provider, _, _ = mock_provider(tmp_path, [reply(freebusy_body(people))])  # not multipart
    start = datetime(2030, 3, 1, tzinfo=UTC)
    with pytest.raises(ProviderError, match="unexpected format"):
        provider.busy(people, start, start + timedelta(days=60))


def test_busy_reports_calendar_errors_as_unknown_and_keeps_each_block(tmp_path: Path):
    provider, _, _ = mock_provider(tmp_path, [reply("freebusy_mixed.json")])
    start = datetime(2030, 3, 1, tzinfo=UTC)
    result = provider.busy(
        ["Ana@example.com", "ben@example.com", "ghost@example.com"],
        start,
        start + timedelta(days=5),
    )
    assert result["ghost@example.com"] is None  # notFound: unknown, not free
    assert result["ben@example.com"] == ()
    # Blocks stay as Google reports them: the clash watch tells a session from its neighbours.
    assert result["ana@example.com"] == (
        (datetime(2030, 3, 4, 9, 0, tzinfo=UTC), datetime(2030, 3, 4, 10, 0, tzinfo=UTC)),
        (datetime(2030, 3, 4, 9, 30, tzinfo=UTC), datetime(2030, 3, 4, 11, 0, tzinfo=UTC)),
    )


def test_a_block_cut_by_two_windows_is_joined_again(tmp_path: Path):
    start = datetime(2030, 3, 1, tzinfo=UTC)
    cut = start + timedelta(days=90)  # where the first window ends and the second begins

    def answer(begin: datetime, end: datetime) -> dict[str, object]:
        block = {"start": begin.isoformat(), "end": end.isoformat()}
        return {"calendars": {"ana@example.com": {"busy": [block]}}}

    provider, _, _ = mock_provider(
        tmp_path,
        [
            batch_reply(
                [
                    (200, answer(cut - timedelta(hours=1), cut)),  # a two-hour block across
                    (200, answer(cut, cut + timedelta(hours=1))),  # the cut comes in two pieces
                ]
            )
        ],
    )
    result = provider.busy(["ana@example.com"], start, start + timedelta(days=150))
    assert result["ana@example.com"] == ((cut - timedelta(hours=1), cut + timedelta(hours=1)),)
