"""``rmcal.match.people``: the people file, read like the config (one line per problem)."""

from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pytest

from rmcal.errors import ConfigError
from rmcal.match.people import read_people
from rmcal.model import Window
from tests.match.helpers import PEOPLE, ROOT, cohort

# One small file per kind of bad input (tests/fixtures/people/), and the whole line it gives.
ERRORS = [
    (
        "unknown_column.csv",
        "unknown_column.csv:1: timezon: unknown column 'timezon'; did you mean 'timezone'?",
    ),
    (
        "bad_zone.csv",
        "bad_zone.csv:3: timezone: 'Europe/Londn' is not an IANA time zone; "
        "did you mean 'Europe/London'?",
    ),
    (
        "manager_cycle.csv",
        "manager_cycle.csv:2: manager_email: management cycle: ana@northwind.example -> "
        "cy@northwind.example -> bob@northwind.example -> ana@northwind.example; "
        "each arrow points to a manager; fix the manager of one of them",
    ),
    (
        "own_manager.csv",
        "own_manager.csv:3: manager_email: bob@northwind.example is their own manager; "
        "leave the cell empty or name their manager",
    ),
    (
        "duplicate_email.csv",
        "duplicate_email.csv:5: email: 'ana@northwind.example' appears twice (first on row 2); "
        "give each person one row",
    ),
    (
        "bad_role.csv",
        "bad_role.csv:2: role: 'junior' is not a role; use mentor (the junior colleague who "
        "teaches), mentee (the senior who learns) or none (listed only for the management chain)",
    ),
    (
        "missing_role.csv",
        "missing_role.csv:1: missing required column 'role'; required: email, name, role",
    ),
    (
        "short_window.csv",
        "short_window.csv:2: hours: the window 09:00-09:30 is shorter than one 45m session",
    ),
    (
        "bad_days.csv",
        "bad_days.csv:2: days: 'Mon-Fry' is not a day of the week; use Mon, Tue, Wed, Thu, Fri, "
        "Sat, Sun, a range such as Mon-Fri, or a list [Mon, Wed]",
    ),
    (
        "bad_capacity.csv",
        "bad_capacity.csv:2: capacity: 'two' is not a whole number; "
        "how many pairs this person may take, e.g. 2",
    ),
    ("capacity_too_high.csv", "capacity_too_high.csv:2: capacity: must be at most 10, got 11"),
    (
        "bad_opt_out.csv",
        "bad_opt_out.csv:2: opt_out: 'maybe' is not yes or no; write yes or leave the cell empty",
    ),
    (
        "bad_age_band.csv",
        "bad_age_band.csv:2: age_band: 'young' is not an age band; write e.g. 18-24, 25-34 or 55+",
    ),
    (
        "bad_avoid.csv",
        "bad_avoid.csv:2: avoid: 'bob(at)northwind.example' is not an e-mail address",
    ),
    ("empty_name.csv", "empty_name.csv:2: name: required value is empty"),
    (
        "extra_field.csv",
        "extra_field.csv:2: the row has 4 fields but the header has 3; "
        "put values that contain the delimiter in double quotes",
    ),
    ("repeated_column.csv", "repeated_column.csv:1: email: column 'email' appears twice"),
    ("unclosed_quote.csv", "unclosed_quote.csv:2: malformed CSV: unexpected end of data"),
    (
        "not_utf8.csv",
        "not_utf8.csv:1: the file is not UTF-8 text (byte 0, column 1); save it as UTF-8",
    ),
    (
        "empty.csv",
        "empty.csv: the file is empty; the first row names the columns: email, name, role, "
        "timezone, days, hours, topics, department, manager_email, languages, capacity, "
        "opt_out, avoid, seniority, age_band",
    ),
]


def read(path: Path | str, shown: str | None = None):  # type: ignore[no-untyped-def]
    path = Path(path)
    return read_people(
        path, shown=shown or path.name, cohort=cohort(), programme_zone="Europe/London"
    )


