"""A series deleted in Google Calendar keeps its id for ever: ``--recreate`` uses the next key."""

from __future__ import annotations

from pathlib import Path

from rmcal.model import series_key
from tests.cohort20 import NOW, write_config
from tests.fakes.google_server import RunningFake
from tests.google.helpers import DOMAIN, run


def test_deleted_series_is_left_alone_then_recreated_under_the_next_generation(
    workspace: RunningFake,
    tmp_path: Path,
):
    provider = {"kind": "google", "service_account_file": "sa.json", **workspace.settings()}
    config = str(write_config(tmp_path, provider, domain=DOMAIN, pairs=3))
    assert run("schedule", "-c", config, "--now", NOW)[0] == 0
    organizer = f"rm@{DOMAIN}"
    calendar = workspace.fake.calendar(organizer)
    victim = sorted(calendar)[0]
    workspace.fake.delete_event(organizer, victim)

    code, out = run("schedule", "-c", config, "--now", NOW)
    assert code == 0, out
    assert "deleted in the calendar; left alone" in out
    assert out.splitlines()[-1] == "Nothing changed: 3 series already match the config."

    code, out = run("schedule", "-c", config, "--now", NOW, "--recreate")
    assert code == 0, out
    assert out.splitlines()[-1] == "3 pairs: 1 created, 2 unchanged."
    pair_id = calendar[victim]["extendedProperties"]["private"]["rmcal.pair"]
    cohort = calendar[victim]["extendedProperties"]["private"]["rmcal.cohort"]
    assert series_key(cohort, pair_id, 2) in workspace.fake.calendar(organizer)

    code, out = run("schedule", "-c", config, "--now", NOW)
    assert out.splitlines()[-1] == "Nothing changed: 3 series already match the config."
