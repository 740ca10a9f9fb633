"""Issue 5's "done when": every rmcal command against a local HTTPS server that behaves like
Graph, for a 20-pair cohort, through the real CLI, MSAL, requests and TLS."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rmcal.cli import main
from tests.cohort20 import NOW, FakeProbe, walk_every_command, write_config
from tests.fakes.graph_server import GraphServer

ENV = {"RMCAL_FAKE_SECRET": "fake-secret"}


def run(*args: str) -> tuple[int, str]:
    result = CliRunner(env=ENV).invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_twenty_pairs_through_every_command(fresh_graph_server: GraphServer, tmp_path: Path):
    graph = fresh_graph_server
    config = str(write_config(tmp_path, {"kind": "microsoft", **graph.settings()}))
    fake = graph.graph

    walk_every_command(
        run,
        config,
        tmp_path,
        FakeProbe(
            provider="microsoft",
            checks=6,
            events=lambda: len(fake.events),
            sent=lambda: len(fake.sent),
            throttle=lambda: fake.throttle(3, retry_after=1),
            book=lambda who, start, end: fake.busy.setdefault(who, []).append((start, end)),
            mail_keys=lambda: [str(m["X-Rmcal-Key"]).strip() for m in fake.sent],
        ),
    )
    assert max(fake.batch_sizes) <= 20 and max(fake.peak_in_flight.values()) <= 4
    assert fake.refused_concurrency == 0
    assert fake._throttle == 0  # every injected 429 was met and waited out


def test_throttling_past_the_budget_fails_those_pairs_with_exit_3_and_a_rerun_finishes(
    fresh_graph_server: GraphServer, tmp_path: Path
):
    """Issue 10: 429s whose Retry-After outlasts max_retry_seconds fail only their own pairs;
    the others are created, the table is printed, and the run exits 3 (not 1)."""
    graph = fresh_graph_server.graph
    settings = {"kind": "microsoft", **fresh_graph_server.settings(), "max_retry_seconds": 1}
    config = str(write_config(tmp_path, settings, pairs=6))
    graph.throttle(2, retry_after=30, method="POST", contains="/events")  # two creates
    code, out = run("schedule", "-c", config, "--now", NOW)
    assert code == 3, out
    assert out.count("\nfailed: ") == 2 and "Graph kept throttling" in out
    assert "6 pairs: 4 created, 2 failed." in out
    assert out.rstrip().endswith(
        "rmcal: 2 writes failed (listed above); fix what is listed and re-run schedule to finish"
    )
    assert len(graph.events) == 4
    code, out = run("schedule", "-c", config, "--now", NOW)
    assert code == 0, out
    assert "2 created" in out.splitlines()[-1] and len(graph.events) == 6
