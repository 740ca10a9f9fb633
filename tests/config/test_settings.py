"""``rmcal.config.settings``: the ``defaults`` -> cohort -> pair cascade and its late checks."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

from rmcal.model import Cadence, Window
from tests.config.helpers import MON_FRI, assert_one_line, error_cases, load


@error_cases("settings")
def test_bad_settings_give_one_line_and_exit_code_2(
    in_fixtures: Path, fixture: str, message: str
) -> None:
    assert_one_line(fixture, message)


def test_settings_merge_defaults_cohort_pair(in_fixtures: Path) -> None:
    config = load("merge.yaml")
    defaults, cohort = config.defaults, config.cohorts[0].settings
    first, second = config.pairs

    assert defaults.sessions == 6 and defaults.end_date is None
    assert defaults.agenda_lead == timedelta(days=2)
    assert defaults.feedback_delay == timedelta(0)
    assert defaults.digest_time == time(14, 0)  # unquoted 14:00, which YAML 1.1 reads as 840

    # The cohort's end_date replaces the defaults' sessions; window and digest merge key-wise.
    assert cohort.end_date == date(2027, 6, 30) and cohort.sessions is None
    assert cohort.window == Window(MON_FRI, 10 * 60, 16 * 60)
    assert (cohort.digest_weekday, cohort.digest_time) == (4, time(14, 0))
    assert cohort.video == "none"
    assert cohort.thresholds.off_track_missed == 3
    assert first.settings == cohort

    # The pair's sessions replace the cohort's end_date; the rest cascades key by key.
    pair = second.settings
    assert (pair.sessions, pair.end_date) == (4, None)
    assert pair.cadence == Cadence(
        "rrule", interval=3, rrule="FREQ=WEEKLY;INTERVAL=3", text="RRULE:FREQ=WEEKLY;INTERVAL=3"
    )
    assert pair.duration == timedelta(minutes=90)
    assert pair.window == Window(frozenset({6, 0, 1}), 10 * 60, 16 * 60)  # Sun-Tue wraps
    assert pair.thresholds.confirmed_share == 0.75
    assert pair.thresholds.off_track_missed == 3
    assert pair.video == "none"

    # A person's own window merges over the pair's.
    assert second.mentor.window == Window(frozenset({1, 3}), 10 * 60, 16 * 60)
    assert second.mentee.window is None
    assert second.mentee.timezone == "America/New_York"
    assert second.focus == "Low-code automation"
