"""``rmcal schedule`` end to end on the local provider, as an admin runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events
import yaml
from click.testing import CliRunner

from rmcal.cli import main
from rmcal.config import load_config
from rmcal.slots import window_problem
from tests.golden import check_golden

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T12:00:00+00:00"


@pytest.fixture
def programme(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "config.yaml")
    return tmp_path / "config.yaml"


def rmcal(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def schedule(config: Path, *extra: str, now: str = NOW) -> tuple[int, str]:
    return rmcal("schedule", "--config", str(config), "--now", now, *extra)


def edit(config: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(config.read_text())
    change(data)
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def calendars(config: Path) -> list[Path]:
    return sorted((config.parent / "rmcal-local" / "calendars").glob("*.ics"))


def outbox(config: Path) -> list[Path]:
    return sorted((config.parent / "rmcal-local" / "outbox").glob("*.eml"))


def test_first_run_schedules_every_pair_and_a_rerun_changes_nothing(programme: Path):
    code, out = schedule(programme)
    assert code == 0, out
    assert out.splitlines()[-1] == "12 pairs: 12 created."
    assert len(calendars(programme)) == 12
    invitations = outbox(programme)
    assert len(invitations) == 12

    code, out = schedule(programme)
    assert code == 0
    assert out.splitlines()[-1] == "Nothing changed: 12 series already match the config."
    assert outbox(programme) == invitations

    (programme.parent / "rmcal-state.db").unlink()
    code, out = schedule(programme)
    assert code == 0
    assert out.splitlines()[-1] == "Nothing changed: 12 series already match the config."
    assert len(calendars(programme)) == 12
    assert outbox(programme) == invitations


def test_every_written_occurrence_fits_both_people_as_an_independent_expander_sees_it(
    programme: Path,
):
    assert schedule(programme)[0] == 0
    config = load_config(programme, force=True)
    pairs = {p.id: p for p in config.pairs}
    for path in calendars(programme):
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
        master = next(e for e in calendar.walk("VEVENT") if "RRULE" in e)
        pair = pairs[str(master["X-RMCAL-PAIR"])]
        events = recurring_ical_events.of(calendar).between((2026, 1, 1), (2029, 1, 1))
        assert len(events) == pair.settings.sessions
        for event in events:
            start = event["DTSTART"].dt
            assert event["DTEND"].dt - start == pair.settings.duration
            for person in pair.people:
                assert (
                    window_problem(person, pair.window_of(person), start, pair.settings.duration)
                    is None
                ), (path.name, start)


def test_dry_run_writes_nothing(programme: Path):
    code, out = schedule(programme, "--dry-run")
    assert code == 0
    assert out.splitlines()[0].startswith("Plan (dry run, nothing written)")
    assert out.splitlines()[-1] == "12 pairs: 12 to create."
    check_golden("schedule-dry-run.txt", out)
    assert not (programme.parent / "rmcal-local").exists()
    assert not (programme.parent / "rmcal-state.db").exists()


def test_json_output(programme: Path):
    code, out = schedule(programme, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["counts"] == {
        "create": 12,
        "update": 0,
        "end": 0,
        "unchanged": 0,
        "unschedulable": 0,
    }
    assert {i["result"] for i in data["items"]} == {"created"}
    assert all(i["series_key"].startswith("rm") and i["rrule"] for i in data["items"])


def test_removed_pair_is_ended_after_its_next_session_and_never_deleted(programme: Path):
    assert schedule(programme)[0] == 0
    removed = yaml.safe_load(programme.read_text())["cohorts"][0]["pairs"][0]
    edit(programme, lambda d: d["cohorts"][0]["pairs"].pop(0))
    code, out = schedule(programme, now="2027-01-20T12:00:00+00:00")
    assert code == 0, out
    assert "1 ended" in out.splitlines()[-1]
    ended = [p for p in calendars(programme) if removed["mentee"]["email"] in p.read_text()]
    assert len(ended) == 1
    assert "UNTIL=" in ended[0].read_text()
    code, out = schedule(programme, now="2027-01-20T12:00:00+00:00")
    assert out.splitlines()[-1] == "Nothing changed: 11 series already match the config."


def test_changed_duration_updates_in_place(programme: Path):
    assert schedule(programme)[0] == 0
    edit(programme, lambda d: d["cohorts"][0]["pairs"][1].update(settings={"duration": "1h"}))
    code, out = schedule(programme)
    assert code == 0
    assert out.splitlines()[-1] == "12 pairs: 1 updated, 11 unchanged."
    assert "changes: duration" in out
    assert len(calendars(programme)) == 12


def test_an_unschedulable_pair_exits_3_and_the_others_are_scheduled(programme: Path):
    def impossible(data):  # type: ignore[no-untyped-def]
        pair = data["cohorts"][1]["pairs"][0]
        pair.pop("slot", None)
        pair["mentor"]["window"] = {"hours": "10:00-16:00"}
        pair["mentor"]["timezone"] = "Europe/London"
        pair["mentee"]["window"] = {"hours": "10:00-16:00"}
        pair["mentee"]["timezone"] = "Asia/Tokyo"

    edit(programme, impossible)
    runner = CliRunner()
    result = runner.invoke(main, ["schedule", "-c", str(programme), "--now", NOW])
    assert result.exit_code == 3
    assert "never overlap" in result.output
    assert len(calendars(programme)) == 11
    assert "1 pair(s) left undone" in result.output


def test_bad_config_is_one_line_exit_2_and_writes_nothing(programme: Path):
    edit(programme, lambda d: d["cohorts"][0]["pairs"][2]["mentee"].update(timezone="Europe/Londn"))
    result = CliRunner().invoke(main, ["schedule", "-c", str(programme), "--now", NOW])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert (
        "cohorts[0].pairs[2].mentee.timezone: 'Europe/Londn' is not an IANA time zone" in lines[0]
    )
    assert "did you mean 'Europe/London'?" in lines[0]
    assert not (programme.parent / "rmcal-local").exists()
    assert not (programme.parent / "rmcal-state.db").exists()


def test_a_new_cohort_in_the_past_needs_force_a_running_one_does_not(programme: Path):
    late = "2027-02-01T09:00:00+00:00"
    code, out = schedule(programme, now=late)
    assert code == 2
    assert out.strip().endswith(
        "cohorts[0].start: start date 2027-01-11 is in the past (today is 2027-02-01) and the "
        "calendar holds no series of this cohort yet; use --force to schedule a cohort that "
        "already started"
    )
    assert not (programme.parent / "rmcal-state.db").exists()
    assert not (programme.parent / "rmcal-local").exists()
    code, out = schedule(programme, "--force", now=late)
    assert code == 0, out
    code, out = schedule(programme, now=late)  # running cohorts: no --force needed
    assert code == 0, out
    assert out.splitlines()[-1] == "Nothing changed: 12 series already match the config."


def test_validate(programme: Path):
    code, out = rmcal("validate", "--config", str(programme), "--now", NOW)
    assert code == 0, out
    assert out.startswith(f"{programme}: OK: 12 pairs in 2 cohort(s), provider local")


def test_installed_console_script(programme: Path):
    script = Path(sys.executable).with_name("rmcal")
    if not script.exists():
        if os.environ.get("CI"):
            pytest.fail("the rmcal console script is missing in CI: pip install -e . must make it")
        pytest.skip("rmcal is not installed in this environment")
    run = subprocess.run(
        [str(script), "schedule", "-c", str(programme), "--now", NOW],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "12 pairs: 12 created."
    bad = subprocess.run(
        [str(script), "schedule", "-c", str(programme.parent / "nope.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_occurrences_read_back_match_what_was_planned(programme: Path):
    from rmcal.runtime import open_provider

    assert schedule(programme)[0] == 0
    config = load_config(programme, force=True)
    provider = open_provider(config)
    for cohort in config.cohorts:
        for series in provider.find_series(cohort.id):
            occurrences = provider.occurrences(
                [series], series.start - timedelta(days=1), series.start + timedelta(days=400)
            )[series.key]
            assert len(occurrences) == next(
                p.settings.sessions for p in cohort.pairs if p.id == series.pair_id
            )
            assert not any(o.cancelled or o.moved for o in occurrences)


def test_unknown_provider_kind_names_the_line_and_the_installed_ones(programme: Path):
    text = programme.read_text().replace("kind: local ", "kind: caldav ")
    programme.write_text(text)
    code, out = rmcal("validate", "-c", str(programme), "--now", NOW)
    assert code == 2
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "kind: caldav" in row)
    assert out.strip() == (
        f"rmcal: error: {programme}:{line}: provider.kind: unknown provider kind 'caldav'; "
        "installed providers: google, local, microsoft"
    )


def test_validate_rejects_a_cadence_the_provider_cannot_express_offline(
    programme: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("RMCAL_TEST_SECRET", "not-used-offline")

    def to_microsoft(data):  # type: ignore[no-untyped-def]
        data["provider"] = {
            "kind": "microsoft",
            "tenant_id": "contoso.onmicrosoft.com",
            "client_id": "11111111-2222-3333-4444-555555555555",
            "auth": "secret",
            "client_secret_env": "RMCAL_TEST_SECRET",
        }
        quarterly = "RRULE:FREQ=MONTHLY;BYMONTH=1,4,7,10"  # Graph has no monthly BYMONTH
        data["cohorts"][1]["pairs"][2]["settings"]["cadence"] = quarterly

    edit(programme, to_microsoft)
    code, out = rmcal("validate", "-c", str(programme), "--now", NOW)
    assert code == 2
    assert (
        ": cohorts[1].pairs[2].settings.cadence: provider microsoft cannot express cadence" in out
    )
    assert len(out.strip().splitlines()) == 1
