"""``rmcal.config``: every class of bad input gives one exact line; good input gives typed objects.

Each error case is a small named file in ``tests/fixtures/config/``; the tests load it by the
bare name from inside that folder, so the whole message (file, line, key path, hint) is compared
exactly as an admin would read it.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from rmcal.config import load_config
from rmcal.errors import ConfigError
from rmcal.model import Cadence, Config, FixedSlot, Window, pair_id

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "config"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MON_FRI = frozenset(range(5))

ERRORS = [
    # unknown keys
    (
        "unknown_key.yaml",
        "unknown_key.yaml:12: cohorts[0].pairs[0].mentro: unknown key 'mentro'; "
        "did you mean 'mentor'?",
    ),
    (
        "unknown_top_key.yaml",
        "unknown_top_key.yaml:8: defualts: unknown key 'defualts'; did you mean 'defaults'?",
    ),
    (
        "unknown_key_setting_misplaced.yaml",
        "unknown_key_setting_misplaced.yaml:11: cohorts[0].cadence: unknown key 'cadence'; "
        "settings go under settings:",
    ),
    # missing keys
    ("missing_key.yaml", "missing_key.yaml:1: programme: missing required key 'purpose'"),
    ("missing_section.yaml", "missing_section.yaml: missing required key 'cohorts'"),
    (
        "missing_pairs.yaml",
        "missing_pairs.yaml:9: cohorts[0]: missing required key 'pairs'; "
        "list the pairs under pairs: or name an HR export with pairs_csv:",
    ),
    (
        "missing_person_name.yaml",
        "missing_person_name.yaml:13: cohorts[0].pairs[0].mentee: missing required key 'name'",
    ),
    # YAML itself
    (
        "yaml_syntax.yaml",
        "yaml_syntax.yaml:13: invalid YAML: expected ',' or '}', but got ':' "
        "(while parsing a flow mapping on line 12)",
    ),
    (
        "yaml_tab.yaml",
        "yaml_tab.yaml:10: invalid YAML: found character '\\t' that cannot start any token "
        "(while scanning for the next token); indent with spaces, not tabs",
    ),
    (
        "duplicate_key.yaml",
        "duplicate_key.yaml:11: cohorts[0].start: duplicate key 'start' "
        "(first given on line 10); give each key once",
    ),
    ("empty.yaml", "empty.yaml: the file is empty; start from config.example.yaml"),
    ("not_a_mapping.yaml", "not_a_mapping.yaml:1: expected a mapping of sections, got a list"),
    # wrong types
    (
        "wrong_type_sessions.yaml",
        "wrong_type_sessions.yaml:9: defaults.sessions: expected a whole number, got 'six'",
    ),
    (
        "wrong_type_pairs.yaml",
        "wrong_type_pairs.yaml:11: cohorts[0].pairs: expected a list, got a mapping; "
        "write [a, b] or '- ' lines",
    ),
    (
        "wrong_type_name.yaml",
        "wrong_type_name.yaml:2: programme.name: expected text, got the number '2027'; "
        "put it in quotes",
    ),
    (
        "provider_kind_not_text.yaml",
        "provider_kind_not_text.yaml:7: provider.kind: expected text, got a list",
    ),
    # time zones
    (
        "bad_timezone.yaml",
        "bad_timezone.yaml:13: cohorts[0].pairs[0].mentee.timezone: 'Europe/Londn' is not an "
        "IANA time zone; did you mean 'Europe/London'?",
    ),
    (
        "bad_timezone_case.yaml",
        "bad_timezone_case.yaml:12: cohorts[0].pairs[0].mentor.timezone: 'asia/kolkata' is not "
        "an IANA time zone; did you mean 'Asia/Kolkata'? (names are case-sensitive)",
    ),
    (
        "bad_timezone_abbreviation.yaml",
        "bad_timezone_abbreviation.yaml:5: programme.timezone: 'IST' is not an IANA time zone; "
        "abbreviations are ambiguous and ignore daylight saving; use a city zone such as "
        "'Asia/Kolkata'",
    ),
    # e-mails
    (
        "bad_email.yaml",
        "bad_email.yaml:12: cohorts[0].pairs[0].mentor.email: 'ana.northwind.example' is not "
        "an e-mail address",
    ),
    (
        "bad_email_display_name.yaml",
        "bad_email_display_name.yaml:4: programme.organizer.email: "
        "'Reverse Mentoring <RM@Northwind.example>' is not an e-mail address; "
        "give the bare address, 'rm@northwind.example'",
    ),
    # durations
    (
        "bad_duration.yaml",
        "bad_duration.yaml:9: defaults.duration: '45 mns' is not a duration; "
        "write e.g. 45m, 1h, 1h30m, 90 minutes or a number of minutes",
    ),
    (
        "zero_duration.yaml",
        "zero_duration.yaml:9: defaults.duration: must be more than zero, got '0m'",
    ),
    (
        "negative_duration.yaml",
        "negative_duration.yaml:9: defaults.duration: must be more than zero, got '-30m'",
    ),
    ("long_duration.yaml", "long_duration.yaml:9: defaults.duration: must be at most 8h, got '9h'"),
    # cadences
    (
        "bad_cadence.yaml",
        "bad_cadence.yaml:9: defaults.cadence: 'twice a month' is not a cadence; use weekly, "
        "every N weeks, fortnightly, monthly, every N months or an RRULE such as "
        "RRULE:FREQ=WEEKLY;INTERVAL=3",
    ),
    (
        "bad_cadence_interval.yaml",
        "bad_cadence_interval.yaml:9: defaults.cadence: 'every 0 weeks' is not a cadence; "
        "the number of weeks must be between 1 and 52",
    ),
    (
        "bad_rrule.yaml",
        "bad_rrule.yaml:9: defaults.cadence: 'RRULE:FREQ=WEEKLY;INTERVAL=3;COUNT=4' is not a "
        "usable RRULE: COUNT not allowed in a cadence rule "
        "(the number of sessions / end date set COUNT and UNTIL)",
    ),
    (
        "bad_rrule_freq.yaml",
        "bad_rrule_freq.yaml:15: cohorts[0].pairs[0].settings.cadence: 'RRULE:FREQ=HOURLY' is "
        "not a usable RRULE: FREQ=HOURLY is not a meeting cadence",
    ),
    (
        "bad_date.yaml",
        "bad_date.yaml:10: cohorts[0].start: '2027-02-30' is not a valid date "
        "(day is out of range for month)",
    ),
    # sessions / end date
    (
        "sessions_and_end_date.yaml",
        "sessions_and_end_date.yaml:13: cohorts[0].settings.end_date: give either sessions or "
        "end_date, not both; sessions is set on line 12",
    ),
    (
        "end_date_before_start.yaml",
        "end_date_before_start.yaml:9: defaults.end_date: end date 2026-12-31 is before the "
        "cohort starts (2027-01-11)",
    ),
    # pairs
    (
        "same_person.yaml",
        "same_person.yaml:13: cohorts[0].pairs[0].mentee.email: 'ana@northwind.example' cannot "
        "be both mentor and mentee of a pair",
    ),
    (
        "duplicate_pair.yaml",
        "duplicate_pair.yaml:16: cohorts[0].pairs[2]: ana@northwind.example and "
        "bob@northwind.example are already a pair in this cohort, at cohorts[0].pairs[0] "
        "(line 12); remove one of the two",
    ),
    (
        "overlapping_slots.yaml",
        "overlapping_slots.yaml:17: cohorts[0].pairs[1].slot: ana@northwind.example would be in "
        "two sessions at once: this slot overlaps Wed 10:00 of cohorts[0].pairs[0] (line 12) "
        "on 2027-01-13; give one of the two pairs another slot, or drop slot: to let rmcal "
        "search",
    ),
    (
        "timezone_conflict.yaml",
        "timezone_conflict.yaml:14: cohorts[0].pairs[1].mentor.timezone: ana@northwind.example "
        "is in Asia/Singapore here but in Asia/Kolkata at cohorts[0].pairs[0] (line 12); give "
        "this person the same timezone everywhere in a cohort",
    ),
    # the clock
    (
        "past_start.yaml",
        "past_start.yaml:10: cohorts[0].start: start date 2026-09-07 is in the past "
        "(today is 2026-11-23); use --force to schedule a cohort that already started",
    ),
    # fixed slots and windows
    (
        "bad_slot.yaml",
        "bad_slot.yaml:14: cohorts[0].pairs[0].slot: 'Wed at 2pm' is not a slot; write a weekday "
        "and a time, e.g. 'Wed 14:00' or 'Wed 14:00 Europe/London'",
    ),
    (
        "bad_slot_timezone.yaml",
        "bad_slot_timezone.yaml:14: cohorts[0].pairs[0].slot: 'Europe/Berln' is not an IANA "
        "time zone; did you mean 'Europe/Berlin'?",
    ),
    (
        "bad_window_days.yaml",
        "bad_window_days.yaml:9: defaults.window.days: 'Mon-Fry' is not a day of the week; "
        "use Mon, Tue, Wed, Thu, Fri, Sat, Sun, a range such as Mon-Fri, or a list [Mon, Wed]",
    ),
    (
        "bad_window_hours.yaml",
        "bad_window_hours.yaml:11: defaults.window.hours: '17:00-09:00' ends before it starts; "
        "a window lies within one day; the end must be later than the start",
    ),
    (
        "window_too_short.yaml",
        "window_too_short.yaml:17: cohorts[0].pairs[0].mentor.window.hours: the window "
        "09:00-09:30 is shorter than one 1h session",
    ),
    # leads and cohorts
    (
        "unknown_lead.yaml",
        "unknown_lead.yaml:16: cohorts[0].pairs[0].lead: 'leo@northwind.example' is not a lead; "
        "did you mean 'lee@northwind.example'?",
    ),
    (
        "lead_unknown_cohort.yaml",
        "lead_unknown_cohort.yaml:9: programme.leads[0].cohorts[1]: no cohort '2027-sprng'; "
        "did you mean '2027-spring'?",
    ),
    (
        "lead_unknown_pair.yaml",
        "lead_unknown_pair.yaml:9: programme.leads[0].pairs[0]: no pair "
        "'ana@northwind.example/rob@northwind.example'; did you mean "
        "'ana@northwind.example/bob@northwind.example'?",
    ),
    (
        "lead_bad_scope.yaml",
        "lead_bad_scope.yaml:7: programme.leads[0].scope: 'everything' is not a scope; the only "
        "scope is 'all'; to limit a lead, list cohorts: or pairs:",
    ),
    (
        "lead_sees_nothing.yaml",
        "lead_sees_nothing.yaml:7: programme.leads[0]: lead 'lee@northwind.example' sees no "
        "pairs; give cohorts:, pairs: or scope: all, or name the lead in a pair's lead:",
    ),
    (
        "duplicate_cohort.yaml",
        "duplicate_cohort.yaml:14: cohorts[1].id: duplicate cohort id 'c1' (first used on line 9)",
    ),
    (
        "bad_cohort_id.yaml",
        "bad_cohort_id.yaml:9: cohorts[0].id: 'spring cohort/2027' is not a usable cohort id; "
        "use letters, digits, '.', '_' and '-', e.g. 2027-spring",
    ),
    # other settings
    (
        "thresholds_conflict.yaml",
        "thresholds_conflict.yaml:9: defaults.thresholds.at_risk_missed: off_track_missed (2) "
        "must be at least at_risk_missed (3)",
    ),
    (
        "bad_feedback_url.yaml",
        "bad_feedback_url.yaml:9: defaults.feedback_form_url: unknown placeholder {sesion}; "
        "did you mean 'session'?",
    ),
    (
        "bad_video.yaml",
        "bad_video.yaml:9: defaults.video: 'teams' is not a video setting; use auto or none",
    ),
    # provider and paths
    (
        "provider_secret.yaml",
        "provider_secret.yaml:12: provider.smtp.password: secrets do not belong in the config "
        "file; name an environment variable with password_env, or a file with password_file",
    ),
    (
        "unset_env_path.yaml",
        "unset_env_path.yaml:8: state: environment variable RMCAL_DATA is not set",
    ),
    # pairs from an HR export: file and line are the CSV's, the key is the column
    (
        "csv_bad_timezone.yaml",
        "csv_bad_timezone.csv:3: mentee_timezone: 'America/New_Yrok' is not an IANA time zone; "
        "did you mean 'America/New_York'?",
    ),
    (
        "csv_unknown_column.yaml",
        "csv_unknown_column.csv:1: mentee_timzone: unknown column 'mentee_timzone'; "
        "did you mean 'mentee_timezone'?",
    ),
    (
        "csv_missing_column.yaml",
        "csv_missing_column.csv:1: missing required column 'mentee_name'; "
        "required: mentor_email, mentor_name, mentee_email, mentee_name",
    ),
    (
        "csv_field_count.yaml",
        "csv_field_count.csv:3: the row has 6 fields but the header has 5; "
        "put values that contain the delimiter in double quotes",
    ),
    ("csv_empty_cell.yaml", "csv_empty_cell.csv:3: mentor_name: required value is empty"),
    (
        "csv_duplicate_pair.yaml",
        "csv_duplicate_pair.csv:3: mentee_email: ana@northwind.example and "
        "bob@northwind.example are already a pair in this cohort, at cohorts[0].pairs[0] "
        "(line 13); remove one of the two",
    ),
    (
        "csv_missing_file.yaml",
        "csv_missing_file.yaml:11: cohorts[0].pairs_csv: cannot read 'no-such-export.csv': "
        "No such file or directory",
    ),
]


@pytest.fixture
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the fixture folder so errors name files the way an admin types them."""
    monkeypatch.chdir(FIXTURES)
    return FIXTURES


