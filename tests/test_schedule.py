"""``rmcal.schedule``: free/busy is read only over the time new and changed series can take."""

from datetime import UTC, date, datetime, timedelta

from rmcal.invite import InviteText
from rmcal.plan import Create, make_plan
from rmcal.schedule import busy_horizon, searched_window
from tests.builders import config, pair, person
from tests.zones import KOLKATA, LONDON, NEW_YORK, SYDNEY

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def render(p, slot):
    return InviteText("t", "<p>h</p>", "h")


def _cohort(sessions: int = 26):
    return config(
        pair(person("a", LONDON), person("b", NEW_YORK), sessions=sessions),
        pair(person("c", KOLKATA), person("d", LONDON), sessions=sessions),
        pair(person("e", SYDNEY), person("f", KOLKATA), sessions=sessions),
        start=date(2027, 1, 11),
    )


def test_the_window_covers_every_session_any_search_could_pick():
    cfg = _cohort()
    draft = make_plan(cfg, {}, {}, NOW, render, video=False)
    window = searched_window(cfg, draft)
    assert window is not None
    for item in draft.of(Create):
        for begin, end in item.slot.intervals():
            assert window[0] <= begin and end <= window[1]
    # the latest Sunday a search from 11 January could pick, late in the day anywhere on earth
    latest = datetime(2027, 1, 17, 23, 30, tzinfo=UTC) + timedelta(hours=12, weeks=25)
    assert window[1] >= latest + timedelta(minutes=45)


def test_the_window_skips_the_weeks_before_the_cohort_starts():
    """Seven weeks before the cohort, the old horizon read from today: a third of the calls."""
    cfg = _cohort()
    draft = make_plan(cfg, {}, {}, NOW, render, video=False)
    window = searched_window(cfg, draft)
    assert window is not None
    assert window[0] >= datetime(2027, 1, 10, tzinfo=UTC)
    assert window[1] - window[0] < timedelta(days=186)  # three getSchedule windows, not four
    old = busy_horizon(cfg, NOW, None)
    assert old[1] - old[0] > timedelta(days=250)
