"""Issue 5's "done when": every rmcal command against a local HTTPS server that behaves like
Graph, for a 20-pair cohort, through the real CLI, MSAL, requests and TLS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rmcal.cli import main
from tests.cohort20 import NOW, write_config
from tests.fakes.graph_server import GraphServer

ENV = {"RMCAL_FAKE_SECRET": "fake-secret"}


@pytest.fixture
def graph(tmp_path: Path):
    with GraphServer(directory=tmp_path / "tls") as server:
        yield server


def run(*args: str) -> tuple[int, str]:
    result = CliRunner(env=ENV).invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_twenty_pairs_through_every_command(graph: GraphServer, tmp_path: Path):
    config = str(write_config(tmp_path, {"kind": "microsoft", **graph.settings()}))
    fake = graph.graph

    code, out = run("auth", "check", "-c", config)
    assert code == 0, out
    assert out.splitlines()[-1] == "All 4 checks passed for provider microsoft."

    code, out = run("schedule", "-c", config, "--now", NOW)
    assert code == 0, out
    assert out.splitlines()[-1] == "20 pairs: 20 created."
    assert len(fake.events) == 20
    assert max(fake.batch_sizes) <= 20 and fake.max_same_mailbox_in_batch <= 4

    code, out = run("schedule", "-c", config, "--now", NOW)
    assert out.splitlines()[-1] == "Nothing changed: 20 series already match the config."

    for leftover in tmp_path.glob("state.db*"):
        leftover.unlink()
    fake.throttle(3, retry_after=1)  # throttled responses are waited out
    code, out = run("schedule", "-c", config, "--now", NOW)
    assert code == 0, out
    assert out.splitlines()[-1] == "Nothing changed: 20 series already match the config."
    assert len(fake.events) == 20

    code, out = run("status", "-c", config, "--now", "2027-01-20T12:00:00+00:00", "--json")
    assert code == 0, out
    assert len(json.loads(out)["pairs"]) == 20

    code, out = run("tick", "-c", config, "--now", "2027-01-12T12:00:00+00:00")
    assert code == 0, out
    sent = len(fake.sent)
    assert sent > 0
    code, out = run("tick", "-c", config, "--now", "2027-01-12T12:05:00+00:00")
    assert code == 0, out
    assert len(fake.sent) == sent  # exactly once
