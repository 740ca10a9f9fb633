"""``rmcal status``: the table, the summary line, JSON/CSV, filters and their errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from rmcal.cli import main
from rmcal.health import State, summary_line
from rmcal.model import Pair, Person, Settings
from rmcal.readings import PairReading
from rmcal.status import FIELDS, SESSION_FIELDS, as_csv, as_json, as_sessions_csv, as_text
from rmcal.tables import display_width
from tests.builders import ANY_TIME, weekly_reading

LONDON = ZoneInfo("Europe/London")
FIRST = datetime(2027, 1, 13, 14, 0, tzinfo=LONDON)
NOW = FIRST + timedelta(weeks=2, hours=3)  # after session 3

CONFIG = """\
programme:
  name: Status Programme
  purpose: Learn
  organizer: {email: rm@example.org}
  timezone: Europe/London
  leads: [{email: lead@example.org, name: Lead, cohorts: [c1]}]
provider: {kind: local, folder: ./local}
state: ./state.db
cohorts:
  - id: c1
    start: 2027-01-11
    pairs:
      - mentor: {email: ana@example.org, name: Ana Silva}
        mentee: {email: raj@example.org, name: Raj Patel, timezone: Asia/Kolkata}
"""


@pytest.mark.parametrize(
    ("states", "line"),
    [
        ([], "0 pairs"),
        ([State.ON_TRACK], "1 pair: 1 on track"),
        (
            [State.ON_TRACK] * 9 + [State.AT_RISK] * 2 + [State.OFF_TRACK],
            "12 pairs: 9 on track, 2 at risk, 1 off track",
        ),
        (
            [State.ENDED, State.NOT_STARTED, State.COMPLETED, State.OFF_TRACK],
            "4 pairs: 1 off track, 1 not started, 1 completed, 1 ended early",
        ),
    ],
)
def test_summary_line(states: list[State], line: str) -> None:
    assert summary_line(states) == line


def test_summary_line_counts_completed_pairs_with_misses_apart() -> None:
    states = [State.COMPLETED] * 6 + [State.NEVER_STARTED]
    assert summary_line(states, completed_with_misses=2) == (
        "7 pairs: 6 completed (2 with missed periods), 1 never started"
    )


def reading(mentor: str, mentee: str, cancel: set[int], decline: set[int]) -> PairReading:
    pair = Pair(
        "c1",
        Person(f"{mentor.split()[0].lower()}@example.org", mentor, "Europe/London"),
        Person(f"{mentee.split()[0].lower()}@example.org", mentee, "Asia/Kolkata"),
        Settings(sessions=4, window=ANY_TIME),
    )
    return weekly_reading(pair, FIRST, NOW, cancel, decline)


def test_the_table_shows_state_counts_streak_dates_and_why() -> None:
    readings = [
        reading("Ana Silva", "Raj Patel", set(), set()),
        reading("Li Wei", "Tom Hart", {2}, {3}),
        reading("Kim Lee", "Sam Roy", {1}, set()),
    ]
    why = "-" * 78
    assert as_text(readings, zone="Europe/London").splitlines() == [
        "c1: 3 pairs: 2 on track, 1 off track",
        "  Mentor / mentee        State      Held/due/plan  Streak  Last        Next"
        "                  Why",
        "  ---------------------  ---------  -------------  ------  ----------  "
        f"--------------------  {why}",
        "  Ana Silva / Raj Patel  on track   3/3/4 weeks    3       Wed 27 Jan  "
        "Wed 03 Feb 14:00 GMT",
        "  Li Wei / Tom Hart      off track  1/3/4 weeks    0       Wed 13 Jan  "
        "Wed 03 Feb 14:00 GMT  "
        "missed 2 weeks in a row: Wed 20 Jan: cancelled; Wed 27 Jan: declined by mentee",
        "  Kim Lee / Sam Roy      on track   2/3/4 weeks    2       Wed 27 Jan  "
        "Wed 03 Feb 14:00 GMT  last miss Wed 13 Jan: cancelled",
        "",
        "3 pairs: 2 on track, 1 off track (times in Europe/London)",
    ]


def test_by_default_each_pair_reads_in_its_mentees_zone_and_says_so() -> None:
    """A Kolkata mentee's 14:00 London session is 19:30 IST for them: the table says so."""
    lines = as_text([reading("Ana Silva", "Raj Patel", set(), set())]).splitlines()
    assert lines[3] == (
        "  Ana Silva / Raj Patel  on track  3/3/4 weeks    3       Wed 27 Jan  Wed 03 Feb 19:30 IST"
    )
    assert lines[-1] == "1 pair: 1 on track (times in each mentee's zone; --tz ZONE for one zone)"


