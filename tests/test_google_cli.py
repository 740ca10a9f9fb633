"""Issue 6's "done when": every rmcal command against the fake Google server for a 20-pair
cohort, through the real CLI, google-auth (JWT grant with a throwaway key), googleapiclient,
httplib2 and TLS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rmcal_providers.google_settings import default_scopes

from rmcal.cli import main
from tests.cohort20 import FakeProbe, walk_every_command, write_config
from tests.fakes.google_server import FakeGoogle, RunningFake, start, write_service_account

DOMAIN = "contoso.com"
SA_EMAIL = "rmcal@contoso-rmcal.iam.gserviceaccount.com"


@pytest.fixture
def google(tmp_path: Path) -> Iterator[RunningFake]:
    fake = FakeGoogle(users=[f"rm@{DOMAIN}", f"lead@{DOMAIN}"])
    for number in range(20):
        fake.add_user(f"mentor{number}@{DOMAIN}")
        fake.add_user(f"mentee{number}@{DOMAIN}")
    public = write_service_account(tmp_path / "sa.json", SA_EMAIL)
    fake.add_service_account(SA_EMAIL, public, default_scopes(False))
    running = start(fake, tmp_path / "tls")
    try:
        yield running
    finally:
        running.stop()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_twenty_pairs_through_every_command(google: RunningFake, tmp_path: Path):
    provider = {"kind": "google", "service_account_file": "sa.json", **google.settings()}
    config = str(write_config(tmp_path, provider, domain=DOMAIN))
    fake = google.fake

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
        ),
    )
    assert fake.batches == [20]
    assert all(f.hits == f.times for f in fake.faults)  # every injected 429 was waited out
    assert all(m["message"]["X-Rmcal-Key"] for m in fake.sent)
