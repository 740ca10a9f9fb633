"""Google sync tokens: only changes are read, a 410 means a full read, same answer as instances."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from rmcal.provider import MemoryKeyValue, Response
from tests.fakes.google_server import batch_reply, fixture, mock_provider, reply
from tests.google.helpers import BERLIN, KEY, query, the_series

WINDOW = (datetime(2030, 3, 1, tzinfo=UTC), datetime(2030, 5, 1, tzinfo=UTC))


def test_sync_token_reads_changes_only_and_410_forces_a_full_read(tmp_path: Path):
    kv = MemoryKeyValue()
    series = the_series()
    provider, transport, _ = mock_provider(
        tmp_path,
        [
            reply("events_sync_full.json"),
            reply("events_sync_incremental.json"),
            reply("error_410_sync.json", status=410),
            reply("events_sync_full.json"),
        ],
        kv=kv,
    )
    first = provider.occurrences([series], *WINDOW)[KEY]
    assert "syncToken" not in query(transport.request_sequence[0][0])
    assert query(transport.request_sequence[0][0])["showDeleted"] == ["true"]
    assert [o.cancelled for o in first] == [False, True, False, False, False, False]
    assert first[3].responses["ana@example.com"] == Response.NONE
    state = json.loads(kv.get("google", "events:primary"))
    assert state["token"] == "sync-token-1"
    assert "unrelated0001" not in state["events"]  # only rmcal's series are kept

    second = provider.occurrences([series], *WINDOW)[KEY]
    assert query(transport.request_sequence[1][0])["syncToken"] == ["sync-token-1"]
    assert second[3].responses["ana@example.com"] == Response.DECLINED
    assert second[1].cancelled
    assert json.loads(kv.get("google", "events:primary"))["token"] == "sync-token-2"

    third = provider.occurrences([series], *WINDOW)[KEY]
    assert query(transport.request_sequence[2][0])["syncToken"] == ["sync-token-2"]
    assert "syncToken" not in query(transport.request_sequence[3][0])  # full re-read
    assert third == first
    assert json.loads(kv.get("google", "events:primary"))["token"] == "sync-token-1"


def test_sync_cache_and_instances_agree_on_the_same_calendar(tmp_path: Path):
    provider, _, _ = mock_provider(tmp_path, [reply("events_sync_full.json")])
    via_sync = provider.occurrences([the_series()], *WINDOW)[KEY]
    page2 = fixture("instances_page2.json")
    page2["items"][0] = {
        **page2["items"][0],
        "attendees": fixture("event_series.json")["attendees"],
    }
    page1 = fixture("instances_page1.json")
    page1["items"][2] = {
        **page1["items"][2],
        "start": page1["items"][2]["originalStartTime"],
        "end": {"dateTime": "2030-03-18T10:45:00+01:00", "timeZone": BERLIN},
    }
    other, _, _ = mock_provider(
        tmp_path, [batch_reply([(200, page1)]), batch_reply([(200, page2)])], sync_tokens=False
    )
    via_instances = other.occurrences([the_series()], *WINDOW)[KEY]
    assert via_sync == via_instances


def test_full_reads_everything_again_despite_a_stored_token(tmp_path: Path):
    """``tick --full`` / ``status --full``: the stored sync token is not used."""
    from dataclasses import replace

    kv = MemoryKeyValue()
    first, transport, _ = mock_provider(tmp_path, [reply("events_sync_full.json")], kv=kv)
    first.occurrences([the_series()], *WINDOW)
    assert json.loads(kv.get("google", "events:primary"))["token"] == "sync-token-1"
    full, transport, _ = mock_provider(tmp_path, [reply("events_sync_full.json")], kv=kv)
    full.context = replace(full.context, full_read=True)
    again = full.occurrences([the_series()], *WINDOW)[KEY]
    assert "syncToken" not in query(transport.request_sequence[0][0])
    assert [o.cancelled for o in again] == [False, True, False, False, False, False]
