"""The matching benchmark judges honestly: it sees violations, and rmcal has none."""

from __future__ import annotations

from bench.match import measure


def test_the_benchmark_sees_what_random_pairing_breaks_and_rmcal_keeps() -> None:
    rows = {row["method"]: row for row in measure(120)}
    assert set(rows) == {"rmcal", "greedy", "random"}
    assert rows["rmcal"]["violations"] == rows["greedy"]["violations"] == 0
    assert rows["random"]["violations"] > 0  # the judge does count broken rules
    assert rows["rmcal"]["pairs"] >= rows["greedy"]["pairs"]
    assert rows["rmcal"]["total_score"] >= rows["greedy"]["total_score"]
    assert rows["rmcal"]["slot_finder_places"] == 1.0  # the slot finder places every pair
