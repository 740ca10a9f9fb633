"""``rmcal.config.matching``, and what the loader does for ``rmcal match``: the rules section,
the cohort whose pairs file is about to be written, and a person's window in a pairs file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rmcal.config import load_config
from rmcal.errors import ConfigError
from rmcal.model import MatchRules, MatchWeights, Window
from tests.config.helpers import NOW, TEMPLATE, load

BASE = TEMPLATE.format(key="duration", value="45m", pair_extra="")


def with_matching(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + "matching:\n" + text)
    return path


def test_rules_default_when_the_section_is_absent(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE)
    assert load(path).matching == MatchRules()


def test_rules_as_written(tmp_path: Path) -> None:
    path = with_matching(
        tmp_path,
        "  min_overlap: 1h30m\n  management_chain: 2\n  shared_language: false\n"
        "  weights: {topics: 2, overlap: 0.5}\n",
    )
    assert load(path).matching == MatchRules(
        min_overlap=timedelta(minutes=90),
        management_chain=2,
        shared_language=False,
        weights=MatchWeights(topics=2.0, department=1.0, generation=1.0, overlap=0.5),
    )
    assert (
        load(with_matching(tmp_path, "  management_chain: all\n")).matching.management_chain is None
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "  min_overlapp: 1h\n",
            "config.yaml:18: matching.min_overlapp: unknown key 'min_overlapp'; "
            "did you mean 'min_overlap'?",
        ),
        (
            "  min_overlap: 41h\n",
            "config.yaml:18: matching.min_overlap: must be at most 40h, got '41h'",
        ),
        (
            "  management_chain: everyone\n",
            "config.yaml:18: matching.management_chain: 'everyone' is not a depth; "
            "write all, or a number of levels such as 2",
        ),
        (
            "  shared_language: sometimes\n",
            "config.yaml:18: matching.shared_language: expected true or false, got 'sometimes'",
        ),
        (
            "  weights: {topics: -1}\n",
            "config.yaml:18: matching.weights.topics: must be between 0 and 100, got -1",
        ),
        (
            "  weights: {topic: 1}\n",
            "config.yaml:18: matching.weights.topic: unknown key 'topic'; did you mean 'topics'?",
        ),
    ],
)
def test_bad_rules_give_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load(with_matching(tmp_path, text).name)
    assert caught.value.one_line() == message


def test_the_cohort_being_matched_may_name_a_pairs_file_that_does_not_exist_yet(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + "    pairs_csv: ./pairs.csv\n")
    with pytest.raises(ConfigError, match=r"pairs_csv: cannot read .*pairs\.csv'"):
        load(path)
    config = load_config(path, now=NOW, env={}, unread_pairs_csv="c1")
    (cohort,) = config.cohorts
    assert cohort.pairs_csv == tmp_path / "pairs.csv"
    assert len(cohort.pairs) == 1  # the pairs under pairs: are still read


def test_a_pairs_file_carries_each_person_s_own_window(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + "    pairs_csv: ./pairs.csv\n")
    (tmp_path / "pairs.csv").write_text(
        "mentor_email,mentor_name,mentor_days,mentor_hours,mentee_email,mentee_name,"
        "mentee_hours,match_score,match_reasons\n"
        "cy@northwind.example,Cy,Mon-Wed,,dee@northwind.example,Dee,10:00-18:00,4.50,shared: AI\n"
        "eve@northwind.example,Eve,,,fay@northwind.example,Fay,,,\n"
    )
    _, cy_dee, eve_fay = load(path).pairs
    assert cy_dee.mentor.window == Window(frozenset({0, 1, 2}), 9 * 60, 17 * 60)
    assert cy_dee.mentee.window == Window(frozenset(range(5)), 10 * 60, 18 * 60)
    assert eve_fay.mentor.window is None and eve_fay.mentee.window is None
    (tmp_path / "pairs.csv").write_text(
        "mentor_email,mentor_name,mentor_hours,mentee_email,mentee_name\n"
        "cy@northwind.example,Cy,09:00-09:15,dee@northwind.example,Dee\n"
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.one_line().endswith(
        "pairs.csv:2: mentor_hours: the window 09:00-09:15 is shorter than one 45m session"
    )
