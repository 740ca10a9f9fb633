"""``rmcal.match.writing``: the pairs file, whole or not at all, read back by the loader."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rmcal.errors import ConfigError
from rmcal.match.run import match_people
from rmcal.match.writing import pairs_csv, write_pairs
from tests.match.helpers import cohort, config, people, person


def result():  # type: ignore[no-untyped-def]
    rows = (
        person("Ana", "mentor", days="Mon-Wed", topics=("AI",)),
        person("Bob", "mentee", hours="10:00-18:00", topics=("ai", "law")),
    )
    return match_people(config(), cohort(), people(*rows))


def test_the_file_has_the_columns_the_loader_reads() -> None:
    assert pairs_csv(result()).splitlines() == [
        "mentor_email,mentor_name,mentor_timezone,mentor_days,mentor_hours,mentee_email,"
        "mentee_name,mentee_timezone,mentee_days,mentee_hours,focus,match_score,match_reasons",
        "ana@x.example,Ana,Europe/London,Mon-Wed,,bob@x.example,Bob,Europe/London,,10:00-18:00,"
        "ai,2.50,shared: ai; 40 h/week overlap in both windows",
    ]


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="there is no folder"):
        write_pairs(result(), tmp_path / "no" / "pairs.csv", shown="no/pairs.csv", force=False)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "pairs.csv"
    target.write_text("old\n")

    def broken(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError):
        write_pairs(result(), target, shown="pairs.csv", force=True)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.csv"]