@pytest.mark.parametrize(("fixture", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_people_file_gives_one_line_with_the_row(fixture: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read(PEOPLE / fixture)
    assert caught.value.one_line() == message
    assert str(caught.value) == message
    assert caught.value.exit_code == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_people_file_is_read_within_the_input_limits(tmp_path: Path) -> None:
    """The people file goes through the config's safe reader: a FIFO is refused, not waited on,
    and a name with a control character is refused like one in the config."""
    fifo = tmp_path / "people.csv"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError) as caught:
        read(fifo)
    assert (
        caught.value.one_line()
        == "people.csv: the people file is a FIFO (named pipe), not a regular file"
    )
    named = tmp_path / "named.csv"
    named.write_text('email,name,role\nana@northwind.example,"Ana\u202eSilva",mentor\n')
    with pytest.raises(ConfigError) as caught:
        read(named)
    assert caught.value.one_line().startswith(
        "named.csv:2: name: 'Ana\\u202eSilva' contains the control character U+202E"
    )


def test_every_fixture_is_a_case() -> None:
    assert sorted(p.name for p in PEOPLE.glob("*.csv")) == sorted(f for f, _ in ERRORS)


def test_cells_are_read_as_the_config_reads_them(tmp_path: Path) -> None:
    # Headers as a form tool writes them; ';' as the delimiter; a byte-order mark; blank cells.
    text = (
        "\ufeffEMAIL;Name;Role;TimeZone;Days;Hours;Topics;Department;Manager Email;"
        "Languages;Capacity;Opt-out;Avoid;Seniority\n"
        "Ana@X.example;Ana Lima;Mentor;Asia/Kolkata;Mon-Thu;;AI tools, social  media, "
        "ai TOOLS;Data;boss@x.example;English, Hindi;2;;bob@x.example;1\n"
        "\n"
        "bob@x.example;Bob Hale;mentee;;;10:00-18:00;ai tools;;;;;yes;;6\n"
        "boss@x.example;;none;;;;;;;;;;;\n"
    )
    path = tmp_path / "people.csv"
    path.write_text(text)
    ana, bob, boss = read(path).rows
    assert ana.email == "ana@x.example" and ana.role == "mentor"
    assert ana.timezone == "Asia/Kolkata"
    # Own days over the cohort's hours, one key at a time.
    assert ana.window == Window(frozenset(range(4)), 9 * 60, 17 * 60)
    assert (ana.days, ana.hours) == ("Mon-Thu", None)
    assert ana.topics == ("AI tools", "social media")  # once each, as first written
    assert ana.languages == {"english", "hindi"}
    assert (ana.capacity, ana.avoid, ana.level) == (2, {"bob@x.example"}, 1.0)
    assert ana.manager == "boss@x.example" and ana.line == 2
    assert bob.timezone == "Europe/London"  # empty: the programme's zone
    assert bob.window == Window(frozenset(range(5)), 10 * 60, 18 * 60)
    assert bob.opt_out and bob.capacity == 1 and bob.line == 4
    assert boss.role == "none" and boss.capacity == 0


def test_age_bands_count_in_decades(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "email,name,role,age_band\n"
        "a@x.example,A,mentor,18-24\n"
        "b@x.example,B,mentee,55+\n"
        "c@x.example,C,mentee,\n"
    )
    a, b, c = read(path).rows
    assert (a.level, a.age_band, b.level, b.age_band, c.level) == (1.8, "18-24", 5.5, "55+", None)


def test_a_spreadsheet_reads_like_its_csv(tmp_path: Path) -> None:
    """The example people file saved as .xlsx: the same people, numbers as Excel stores them."""
    csv_people = read(ROOT / "examples" / "people.csv")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    lines = (ROOT / "examples" / "people.csv").read_text().splitlines()
    for line in lines:
        cells: list[object] = line.split(",")
        sheet.append([int(c) if isinstance(c, str) and c.isdigit() else c or None for c in cells])
    book.save(tmp_path / "people.xlsx")
    xlsx_people = read(tmp_path / "people.xlsx")
    assert xlsx_people.rows == csv_people.rows


def test_a_spreadsheet_problem_names_the_sheet_row(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["email", "name", "role", "timezone"])
    sheet.append([None, None, None, None])  # row 2 left blank
    sheet.append(["ana@x.example", "Ana", "mentor", "Mars/Olympus"])
    book.save(tmp_path / "people.xlsx")
    with pytest.raises(ConfigError, match=r"^people.xlsx:3: timezone: 'Mars/Olympus' is not"):
        read(tmp_path / "people.xlsx")


def test_a_broken_spreadsheet_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "people.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ConfigError, match=r"^people.xlsx: not a readable .xlsx workbook"):
        read(tmp_path / "people.xlsx")


def test_a_missing_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^nope\.csv: cannot read the people file: No such file"):
        read(tmp_path / "nope.csv", shown="nope.csv")


def test_an_xlsx_file_without_openpyxl_names_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from rmcal.errors import RmcalError

    (tmp_path / "people.xlsx").write_bytes(b"PK\x03\x04")
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(RmcalError, match=r"needs openpyxl: pip install 'rmcal\[match\]'"):
        read(tmp_path / "people.xlsx")


def test_someone_already_paired_in_the_cohort_keeps_their_zone(tmp_path: Path) -> None:
    from rmcal.model import Pair, Person
    from tests.match.helpers import SETTINGS

    inline = Pair(
        "autumn",
        Person("ana@x.example", "Ana", "Asia/Kolkata"),
        Person("bob@x.example", "Bob", "Europe/London"),
        SETTINGS,
    )
    path = tmp_path / "people.csv"
    path.write_text("email,name,role,timezone\nana@x.example,Ana,mentor,Europe/Berlin\n")
    with pytest.raises(ConfigError) as caught:
        read_people(
            path, shown="people.csv", cohort=cohort(pairs=(inline,)), programme_zone="Europe/London"
        )
    assert caught.value.one_line() == (
        "people.csv:2: timezone: ana@x.example is in Europe/Berlin here but in Asia/Kolkata in "
        "the pairs of cohort autumn; give this person the same timezone in both places"
    )