def load(name: str | Path, **kwargs: object) -> Config:
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("env", {})
    return load_config(name, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("fixture", "message"), ERRORS, ids=[case[0] for case in ERRORS])
def test_bad_input_gives_one_line_and_exit_code_2(
    in_fixtures: Path, fixture: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(fixture)
    assert str(caught.value) == message
    assert caught.value.one_line() == message
    assert caught.value.exit_code == 2


def test_every_error_fixture_is_in_the_table() -> None:
    """A fixture nobody asserts on is a case nobody checks."""
    valid = {
        "valid_minimal.yaml",
        "merge.yaml",
        "paths.yaml",
        "env_paths.yaml",
        "yaml_anchors.yaml",
        "csv_pairs.yaml",
        "slots_apart.yaml",
        "missing_templates.yaml",  # its message holds an absolute path: tested on its own
    }
    named = {case[0] for case in ERRORS}
    on_disk = {p.name for p in FIXTURES.glob("*.yaml")}
    assert on_disk - valid == named


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


def test_fixed_slots_that_do_not_overlap_are_fine(in_fixtures: Path) -> None:
    config = load("slots_apart.yaml")
    slots = [pair.fixed_slot for pair in config.pairs]
    assert slots == [FixedSlot(2, 10 * 60), FixedSlot(2, 16 * 60 + 15, "Asia/Kolkata")]


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


def test_settings_merge_defaults_cohort_pair(in_fixtures: Path) -> None:
    config = load("merge.yaml")
    defaults, cohort = config.defaults, config.cohorts[0].settings
    first, second = config.pairs

    assert defaults.sessions == 6 and defaults.end_date is None
    assert defaults.agenda_lead == timedelta(days=2)
    assert defaults.feedback_delay == timedelta(0)
    assert defaults.digest_time == time(14, 0)  # unquoted 14:00, which YAML 1.1 reads as 840

    # The cohort's end_date replaces the defaults' sessions; window and digest merge key-wise.
    assert cohort.end_date == date(2027, 6, 30) and cohort.sessions is None
    assert cohort.window == Window(MON_FRI, 10 * 60, 16 * 60)
    assert (cohort.digest_weekday, cohort.digest_time) == (4, time(14, 0))
    assert cohort.video == "none"
    assert cohort.thresholds.off_track_missed == 3
    assert first.settings == cohort

    # The pair's sessions replace the cohort's end_date; the rest cascades key by key.
    pair = second.settings
    assert (pair.sessions, pair.end_date) == (4, None)
    assert pair.cadence == Cadence(
        "rrule", interval=3, rrule="FREQ=WEEKLY;INTERVAL=3", text="RRULE:FREQ=WEEKLY;INTERVAL=3"
    )
    assert pair.duration == timedelta(minutes=90)
    assert pair.window == Window(frozenset({6, 0, 1}), 10 * 60, 16 * 60)  # Sun-Tue wraps
    assert pair.thresholds.confirmed_share == 0.75
    assert pair.thresholds.off_track_missed == 3
    assert pair.video == "none"

    # A person's own window merges over the pair's.
    assert second.mentor.window == Window(frozenset({1, 3}), 10 * 60, 16 * 60)
    assert second.mentee.window is None
    assert second.mentee.timezone == "America/New_York"
    assert second.focus == "Low-code automation"


def test_leads_and_their_scopes(in_fixtures: Path) -> None:
    config = load("merge.yaml")
    lee, max_, zoe = config.programme.leads
    ana_bob = pair_id("c1", "ana@northwind.example", "bob@northwind.example")
    assert (lee.email, lee.timezone, lee.cohorts) == ("lee@northwind.example", "Asia/Tokyo", {"c1"})
    assert max_.pairs == {ana_bob} and max_.timezone == "Europe/London"
    assert zoe.all_pairs
    assert config.pairs[0].lead == "lee@northwind.example"
    assert config.programme.organizer.name == "RM Office"


def test_pairs_from_csv(in_fixtures: Path) -> None:
    config = load("csv_pairs.yaml")
    inline, cleo, eve = config.pairs
    assert inline.mentor.email == "ana@northwind.example"
    # Headers such as "Mentor Email" match; ';' is detected; emails are lower-cased.
    assert cleo.mentor.email == "cleo@northwind.example"
    assert cleo.mentor.timezone == "Asia/Kolkata"
    assert cleo.mentee.timezone == "Europe/London"  # empty cell: the programme's zone
    assert cleo.focus == "Prompts; checks; citations"
    assert cleo.fixed_slot == FixedSlot(3, 10 * 60)
    assert cleo.source is not None and (cleo.source.file, cleo.source.line) == (
        "csv_pairs.csv",
        2,
    )
    assert eve.source is not None and eve.source.line == 4  # the blank line 3 is skipped
    assert eve.focus is None and eve.fixed_slot is None


def test_example_hr_export_is_valid(tmp_path: Path) -> None:
    config_file = tmp_path / "programme.yaml"
    config_file.write_text(
        (FIXTURES / "valid_minimal.yaml").read_text()
        + f"    pairs_csv: {ROOT / 'examples' / 'hr-export.csv'}\n"
    )
    config = load(config_file)
    assert len(config.pairs) == 4
    assert {p.mentee.timezone for p in config.pairs} >= {"Europe/London", "America/New_York"}


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


def test_yaml_anchors_and_merge_keys(in_fixtures: Path) -> None:
    config = load("yaml_anchors.yaml")
    assert config.cohorts[0].settings.window == Window(MON_FRI, 8 * 60, 12 * 60)
    assert [p.mentor.email for p in config.pairs] == ["ana@northwind.example"] * 2


# -- the value syntaxes, one config per value ------------------------------------------------------

TEMPLATE = """\
programme:
  name: Test programme
  purpose: Juniors teach seniors.
  organizer: {{email: rm@northwind.example}}
  timezone: Europe/London
provider:
  kind: local
defaults:
  {key}: {value}
cohorts:
  - id: c1
    start: 2027-01-11
    pairs:
      - mentor: {{email: ana@northwind.example, name: Ana}}
        mentee: {{email: bob@northwind.example, name: Bob}}
        {pair_extra}
"""


def defaults_with(tmp_path: Path, key: str, value: str, pair_extra: str = "") -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(TEMPLATE.format(key=key, value=value, pair_extra=pair_extra))
    return load(path)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("45m", 45), ("1h", 60), ("1h30m", 90), ("90 minutes", 90), ("45", 45), ("1.5h", 90)],
)
def test_durations(tmp_path: Path, text: str, minutes: int) -> None:
    config = defaults_with(tmp_path, "duration", text)
    assert config.defaults.duration == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("text", "cadence"),
    [
        ("weekly", Cadence("weekly", 1, text="weekly")),
        ("every 2 weeks", Cadence("weekly", 2, text="every 2 weeks")),
        ("Every 3 Weeks", Cadence("weekly", 3, text="Every 3 Weeks")),
        ("fortnightly", Cadence("weekly", 2, text="fortnightly")),
        ("monthly", Cadence("monthly", 1, text="monthly")),
        ("every 2 months", Cadence("monthly", 2, text="every 2 months")),
        (
            "RRULE:FREQ=WEEKLY;INTERVAL=3",
            Cadence("rrule", 3, "FREQ=WEEKLY;INTERVAL=3", text="RRULE:FREQ=WEEKLY;INTERVAL=3"),
        ),
    ],
)
def test_cadences(tmp_path: Path, text: str, cadence: Cadence) -> None:
    assert defaults_with(tmp_path, "cadence", text).defaults.cadence == cadence


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("Mon-Fri", MON_FRI),
        ("[Mon, Wed]", frozenset({0, 2})),
        ("Sun-Thu", frozenset({6, 0, 1, 2, 3})),
        ('"Monday, Thursday-Friday"', frozenset({0, 3, 4})),
    ],
)
def test_window_days(tmp_path: Path, text: str, days: frozenset[int]) -> None:
    config = defaults_with(tmp_path, "window", f'{{days: {text}, hours: "08:30-24:00"}}')
    assert config.defaults.window == Window(days, 8 * 60 + 30, 24 * 60)


@pytest.mark.parametrize(
    ("text", "slot"),
    [
        ("Wed 14:00", FixedSlot(2, 14 * 60)),
        ("Wednesday 14:00", FixedSlot(2, 14 * 60)),
        ("Wed 9:30 Asia/Kolkata", FixedSlot(2, 9 * 60 + 30, "Asia/Kolkata")),
    ],
)
def test_fixed_slots(tmp_path: Path, text: str, slot: FixedSlot) -> None:
    config = defaults_with(tmp_path, "video", "auto", pair_extra=f"slot: {text}")
    assert config.pairs[0].fixed_slot == slot


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
