"""Importing form exports: Microsoft Forms and Google Forms CSV layouts, bad rows by line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from rmcal.cli import main
from rmcal.config import load_config
from rmcal.digest import ratings
from rmcal.errors import ConfigError
from rmcal.feedback import (
    BadRow,
    FeedbackRow,
    detect_layout,
    map_columns,
    parse_feedback,
)
from rmcal.model import Config
from rmcal.store import Mode, Store

FIXTURES = Path(__file__).parent / "fixtures" / "feedback"
CONFIG = """\
programme:
  name: Feedback Programme
  purpose: Learn
  organizer: {email: rm@example.org}
  timezone: Europe/London
provider: {kind: local, folder: ./local}
state: ./state.db
defaults: {window: {days: Mon-Fri, hours: "07:00-21:00"}}
cohorts:
  - id: c1
    start: 2027-01-11
    pairs:
      - mentor: {email: ana@example.org, name: Ana Silva}
        mentee: {email: raj@example.org, name: Raj Patel, timezone: Asia/Kolkata}
      - mentor: {email: li@example.org, name: Li Wei}
        mentee: {email: tom@example.org, name: Tom Hart}
  - id: c2
    start: 2027-01-11
    pairs:
      - mentor: {email: kim@example.org, name: Kim Lee}
        mentee: {email: raj@example.org, name: Raj Patel, timezone: Asia/Kolkata}
