"""Issue 6's "done when": every rmcal command against the fake Google server for a 20-pair
cohort, through the real CLI, google-auth (JWT grant with a throwaway key), googleapiclient,
httplib2 and TLS."""

from __future__ import annotations

from pathlib import Path

from tests.cohort20 import NOW, FakeProbe, walk_every_command, write_config
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
            checks=8,
            events=lambda: len(fake.calendar(organizer)),
            sent=lambda: len(fake.sent),
            throttle=lambda: fake.inject(429, "rateLimitExceeded", retry_after="0", times=3),
            book=lambda who, start, end: fake.busy.setdefault(who, []).append((start, end)),
            mail_keys=lambda: [str(m["message"]["X-Rmcal-Key"]).strip() for m in fake.sent],
        ),
    )
    # The 20 creates in one batch; free/busy reads that span two 90-day windows in one each.
    assert fake.batches == [20, 2, 2], fake.batched
    assert {p.split()[-1] for p in fake.batched[0]} == {"events"}
    assert all(p == "POST freeBusy" for b in fake.batched[1:] for p in b)
    assert all(f.hits == f.times for f in fake.faults)  # every injected 429 was waited out
    assert all(m["message"]["X-Rmcal-Key"] for m in fake.sent)


def test_throttling_past_the_budget_fails_those_pairs_with_exit_3_and_a_rerun_finishes(
    workspace: RunningFake, tmp_path: Path
):
    """Issue 10: throttling that outlasts max_retry_seconds fails only the pairs it hit; the
    others are created, the table is printed, and the run exits 3 (not 1)."""
    provider = {
        "kind": "google",
        "service_account_file": "sa.json",
        **workspace.settings(),
        "max_retry_seconds": 1,
    }
    config = str(write_config(tmp_path, provider, domain=DOMAIN, pairs=6))
    fake = workspace.fake
    fake.inject(
        429, "rateLimitExceeded", method="POST", path_contains="/events", times=2, retry_after="30"
    )
    code, out = run("schedule", "-c", config, "--now", NOW)
    assert code == 3, out
    assert out.count("\nfailed: ") == 2 and "Google kept refusing (429" in out
    assert "6 pairs: 4 created, 2 failed." in out
    assert len(fake.calendar(f"rm@{DOMAIN}")) == 4
    code, out = run("schedule", "-c", config, "--now", NOW)
    assert code == 0, out
    assert "2 created" in out.splitlines()[-1] and len(fake.calendar(f"rm@{DOMAIN}")) == 6
