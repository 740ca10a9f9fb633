"""Google free/busy: fifty people and ninety days per call, errors as unknown, blocks kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.fakes.google_server import mock_provider, reply


def freebusy_answer(emails: list[str]) -> tuple[dict[str, str], str]:
    return reply({"kind": "calendar#freeBusy", "calendars": {e: {"busy": []} for e in emails}})


def test_busy_asks_fifty_people_per_call(tmp_path: Path):
    people = [f"person{i:03d}@example.com" for i in range(120)]
    chunks = [people[:50], people[50:100], people[100:]]
    provider, transport, _ = mock_provider(tmp_path, [freebusy_answer(c) for c in chunks])
    start = datetime(2030, 3, 1, tzinfo=UTC)
    result = provider.busy(people, start, start + timedelta(days=60))
    assert len(transport.request_sequence) == 3
    bodies = [json.loads(body) for _, _, body, _ in transport.request_sequence]
    assert [len(b["items"]) for b in bodies] == [50, 50, 20]
    assert bodies[0]["timeMin"] == "2030-03-01T00:00:00Z"
    assert bodies[0]["timeMax"] == "2030-04-30T00:00:00Z"
    assert all(
        uri.endswith("/calendar/v3/freeBusy?alt=json") for uri, *_ in transport.request_sequence
    )
    assert result == {p: () for p in people}


def test_busy_splits_long_horizons_into_windows_of_ninety_days(tmp_path: Path):
    provider, transport, _ = mock_provider(
        tmp_path, [reply("freebusy_mixed.json"), reply("freebusy_mixed.json")]
    )
    start = datetime(2030, 3, 1, tzinfo=UTC)
    provider.busy(["ana@example.com"], start, start + timedelta(days=150))
    windows = [
        (json.loads(b)["timeMin"], json.loads(b)["timeMax"])
        for _, _, b, _ in transport.request_sequence
    ]
    assert windows == [
        ("2030-03-01T00:00:00Z", "2030-05-30T00:00:00Z"),
        ("2030-05-30T00:00:00Z", "2030-07-29T00:00:00Z"),
    ]


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

    def answer(begin: datetime, end: datetime) -> tuple[dict[str, str], str]:
        block = {"start": begin.isoformat(), "end": end.isoformat()}
        return reply({"calendars": {"ana@example.com": {"busy": [block]}}})

    provider, _, _ = mock_provider(
        tmp_path,
        [
            answer(cut - timedelta(hours=1), cut),  # a two-hour block across the cut...
            answer(cut, cut + timedelta(hours=1)),  # ...comes back in two pieces
        ],
    )
    result = provider.busy(["ana@example.com"], start, start + timedelta(days=150))
    assert result["ana@example.com"] == ((cut - timedelta(hours=1), cut + timedelta(hours=1)),)
