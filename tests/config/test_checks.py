"""``rmcal.config.checks``: rules across the pairs of one cohort."""

from __future__ import annotations

from pathlib import Path

from rmcal.model import FixedSlot
from tests.config.helpers import assert_one_line, error_cases, load


@error_cases("checks")
def test_clashing_pairs_give_one_line_and_exit_code_2(
    in_fixtures: Path, fixture: str, message: str
) -> None:
    assert_one_line(fixture, message)


def test_fixed_slots_that_do_not_overlap_are_fine(in_fixtures: Path) -> None:
    config = load("slots_apart.yaml")
    slots = [pair.fixed_slot for pair in config.pairs]
    assert slots == [FixedSlot(2, 10 * 60), FixedSlot(2, 16 * 60 + 15, "Asia/Kolkata")]
