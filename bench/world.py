"""The fake clouds a benchmark scenario runs against, with Outlook's and Google's limits on.

Each world serves one provider over HTTPS on loopback from this process (threads that sleep
through their latency, so the server's CPU stays apart from rmcal's, which runs in a child), and
reads its counters: HTTP round trips, calls by kind, throttled answers, and the server's own CPU
seconds. The local provider has no server: its world is a folder.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rmcal_providers.google.settings import default_scopes

from bench.cohort import DOMAIN, LEAD, ORGANIZER, people
from tests.fakes.google_server import FakeGoogle, start, write_service_account
from tests.fakes.graph_server import FakeGraph, GraphServer

SA_EMAIL = "rmcal@bench.iam.gserviceaccount.com"
SECRET_ENV = "RMCAL_FAKE_SECRET"
GOOGLE_PER_USER_PER_MINUTE = 600  # Calendar's documented default per user and project


@dataclass(frozen=True)
class Counters:
    """A world's counters at one moment; differences give one scenario's cost."""

    round_trips: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    server_cpu: float = 0.0

    def since(self, before: Counters) -> Counters:
        calls = {
            kind: count - before.calls.get(kind, 0)
            for kind, count in self.calls.items()
            if count - before.calls.get(kind, 0)
        }
        return Counters(
            round_trips=self.round_trips - before.round_trips,
            calls=calls,
            throttled=self.throttled - before.throttled,
            server_cpu=self.server_cpu - before.server_cpu,
        )


class World(Protocol):
    provider: str
    settings: dict[str, Any]
    env: dict[str, str]

    def counters(self) -> Counters: ...


@dataclass
class LocalWorld:
    provider: str
    settings: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)

    def counters(self) -> Counters:
        return Counters(server_cpu=0.0)


@dataclass
class GraphWorld:
    provider: str
    settings: dict[str, Any]
    env: dict[str, str]
    fake: FakeGraph

    def counters(self) -> Counters:
        with self.fake.lock:
            return Counters(
                round_trips=self.fake.round_trips,
                calls=dict(self.fake.calls),
                throttled=self.fake.throttled,
                server_cpu=time.process_time(),
            )


@dataclass
class GoogleWorld:
    provider: str
    settings: dict[str, Any]
    env: dict[str, str]
    fake: FakeGoogle

    def counters(self) -> Counters:
        with self.fake.lock:
            return Counters(
                round_trips=self.fake.round_trips,
                calls=dict(self.fake.calls),
                throttled=self.fake.rate_refused,
                server_cpu=time.process_time(),
            )


@contextmanager
def local_world(folder: Path) -> Iterator[LocalWorld]:
    yield LocalWorld("local", {"kind": "local", "folder": str(folder / "local")})


def world_for(
    provider: str, folder: Path, *, latency: float, pairs: int
) -> AbstractContextManager[Any]:
    """The world a provider's scenarios run in: a fake server, or for local a folder."""
    if provider == "microsoft":
        return graph_world(folder, latency=latency)
    if provider == "google":
        return google_world(folder, latency=latency, pairs=pairs)
    return local_world(folder)


@contextmanager
def graph_world(folder: Path, *, latency: float) -> Iterator[GraphWorld]:
    """Fake Entra ID + Graph: 4 concurrent requests per mailbox, ``latency`` per answer."""
    with GraphServer(FakeGraph(latency=latency), directory=folder / "tls") as server:
        yield GraphWorld(
            "microsoft",
            {"kind": "microsoft", **server.settings(timeout=60)},
            {SECRET_ENV: "bench"},
            server.graph,
        )


@contextmanager
def google_world(folder: Path, *, latency: float, pairs: int) -> Iterator[GoogleWorld]:
    """Fake Google: the per-user Calendar quota (600 calls a minute), ``latency`` per answer."""
    fake = FakeGoogle(
        users=[ORGANIZER, LEAD],
        domain=DOMAIN,
        latency=latency,
        per_user_per_minute=GOOGLE_PER_USER_PER_MINUTE,
    )
    for mentor, _, mentee, _ in people(pairs):
        fake.add_user(mentor)
        fake.add_user(mentee)
    public = write_service_account(folder / "sa.json", SA_EMAIL)
    fake.add_service_account(SA_EMAIL, public, default_scopes(False))
    running = start(fake, folder / "tls")
    try:
        settings = {
            "kind": "google",
            "service_account_file": str(folder / "sa.json"),
            "timeout": 60,
            **running.settings(),
        }
        yield GoogleWorld("google", settings, {}, fake)
    finally:
        running.stop()
