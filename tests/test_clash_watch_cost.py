"""What the clash watch costs for 200 pairs: free/busy round trips against the cloud fakes.

Both fake servers refuse what their platform refuses (Graph's getSchedule: more than 20 people
or a span of 62 days or more; Google's freeBusy: more than 50 calendars or 90 days), so a read
that breaks a limit fails here as it would in production. The counts are the table in
docs/session-loop.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rmcal_providers.google import GoogleProvider
from rmcal_providers.google.settings import default_scopes
from rmcal_providers.microsoft import MicrosoftProvider

from rmcal.clashes import read_watch
from rmcal.readings import PairReading
from tests.builders import pair, person, weekly_reading
from tests.fakes.google_server import ORGANIZER, FakeGoogle, RunningFake, make_context, start
from tests.fakes.google_server import write_service_account as google_key
from tests.fakes.graph_server import GraphServer
from tests.microsoft.helpers import context

PAIRS = 200
ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Europe/Berlin", "Asia/Singapore"]
FIRST = datetime(2027, 1, 11, 14, 0, tzinfo=UTC)  # every pair's first session (Monday)
NOW = FIRST - timedelta(hours=6)
SA = "rmcal@watch-test.iam.gserviceaccount.com"


def programme(domain: str, days: int) -> list[PairReading]:
    readings = []
    for n in range(PAIRS):
        p = pair(
            person(f"mentor{n}", ZONES[n % len(ZONES)]),
            person(f"mentee{n}", ZONES[(n + 2) % len(ZONES)]),
        )
        p = replace(
            p,
            mentor=replace(p.mentor, email=f"mentor{n}@{domain}"),
            mentee=replace(p.mentee, email=f"mentee{n}@{domain}"),
            settings=replace(p.settings, clash_watch_days=days),
        )
        readings.append(weekly_reading(p, FIRST, NOW, sessions=12))
    return readings


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[GraphServer]:
    with GraphServer(directory=tmp_path / "tls") as server:
        yield server


@pytest.fixture
def google(tmp_path: Path) -> Iterator[RunningFake]:
    fake = FakeGoogle(users=[ORGANIZER])
    for n in range(PAIRS):
        fake.add_user(f"mentor{n}@example.com")
        fake.add_user(f"mentee{n}@example.com")
    fake.add_service_account(SA, google_key(tmp_path / "sa.json", SA), default_scopes(False))
    running = start(fake, tmp_path / "tls")
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize(("days", "calls"), [(14, 20), (60, 40)])
def test_graph_reads_200_pairs_in_20_people_calls(
    graph: GraphServer, tmp_path: Path, days: int, calls: int
) -> None:
    readings = programme("contoso.com", days)
    booked = readings[7].health.sessions[1]  # someone books over pair 7's second session
    graph.graph.busy["mentor7@contoso.com"] = [(booked.start, booked.end + timedelta(hours=1))]
    provider = MicrosoftProvider(
        graph.settings(), context(tmp_path, env={"RMCAL_FAKE_SECRET": "fake-secret"})
    )
    before = len(graph.graph.requests)
    watch = read_watch(provider, readings, NOW)
    trips = [url for _, url in graph.graph.requests[before:] if url.endswith("/getSchedule")]
    # 400 people / 20 per call, times the windows of under 62 days the span needs.
    span = watch.window[1] - watch.window[0] if watch.window else timedelta(0)
    assert len(trips) == math.ceil(2 * PAIRS / 20) * math.ceil(span / timedelta(days=61)) == calls
    assert (watch.pairs, watch.people) == (PAIRS, 2 * PAIRS)
    assert [(c.pair_id, c.person.email) for c in watch.clashes] == [
        (readings[7].pair.id, "mentor7@contoso.com")
    ]


@pytest.mark.parametrize("days", [14, 60])
def test_google_reads_200_pairs_in_8_calls_in_one_batch(
    google: RunningFake, tmp_path: Path, days: int
) -> None:
    readings = programme("example.com", days)
    provider = GoogleProvider(
        {"service_account_file": str(tmp_path / "sa.json"), **google.settings()},
        make_context(tmp_path),
    )
    before, batches = len(google.fake.log), len(google.fake.batches)
    watch = read_watch(provider, readings, NOW)
    calls = [path for _, path in google.fake.log[before:] if path.endswith("/freeBusy")]
    assert len(calls) == math.ceil(2 * PAIRS / 50) == 8  # one window: at most 66 days < 90
    assert google.fake.batches[batches:] == [8]  # the eight calls in one round trip
    assert watch.people == 2 * PAIRS and watch.clashes == ()
