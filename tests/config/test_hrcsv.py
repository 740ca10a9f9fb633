"""``rmcal.config.hrcsv``: pairs from an HR export; messages name the CSV line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmcal.errors import ConfigError
from rmcal.model import FixedSlot
from tests.config.helpers import FIXTURES, ROOT, assert_one_line, error_cases, load


@error_cases("hrcsv")
def test_bad_export_gives_one_line_and_exit_code_2(
    in_fixtures: Path, fixture: str, message: str
) -> None:
    assert_one_line(fixture, message)


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


def test_an_export_that_is_not_utf8_names_the_csv(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_bytes(b"mentor_email,mentor_name,mentee_email,mentee_name\nc@x.example,Jos\xe9,")
    config_file = tmp_path / "programme.yaml"
    config_file.write_text(
        (FIXTURES / "valid_minimal.yaml").read_text() + f"    pairs_csv: {export}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load(config_file)
    assert str(caught.value) == (
        f"{export}:2: the file is not UTF-8 text (byte 65, column 16); save it as UTF-8"
    )
