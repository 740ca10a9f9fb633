"""``rmcal.config.loader``: the file's structure, cohorts, provider, paths and the clock.

Each error case is a small named file in ``tests/fixtures/config/``; the tests load it by the
bare name from inside that folder, so the whole message (file, line, key path, hint) is compared
exactly as an admin would read it.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from rmcal.config import load_config
from rmcal.errors import ConfigError
from rmcal.model import Cadence
from tests.config.cases import ERRORS, VALID
from tests.config.helpers import FIXTURES, NOW, ROOT, assert_one_line, error_cases, load


@error_cases("loader")
def test_bad_structure_gives_one_line_and_exit_code_2(
    in_fixtures: Path, fixture: str, message: str
) -> None:
    assert_one_line(fixture, message)


def test_every_error_fixture_is_in_the_table() -> None:
    """A fixture nobody asserts on is a case nobody checks."""
    named = [case[0] for cases in ERRORS.values() for case in cases]
    assert len(named) == len(set(named)), "a fixture is listed under two modules"
    on_disk = {p.name for p in FIXTURES.glob("*.yaml")}
    assert on_disk - VALID == set(named)


def test_missing_templates_folder(in_fixtures: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load("missing_templates.yaml")
    assert str(caught.value) == (
        "missing_templates.yaml:6: programme.templates: './no-such-templates' is not a folder; "
        f"looked for {FIXTURES / 'no-such-templates'}"
    )


def test_unreadable_config_file(in_fixtures: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load("no-such-config.yaml")
    assert str(caught.value) == (
        "no-such-config.yaml: cannot read the config file: No such file or directory"
    )
    assert caught.value.exit_code == 2


def test_error_names_the_path_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(ConfigError) as caught:
        load(os.path.join("tests", "fixtures", "config", "bad_timezone.yaml"))
    assert caught.value.file == "tests/fixtures/config/bad_timezone.yaml"
    assert caught.value.line == 13
    assert caught.value.key == "cohorts[0].pairs[0].mentee.timezone"


def test_force_allows_a_cohort_that_already_started(in_fixtures: Path) -> None:
    config = load("past_start.yaml", force=True)
    assert config.cohorts[0].start == date(2026, 9, 7)


def test_today_is_a_valid_start(in_fixtures: Path) -> None:
    # 2027-01-11 00:30 in London is still 2027-01-10 in New York: the programme zone decides.
    config = load("valid_minimal.yaml", now=datetime(2027, 1, 11, 0, 30, tzinfo=UTC))
    assert config.cohorts[0].start == date(2027, 1, 11)


@pytest.mark.parametrize(
    ("now", "written", "expected"),
    [
        (datetime(2026, 11, 23, 12, 0, tzinfo=UTC), "next Monday", date(2026, 11, 30)),  # a Mon
        (datetime(2026, 11, 29, 23, 30, tzinfo=UTC), "next mon", date(2026, 11, 30)),  # a Sun
        (datetime(2026, 11, 25, 9, 0, tzinfo=UTC), "next Thursday", date(2026, 11, 26)),
        (datetime(2026, 11, 25, 9, 0, tzinfo=UTC), "next wed", date(2026, 12, 2)),
        # 00:30 UTC on Monday 30 Nov is still Sunday in New York: the programme zone decides.
        (datetime(2026, 11, 30, 0, 30, tzinfo=UTC), "next Monday", date(2026, 11, 30)),
    ],
)
def test_a_relative_start_is_the_first_such_day_after_today(
    tmp_path: Path, now: datetime, written: str, expected: date
) -> None:
    text = (FIXTURES / "valid_minimal.yaml").read_text()
    assert "start: 2027-01-11" in text
    path = tmp_path / "config.yaml"
    path.write_text(
        text.replace("start: 2027-01-11", f"start: {written}").replace(
            "timezone: Europe/London", "timezone: America/New_York"
        )
    )
    cohort = load(path, now=now).cohorts[0]
    assert cohort.start == expected
    assert cohort.relative_start == f"next {expected:%A}"


def test_a_relative_start_with_no_weekday_names_the_line(tmp_path: Path) -> None:
    text = (FIXTURES / "valid_minimal.yaml").read_text()
    path = tmp_path / "config.yaml"
    path.write_text(text.replace("start: 2027-01-11", "start: next Funday"))
    with pytest.raises(ConfigError) as caught:
        load(path)
    line = text.splitlines().index("    start: 2027-01-11") + 1
    assert str(caught.value) == (
        f"{path}:{line}: cohorts[0].start: 'Funday' is not a day of the week; write a date "
        "YYYY-MM-DD (e.g. 2027-01-11) or next Monday (any weekday)"
    )


def test_minimal_config_takes_model_defaults(in_fixtures: Path) -> None:
    config = load("valid_minimal.yaml")
    pair = config.pairs[0]
    assert pair.mentor.timezone == "Europe/London"  # programme.timezone
    assert pair.settings == config.defaults == config.cohorts[0].settings
    assert config.defaults.sessions == 6
    assert config.defaults.cadence == Cadence("weekly")
    assert config.programme.organizer.name == "Test programme"
    assert config.state_path == FIXTURES / "rmcal-state.db"
    assert config.templates_dir is None
    assert config.lines["provider.kind"] == 7
    assert config.lines["cohorts[0].pairs[0].mentee.email"] == 13


def test_relative_paths_resolve_against_the_config_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT / "tests")
    config = load(os.path.join("fixtures", "config", "paths.yaml"))
    assert config.path == FIXTURES / "paths.yaml"
    assert config.state_path == FIXTURES / "data" / "state.db"
    assert config.templates_dir == FIXTURES / "templates"
    assert config.provider.kind == "local"
    assert config.provider.settings == {
        "folder": str(FIXTURES / "out" / "local"),
        "send_invitations": True,  # everything but kind and folder: verbatim
    }


def test_paths_expand_home_and_environment_variables(in_fixtures: Path) -> None:
    config = load("env_paths.yaml", env={"HOME": "/home/ana", "RMCAL_DATA": "/srv/rmcal"})
    assert config.provider.settings["folder"] == "/home/ana/rmcal-local"
    assert config.state_path == Path("/srv/rmcal/state.db")


def test_the_package_keeps_its_public_names() -> None:
    """Callers import from ``rmcal.config``; the modules behind it are free to move."""
    import rmcal.config

    assert rmcal.config.load_config is load_config
    public = ["CSV_COLUMNS", "FORCE_HINT", "KEY_TABLES", "load_config"]
    assert sorted(rmcal.config.__all__) == public
    assert all(hasattr(rmcal.config, name) for name in public)


# -- the shipped example ---------------------------------------------------------------------------


def test_example_config_loads_and_is_realistic() -> None:
    config = load(ROOT / "config.example.yaml")
    pairs = config.pairs
    assert len(pairs) == 12
    zones = {p.mentor.timezone for p in pairs} | {p.mentee.timezone for p in pairs}
    assert len(zones) >= 3 and "Asia/Kolkata" in zones
    assert all(p.focus for p in pairs)
    assert any(p.fixed_slot for p in pairs)
    assert all(c.start > NOW.date() for c in config.cohorts)
    leads = config.programme.leads
    assert len(leads) == 2 and all(lead.cohorts for lead in leads)
    assert config.provider.kind == "local"
    assert config.provider.settings == {"folder": str(ROOT / "rmcal-local")}
    assert config.state_path == ROOT / "rmcal-state.db"
    assert "reverse" in config.programme.purpose.lower() or "teach" in config.programme.purpose


def test_example_config_schedules_every_pair() -> None:
    """Runnable as-is: with nobody busy, every pair has a slot inside both windows."""
    from rmcal.slots import NoSlot, find_slot

    config = load(ROOT / "config.example.yaml")
    for cohort in config.cohorts:
        for pair in cohort.pairs:
            found = find_slot(pair, cohort.start, {}, programme_zone=config.programme.timezone)
            assert not isinstance(found, NoSlot), (pair.id, found)


@pytest.mark.parametrize(
    ("start", "now"),
    [("1999-12-31", NOW), ("9999-12-20", datetime(9999, 12, 1, tzinfo=UTC))],
    ids=["before-2000", "year-9999"],
)
def test_a_start_outside_the_years_rmcal_counts_in(
    start: str, now: datetime, tmp_path: Path
) -> None:
    """Even with --force (a running cohort) and an extreme clock from a library caller: five
    years of sessions from 9999 would run off the end of the calendar."""
    path = tmp_path / "c.yaml"
    path.write_text((FIXTURES / "valid_minimal.yaml").read_text().replace("2027-01-11", start))
    with pytest.raises(ConfigError) as caught:
        load(path, now=now, force=True)
    assert str(caught.value) == (
        f"{path}:10: cohorts[0].start: start date {start} is not between the years 2000 and "
        "2999; check the year"
    )
