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
from rmcal.status import FIELDS, as_csv, as_text
from tests.builders import weekly_reading

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
            "4 pairs: 1 off track, 1 completed, 1 not started, 1 ended",
        ),
    ],
)
def test_summary_line(states: list[State], line: str) -> None:
    assert summary_line(states) == line


def reading(mentor: str, mentee: str, cancel: set[int], decline: set[int]) -> PairReading:
    pair = Pair(
        "c1",
        Person(f"{mentor.split()[0].lower()}@example.org", mentor, "Europe/London"),
        Person(f"{mentee.split()[0].lower()}@example.org", mentee, "Asia/Kolkata"),
        Settings(sessions=4),
    )
    return weekly_reading(pair, FIRST, NOW, cancel, decline)


def test_the_table_shows_state_counts_streak_dates_and_why() -> None:
    readings = [
        reading("Ana Silva", "Raj Patel", set(), set()),
        reading("Li Wei", "Tom Hart", {2}, {3}),
        reading("Kim Lee", "Sam Roy", {1}, set()),
    ]
    why = "-" * 80
    assert as_text(readings, "Europe/London").splitlines() == [
        "c1: 3 pairs: 2 on track, 1 off track",
        "  Mentor / mentee        State      Held/due/plan  Streak  Last        Next"
        "              Why",
        "  ---------------------  ---------  -------------  ------  ----------  ----------------"
        f"  {why}",
        "  Ana Silva / Raj Patel  on track   3/3/4          3       Wed 27 Jan  Wed 03 Feb 14:00",
        "  Li Wei / Tom Hart      off track  1/3/4          0       Wed 13 Jan  Wed 03 Feb 14:00  "
        "missed 2 periods in a row: Wed 20 Jan: cancelled; Wed 27 Jan: declined by mentee",
        "  Kim Lee / Sam Roy      on track   2/3/4          2       Wed 27 Jan  Wed 03 Feb 14:00  "
        "last miss Wed 13 Jan: cancelled",
        "",
        "3 pairs: 2 on track, 1 off track (times in Europe/London)",
    ]


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


def test_csv_cells_a_spreadsheet_would_run_are_neutralised() -> None:
    """OWASP's CSV injection advice: a leading =, +, -, @, tab or CR makes Excel run a formula."""
    hostile = reading("=HYPERLINK(x) Smith", "@SUM(A1) Jones", set(), set())
    rows = list(csv.DictReader(io.StringIO(as_csv([hostile]))))
    assert rows[0]["mentor"] == "'=HYPERLINK(x) Smith"
    assert rows[0]["mentee"] == "'@SUM(A1) Jones"
    assert rows[0]["mentor_email"] == "=hyperlink(x)@example.org".replace("=", "'=", 1)
    assert rows[0]["held"] == "3"  # numbers untouched


def test_names_with_terminal_controls_cannot_rewrite_the_table() -> None:
    """A calendar or an old state file can still hold such a name; the table shows it escaped."""
    sneaky = reading("Ana\x1b]0;pwned\x07 Silva", "Raj\r\nPatel", set(), set())
    text = as_text([sneaky], "Europe/London")
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "Ana\\x1b]0;pwned\\x07 Silva / Raj\\x0d\\x0aPatel  on track" in text