def test_wide_names_keep_the_columns_in_line() -> None:
    """高橋 美咲 takes eight terminal columns for five characters: columns follow the width."""
    readings = [
        reading("高橋 美咲", "Raj Patel", set(), set()),
        reading("Ana Silva", "Raj Patel", set(), set()),
    ]
    rows = as_text(readings, zone="Europe/London").splitlines()[3:5]
    state_at = [display_width(row.split("on track")[0]) for row in rows]
    assert state_at[0] == state_at[1]


def test_csv_has_one_row_per_pair_and_a_header_even_when_empty() -> None:
    assert as_csv([]).splitlines() == [",".join(FIELDS)]
    rows = as_csv([reading("Ana Silva", "Raj Patel", set(), {2})]).splitlines()
    assert len(rows) == 2 and ",at risk,1,2,4," not in rows[1]
    assert ",on track," in rows[1] and ",declined by mentee," in rows[1]


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "rmcal.yaml"
    path.write_text(CONFIG)
    return path


def test_status_before_scheduling_says_so_and_writes_nothing(config_path: Path) -> None:
    result = CliRunner().invoke(main, ["status", "-c", str(config_path), "--now", "2027-01-05"])
    assert result.exit_code == 0, result.output
    assert "not started" in result.output and "no series in the calendar" in result.output
    assert not (config_path.parent / "state.db").exists()
    data = json.loads(
        CliRunner()
        .invoke(main, ["status", "-c", str(config_path), "--now", "2027-01-05", "--json"])
        .output
    )
    assert data["counts"]["not started"] == 1 and data["pairs"][0]["series"] is None


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--cohort", "nope"], 2, "--cohort: no cohort 'nope'; cohorts: c1"),
        (["--lead", "x@example.org"], 2, "--lead: no lead 'x@example.org'"),
        (["--json", "--csv"], 2, "choose one of --json and --csv"),
    ],
)
def test_status_options_are_checked(
    config_path: Path, args: list[str], code: int, message: str
) -> None:
    result = CliRunner().invoke(main, ["status", "-c", str(config_path), *args])
    assert result.exit_code == code
    assert message in result.output


def test_json_lists_every_session_with_what_became_of_it() -> None:
    r = reading("Li Wei", "Tom Hart", {2}, {3})
    (pair,) = json.loads(as_json([r], NOW))["pairs"]
    assert (pair["unit"], pair["periods_held"], pair["periods_due"], pair["periods_planned"]) == (
        "week",
        1,
        3,
        4,
    )
    assert [(s["number"], s["state"], s["reason"], s["declined_by"]) for s in pair["sessions"]] == [
        (1, "held", None, []),
        (2, "missed", "cancelled", []),
        (3, "missed", "declined by mentee", ["mentee"]),
        (4, "upcoming", None, []),
    ]
    third = pair["sessions"][2]
    assert third["original_start"] == third["start"] == "2027-01-27T14:00:00+00:00"
    assert (third["period"], third["period_start"], third["period_state"]) == (
        3,
        "2027-01-25T00:00:00+00:00",
        "missed",
    )
    assert set(third) == set(SESSION_FIELDS) - {"cohort", "pair", "mentor", "mentee", "series"}


def test_csv_per_session_has_one_row_per_session_of_every_pair() -> None:
    readings = [
        reading("Ana Silva", "Raj Patel", set(), set()),
        reading("Li Wei", "Tom Hart", {2}, {3}),
    ]
    rows = list(csv.DictReader(io.StringIO(as_sessions_csv(readings))))
    assert len(rows) == 8 and list(rows[0]) == list(SESSION_FIELDS)
    third = rows[6]
    assert (third["mentor"], third["number"], third["state"], third["reason"]) == (
        "Li Wei",
        "3",
        "missed",
        "declined by mentee",
    )
    assert third["declined_by"] == "mentee" and third["moved"] == "False"
    assert as_sessions_csv([]).splitlines() == [",".join(SESSION_FIELDS)]


def test_sessions_goes_with_csv(config_path: Path) -> None:
    result = CliRunner().invoke(main, ["status", "-c", str(config_path), "--sessions"])
    assert result.exit_code == 2
    assert "--sessions goes with --csv" in result.output