"""
ANA_RAJ, LI_TOM, KIM_RAJ = "ana-raj-128756", "li-tom-c7eea7", "kim-raj-5b2d66"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "rmcal.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def config(config_path: Path) -> Config:
    return load_config(config_path, now=datetime(2027, 1, 1, tzinfo=UTC))


def test_the_fixture_pair_ids_are_the_configs(config: Config) -> None:
    assert [p.id for p in config.pairs] == [ANA_RAJ, LI_TOM, KIM_RAJ]


def test_microsoft_forms_export(config: Config) -> None:
    text = (FIXTURES / "ms-forms.csv").read_bytes().decode("utf-8-sig")
    result = parse_feedback(text, "ms-forms.csv", config.pairs)
    assert result.layout == "Microsoft Forms"
    assert result.columns == {
        "pair": "Pair",
        "session": "Session",
        "rating": "How would you rate this session?",
        "working": "What is working?",
        "awkward": "What is awkward?",
        "learned": "One thing you learned",
        "recommend": "Would you recommend the programme to a colleague?",
    }
    assert result.rows == [
        FeedbackRow(ANA_RAJ, 1, "ana@example.org", 5, True, 'Real examples, "hands on"',
                    "Time zones", "Prompt patterns", "ms-forms.csv"),
        FeedbackRow(LI_TOM, 2, "anonymous:2", 4, False, "Listening", None,
                    "How Tom runs his week", "ms-forms.csv"),
        FeedbackRow(ANA_RAJ, 1, "raj@example.org", 4, True, "A long answer\nover two lines",
                    None, None, "ms-forms.csv"),
    ]  # fmt: skip
    # The record after a two-line answer starts on line 6 of the file.
    assert result.bad == [BadRow(6, "rating 'six' is not a whole number from 1 to 5")]


def test_google_forms_export_reports_bad_rows_by_line_and_keeps_the_good(config: Config) -> None:
    text = (FIXTURES / "google-forms.csv").read_text()
    result = parse_feedback(text, "google-forms.csv", config.pairs)
    assert result.layout == "Google Forms"
    assert [(r.pair_id, r.session, r.respondent, r.rating, r.recommend) for r in result.rows] == [
        (LI_TOM, 2, "tom@example.org", 5, True),  # the pair found from Tom's address
        (KIM_RAJ, 3, "kim@example.org", 3, False),
    ]
    assert result.bad == [
        BadRow(3, "no pair given and raj@example.org is in 2 pairs"),
        BadRow(4, "session 'one' is not a session number"),
        BadRow(6, "rating 'great' is not a whole number from 1 to 5"),  # line 5 is blank
        BadRow(7, "pair 'nope-123' is not a pair of this programme"),
        BadRow(8, "recommend answer 'maybe' is not yes or no"),
    ]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["Timestamp", "Pair ID", "Session number", "Rating"],
         {"pair": 1, "session": 2, "rating": 3}),
        (["Which session was this?", "Rate this session", "What is working in your pair?"],
         {"session": 0, "rating": 1, "working": 2}),
        (["What is awkward or not working?", "Would you RECOMMEND it?", "What did you learn?"],
         {"awkward": 0, "recommend": 1, "learned": 2}),
        (["Email", "Name", "ID", "Session", "Session again"], {"session": 3}),
    ],
)  # fmt: skip
def test_question_columns_are_matched_by_header_text(
    headers: list[str], expected: dict[str, int]
) -> None:
    assert map_columns(headers) == expected


def test_layouts_are_detected_from_the_header() -> None:
    assert detect_layout(["ID", "Start time", "Completion time", "Email", "Name"]) == (
        "Microsoft Forms"
    )
    assert detect_layout(["Timestamp", "Email Address"]) == "Google Forms"
    assert detect_layout(["pair", "session"]) == "CSV"


def test_a_file_without_a_session_column_is_a_config_error(config: Config) -> None:
    with pytest.raises(ConfigError, match=r"no-session.csv:1: no column for the session number"):
        parse_feedback((FIXTURES / "no-session.csv").read_text(), "no-session.csv", config.pairs)


def test_cli_import_stores_good_rows_and_exits_3_listing_bad_ones(config_path: Path) -> None:
    runner = CliRunner()
    csv_file = FIXTURES / "google-forms.csv"
    result = runner.invoke(main, ["feedback", "import", str(csv_file), "-c", str(config_path)])
    assert result.exit_code == 3, result.output
    assert "Google Forms layout; 2 answers: 2 new, 0 already imported; refused 5 rows" in (
        result.output
    )
    assert f"{csv_file}:7: pair 'nope-123' is not a pair of this programme" in result.output
    assert "5 rows refused" in result.output
    config = load_config(config_path, force=True)
    with Store.open(config.state_path, mode=Mode.READ_ONLY) as store:
        assert len(store.feedback()) == 2
    # Importing the same export again replaces, never duplicates, and says so.
    again = runner.invoke(main, ["feedback", "import", str(csv_file), "-c", str(config_path)])
    assert again.exit_code == 3
    assert "Google Forms layout; 2 answers: 0 new, 2 already imported; refused 5 rows" in (
        again.output
    )
    with Store.open(config.state_path, mode=Mode.READ_ONLY) as store:
        assert len(store.feedback()) == 2


def test_cli_import_of_a_clean_export_exits_0(config_path: Path, tmp_path: Path) -> None:
    clean = tmp_path / "clean.csv"
    lines = (FIXTURES / "google-forms.csv").read_text().splitlines()
    clean.write_text("\n".join([lines[0], lines[1], lines[-1]]) + "\n")
    result = CliRunner().invoke(main, ["feedback", "import", str(clean), "-c", str(config_path)])
    assert result.exit_code == 0, result.output
    assert "2 answers: 2 new, 0 already imported" in result.output
    assert "refused" not in result.output
    # A later export holds the same answers, one of them changed: counted as updated.
    changed = lines[-1].replace('"3","3","No"', '"3","2","No"')
    assert changed != lines[-1]
    clean.write_text("\n".join([lines[0], lines[1], changed]) + "\n")
    again = CliRunner().invoke(main, ["feedback", "import", str(clean), "-c", str(config_path)])
    assert "2 answers: 0 new, 1 updated, 1 already imported" in again.output


def test_cli_import_with_unusable_columns_exits_2(config_path: Path) -> None:
    csv_file = FIXTURES / "no-session.csv"
    result = CliRunner().invoke(main, ["feedback", "import", str(csv_file), "-c", str(config_path)])
    assert result.exit_code == 2
    assert "no column for the session number" in result.output


def test_ratings_average_and_recommend_share_count_each_respondent_once() -> None:
    rows = [
        FeedbackRow("p", 1, "a@x", 5, False, None, None, None, "s"),
        FeedbackRow("p", 2, "a@x", 3, True, None, None, None, "s"),  # a's latest: yes
        FeedbackRow("p", 1, "b@x", 4, None, None, None, None, "s"),
        FeedbackRow("q", 1, "c@x", None, False, None, None, None, "s"),
    ]
    figures = ratings(rows)
    assert (figures.responses, figures.average) == (3, 4.0)
    assert (figures.respondents, figures.recommend_share) == (2, 0.5)
    assert ratings([]).empty
