"""Issue 10: schedule, status and tick through the CLI against a fake Google that fails a
quarter of its requests (429, 503, 500, stalls, dropped connections, before or after carrying a
write out); with and without the sent mail lookup. See ``tests/faultwalk.py`` for what must
hold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from rmcal_providers.google.settings import default_scopes

from tests.fakes.faults import FaultPlan
from tests.fakes.google_server import FakeGoogle, RunningFake, start, write_service_account
from tests.faultwalk import PAIRS, FaultProbe, fault_config, lost_writes, walk_under_faults
from tests.google.conftest import WORKSPACE_SA_EMAIL
from tests.google.helpers import DOMAIN, run

ORGANIZER = f"rm@{DOMAIN}"


@pytest.fixture(params=[False, True], ids=["by hand", "sent mail lookup"])
def faulty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[RunningFake, bool]]:
    lookup: bool = request.param
    fake = FakeGoogle(users=[ORGANIZER, f"lead@{DOMAIN}"])
    for number in range(PAIRS):
        fake.add_user(f"mentor{number}@{DOMAIN}")
        fake.add_user(f"mentee{number}@{DOMAIN}")
    public = write_service_account(tmp_path / "sa.json", WORKSPACE_SA_EMAIL)
    fake.add_service_account(WORKSPACE_SA_EMAIL, public, default_scopes(False, lookup))
    plan = FaultPlan(
        rate=0.25, seed=5 if lookup else 3, script=lost_writes("/batch/", "messages/send")
    )
    running = start(fake, tmp_path / "tls", faults=plan)
    try:
        yield running, lookup
    finally:
        running.stop()


def probe(running: RunningFake, plan: FaultPlan) -> FaultProbe:
    fake = running.fake

    def live() -> list[dict]:
        return [
            e
            for e in fake.calendar(ORGANIZER).values()
            if e.get("status") != "cancelled" and not e.get("recurringEventId")
        ]

    def pairs() -> Counter[str]:
        return Counter(e["extendedProperties"]["private"]["rmcal.pair"] for e in live())

    def durations() -> set[int]:
        def minutes(e: dict) -> int:
            start = datetime.fromisoformat(e["start"]["dateTime"])
            end = datetime.fromisoformat(e["end"]["dateTime"])
            return int((end - start).total_seconds() // 60)

        return {minutes(e) for e in live()}

    def sent() -> Counter[str]:
        return Counter(str(m["message"]["X-Rmcal-Key"]) for m in fake.sent)

    return FaultProbe(plan, pairs, durations, sent)


def test_schedule_status_tick_under_faults(faulty: tuple[RunningFake, bool], tmp_path: Path):
    running, lookup = faulty
    provider = {
        "kind": "google",
        "service_account_file": "sa.json",
        **running.settings(),
        "sent_items_lookup": lookup,
    }
    config = fault_config(tmp_path, provider, DOMAIN)
    plan = running.server.faults
    assert plan is not None
    fake = probe(running, plan)
    walk_under_faults(run, config, fake, lookup=lookup)
    for kind in ("429", "503", "500", "stall", "drop"):
        assert plan.count(kind) > 0, kind
    # ...and the scripted ones: lost answers to carried-out writes, for events and for mail.
    assert plan.count("drop", method="POST", contains="/batch/") >= 1
    assert plan.count("drop", method="POST", contains="messages/send") >= 1
