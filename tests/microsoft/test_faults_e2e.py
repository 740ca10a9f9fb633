"""Issue 10: schedule, status and tick through the CLI against a fake Graph that fails a quarter
of its requests (429, 503, 500, stalls, dropped connections, before or after carrying a write
out); with and without the Sent Items lookup. See ``tests/faultwalk.py`` for what must hold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rmcal_providers.microsoft.events import property_id

from rmcal.cli import main
from tests.fakes.faults import FaultPlan
from tests.fakes.graph_server import DEFAULT_ROLES, FakeGraph, GraphServer
from tests.faultwalk import FaultProbe, fault_config, lost_writes, walk_under_faults

ENV = {"RMCAL_FAKE_SECRET": "fake-secret"}
PAIR = property_id("pair")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner(env=ENV).invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(params=[False, True], ids=["by hand", "sent items lookup"])
def faulty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[GraphServer, bool]]:
    lookup: bool = request.param
    roles = (*DEFAULT_ROLES, "Mail.ReadBasic.All") if lookup else DEFAULT_ROLES
    plan = FaultPlan(rate=0.25, seed=11 if lookup else 7, script=lost_writes("$batch", "sendMail"))
    with GraphServer(FakeGraph(roles=roles), directory=tmp_path / "tls", faults=plan) as server:
        yield server, lookup


def probe(server: GraphServer) -> FaultProbe:
    graph = server.graph

    def live() -> list[dict]:
        return [e for e in graph.events.values() if e.get("type") == "seriesMaster"]

    def pairs() -> Counter[str]:
        found: Counter[str] = Counter()
        for event in live():
            for prop in event.get("singleValueExtendedProperties") or []:
                if prop["id"] == PAIR:
                    found[prop["value"]] += 1
        return found

    def durations() -> set[int]:
        from tests.fakes.graph_server import _parse_local

        return {
            int((_parse_local(e["end"]) - _parse_local(e["start"])).total_seconds() // 60)
            for e in live()
        }

    def sent() -> Counter[str]:
        return Counter(str(m["X-Rmcal-Key"]) for m in graph.sent if not isinstance(m, dict))

    assert server.faults is not None
    return FaultProbe(server.faults, pairs, durations, sent)


def test_schedule_status_tick_under_faults(faulty: tuple[GraphServer, bool], tmp_path: Path):
    server, lookup = faulty
    settings = {"kind": "microsoft", **server.settings(), "sent_items_lookup": lookup}
    config = fault_config(tmp_path, settings, "contoso.com")
    fake = probe(server)
    walk_under_faults(run, config, fake, lookup=lookup)
    plan = fake.faults
    # The faults the issue names were all provoked, on writes as well as reads.
    for kind in ("429", "503", "500", "stall", "drop"):
        assert plan.count(kind) > 0, kind
    # ...and the scripted ones: lost answers to carried-out writes, for events and for mail.
    assert plan.count("drop", method="POST", contains="$batch") >= 1
    assert plan.count("drop", method="POST", contains="sendMail") >= 1
