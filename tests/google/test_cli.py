"""Issue 6's "done when": every rmcal command against the fake Google server for a 20-pair
cohort, through the real CLI, google-auth (JWT grant with a throwaway key), googleapiclient,
httplib2 and TLS."""

from __future__ import annotations

from pathlib import Path

from tests.cohort20 import FakeProbe, walk_every_command, write_config
from tests.fakes.google_server import RunningFake
from tests.google.helpers import DOMAIN, run


def test_twenty_pairs_through_every_command(workspace: RunningFake, tmp_path: Path):
    provider = {"kind": "google", "service_account_file": "sa.json", **workspace.settings()}
    config = str(write_config(tmp_path, provider, domain=DOMAIN))
    fake = workspace.fake

    organizer = f"rm@{DOMAIN}"
    walk_every_command(
        run,
        config,
        tmp_path,
        FakeProbe(
            provider="google",
            checks=7,
            events=lambda: len(fake.calendar(organizer)),
            sent=lambda: len(fake.sent),
            throttle=lambda: fake.inject(429, "rateLimitExceeded", retry_after="0", times=3),
            book=lambda who, start, end: fake.busy.setdefault(who, []).append((start, end)),
            mail_keys=lambda: [str(m["message"]["X-Rmcal-Key"]).strip() for m in fake.sent],
        ),
    )
    assert fake.batches == [20]
    assert all(f.hits == f.times for f in fake.faults)  # every injected 429 was waited out
    assert all(m["message"]["X-Rmcal-Key"] for m in fake.sent)
