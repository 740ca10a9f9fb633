"""The cost benchmark measures the real CLI against the limit-enforcing fakes, honestly.

Small runs (3 pairs, no latency): every scenario exits 0, nothing is throttled, the work is
really done (series created, agendas sent), the incremental reads cost what the floor allows,
and the page and chart are written. No time is asserted.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import pytest

from bench import report
from bench.run import provider_rows


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_each_scenario_runs_the_cli_and_is_counted(provider: str, tmp_path: Path) -> None:
    rows = {r.scenario: r for r in provider_rows(provider, 3, 0.0, lambda line: None)}
    assert list(rows) == [
        "schedule-new",
        "re-run-unchanged",
        "tick-first-read",
        "tick-nothing-due",
        "status",
        "tick-everything-due",
    ]
    for row in rows.values():
        assert row.exit_code == 0, row.summary
        assert row.throttled == 0
        assert row.round_trips > 0 and row.floor_round_trips is not None
        assert 0 < row.peak_rss_mb < 1000 and not math.isnan(row.peak_rss_mb)
    assert rows["re-run-unchanged"].round_trips <= rows["schedule-new"].round_trips
    # an idle tick and status read what changed: within two trips of the floor (the series
    # listing and a second sign-in request are not in it)
    for name in ("tick-nothing-due", "status"):
        assert rows[name].round_trips <= (rows[name].floor_round_trips or 0) + 2
    assert rows["tick-everything-due"].sent == 3  # one agenda per pair, really sent
    data = {
        "meta": {
            "command": "test",
            "started": "s",
            "finished": "f",
            "cpus": 2,
            "python": "3",
            "platform": "p",
            "latency": 0.0,
            "load_before": [0, 0, 0],
            "load_after": [0, 0, 0],
        },
        "rows": [asdict(r) | {"ratio": r.ratio} for r in rows.values()],
    }
    pytest.importorskip("matplotlib")
    report.write(data, tmp_path / "RESULTS.md", tmp_path / "cost.png")
    page = (tmp_path / "RESULTS.md").read_text()
    assert f"| {provider} | tick-nothing-due | 3 |" in page
    assert (tmp_path / "cost.png").stat().st_size > 0


def test_a_programme_too_large_for_one_config_file_lists_its_pairs_in_an_hr_export(
    tmp_path: Path,
) -> None:
    """10,000 pairs written out in YAML are 2 MB, over the 1 MB config limit: the benchmark's
    large programmes go through ``pairs_csv`` and load whole."""
    from datetime import datetime

    from bench.cohort import INLINE_PAIRS, SCHEDULE_NOW, write_config
    from rmcal.config import load_config

    path = write_config(tmp_path, {"kind": "local", "folder": str(tmp_path / "local")}, 2_500)
    assert INLINE_PAIRS < 2_500 and (tmp_path / "pairs.csv").exists()
    assert path.stat().st_size < 1024 * 1024
    config = load_config(path, now=datetime.fromisoformat(SCHEDULE_NOW), force=True)
    assert len(config.pairs) == 2_500


def test_full_adds_the_large_units_and_jobs_keep_the_sequential_order(tmp_path: Path) -> None:
    """``--full`` measures 5,000 pairs, the local provider at 10,000 and the 10,000-pair CPU
    scenarios; ``--jobs`` runs units in worker processes and hands back their rows in the
    order a sequential run gives."""
    from bench.run import LOCAL_FULL, Unit, run_units, units

    full = units(["microsoft", "google", "local"], (10, 5000), full=True, naive=True)
    assert Unit("google", 5000) in full and Unit("local", LOCAL_FULL) in full
    assert Unit("cpu", 10_000, kind="plan") in full
    assert Unit("microsoft", 10, naive=True) in full and Unit("google", 10, naive=True) in full
    assert not any(u.naive for u in full if u.pairs > 1000 or u.provider == "local")
    default = units(["microsoft", "google", "local"], (1000,), full=False, naive=True)
    assert Unit("google", 1000) in default  # naive Google at 1,000 only with --full
    assert not any(u.pairs > 1000 for u in default)

    todo = [Unit("local", 2), Unit("cpu", 20, kind="health")]
    rows = run_units(todo, 0.0, jobs=2)
    assert [(r.provider, r.scenario) for r in rows][-1] == ("(none)", "cpu-health")
    assert [r.scenario for r in rows[:2]] == ["schedule-new", "re-run-unchanged"]
    assert all(r.exit_code == 0 for r in rows), [r.summary for r in rows]


def test_the_timeline_names_each_run_of_requests_and_the_gaps_between() -> None:
    from bench.timeline import _kind, phases

    assert _kind("POST", "https://h/v1.0/users/rm@x/calendar/getSchedule") == "POST getSchedule"
    assert _kind("POST", "https://h/batch/calendar/v3") == "POST batch"
    assert _kind("GET", "https://h/v1.0/users/rm@x/events?$top=1000") == "GET events"
    records = [
        ("GET events", 0.5, 0.6),
        ("POST getSchedule", 1.6, 1.7),
        ("POST getSchedule", 1.6, 1.7),
        ("POST $batch", 1.7, 2.7),
        ("(exit)", 3.0, 0.0),
    ]
    lines = phases(records)
    assert lines[0].strip().startswith("0.50 s  before the first request")
    assert "1.00 s  no request in flight" in lines[2]
    assert "2 x POST getSchedule (100 ms each, 2.0 in flight on average)" in lines[3]
    assert "1 x POST $batch" in lines[4]
    assert lines[-2].strip().startswith("0.30 s  after the last answer")
