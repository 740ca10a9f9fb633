"""Occurrences through ``calendarView/delta``: the link kept in the state, reused, renewed.

Against the fake Graph server, whose delta links only report what changed since they were
handed out: a second run asks once and learns the decline, the cancellation and the move that
happened in between; an expired link (410) or ``--full`` reads the calendar view again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rmcal_providers.microsoft import MicrosoftProvider

from rmcal.provider import MemoryKeyValue
from tests.fakes.graph_server import GraphServer
from tests.microsoft.helpers import Waits, context, spec

AMS = ZoneInfo("Europe/Amsterdam")
START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)


def run(server: GraphServer, tmp_path: Path, kv: MemoryKeyValue, full: bool = False):
    """One rmcal run: a provider over the same state (``kv``), as the next process would be."""
    ctx = replace(context(tmp_path, env={"RMCAL_FAKE_SECRET": "x"}), kv=kv, full_read=full)
    waits = Waits()
    return MicrosoftProvider(
        server.settings(), ctx, sleep=waits.sleep, clock=waits.clock, rng=waits.rng
    )


def deltas(server: GraphServer) -> int:
    return server.graph.calls.get("calendarView.delta", 0)


def test_the_delta_link_is_kept_and_the_next_run_reads_only_changes(
    fresh_graph_server: GraphServer, tmp_path: Path
):
    server, graph, kv = fresh_graph_server, fresh_graph_server.graph, MemoryKeyValue()
    first = run(server, tmp_path, kv)
    first.create_series([spec(n) for n in range(12)])
    series = first.find_series("2026-spring")
    before = first.occurrences(series, START, END)
    first.close()
    assert all(len(v) == 6 for v in before.values())
    assert graph.calls.get("instances", 0) == 0
    assert kv.get("microsoft", "delta:org@contoso.com")

    target = series[0].provider_id
    graph.cancel_occurrence(target, datetime(2026, 1, 21, 14, tzinfo=AMS))
    graph.move_occurrence(
        target, datetime(2026, 2, 4, 14, tzinfo=AMS), datetime(2026, 2, 5, 9, tzinfo=AMS)
    )
    graph.respond(target, datetime(2026, 1, 7, 14, tzinfo=AMS), "mentee0@contoso.com", "declined")
    asked = deltas(server)
    second = run(server, tmp_path, kv)
    after = second.occurrences(series, START, END)
    second.close()
    assert deltas(server) == asked + 1  # one request: the stored link
    zero = after[series[0].key]
    assert [o.cancelled for o in zero] == [False, True, False, False, False, False]
    assert zero[2].moved and zero[2].start == datetime(2026, 2, 5, 8, tzinfo=UTC)
    assert zero[0].responses["mentee0@contoso.com"].value == "declined"
    assert {k: v for k, v in after.items() if k != series[0].key} == {
        k: v for k, v in before.items() if k != series[0].key
    }


def test_an_expired_link_means_one_full_read(fresh_graph_server: GraphServer, tmp_path: Path):
    server, graph, kv = fresh_graph_server, fresh_graph_server.graph, MemoryKeyValue()
    first = run(server, tmp_path, kv)
    first.create_series([spec(n) for n in range(3)])
    series = first.find_series("2026-spring")
    expected = first.occurrences(series, START, END)
    graph.expire_delta_tokens()
    graph.respond(
        series[1].provider_id,
        datetime(2026, 1, 7, 14, tzinfo=AMS),
        "mentor1@contoso.com",
        "declined",
    )
    asked = deltas(server)
    again = run(server, tmp_path, kv).occurrences(series, START, END)
    assert deltas(server) == asked + 2  # 410 for the old link, then the whole view
    assert again[series[0].key] == expected[series[0].key]
    assert again[series[1].key][0].responses["mentor1@contoso.com"].value == "declined"


def test_full_ignores_the_stored_link(fresh_graph_server: GraphServer, tmp_path: Path):
    server, kv = fresh_graph_server, MemoryKeyValue()
    first = run(server, tmp_path, kv)
    first.create_series([spec(n) for n in range(2)])
    series = first.find_series("2026-spring")
    first.occurrences(series, START, END)
    full = run(server, tmp_path, kv, full=True)
    full.occurrences(series, START, END)
    assert server.graph.requests[-1][1].startswith("/users/org@contoso.com/calendarView/delta?")
    assert "startDateTime=" in server.graph.requests[-1][1]  # a new round, not the stored link
    assert kv.get("microsoft", "delta:org@contoso.com")  # and its link is kept in turn


def test_without_delta_sync_each_series_is_read(fresh_graph_server: GraphServer, tmp_path: Path):
    server = fresh_graph_server
    settings = {**server.settings(), "delta_sync": False}
    provider = MicrosoftProvider(settings, context(tmp_path, env={"RMCAL_FAKE_SECRET": "x"}))
    provider.create_series([spec(n) for n in range(2)])
    series = provider.find_series("2026-spring")
    assert all(len(v) == 6 for v in provider.occurrences(series, START, END).values())
    assert server.graph.calls["instances"] == 2 and deltas(server) == 0
