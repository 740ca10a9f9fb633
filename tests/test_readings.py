"""``read_programme``: one read per cohort, the live series per pair, occurrences to the end.

The provider here is a fake at the contract (``find_series`` / ``occurrences``) that records
what it was asked, so the tests can state how much the read costs as well as what it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rmcal.health import State
from rmcal.model import Cohort, Config, Lead, Pair, Settings
from rmcal.provider import Occurrence, Provider, Series
from rmcal.readings import OPEN_ENDED_HORIZON, read_programme, select
from tests.builders import config, pair, person

NOW = datetime(2027, 1, 21, 12, 0, tzinfo=UTC)
FIRST = datetime(2027, 1, 13, 14, 0, tzinfo=UTC)
ANA_RAJ = pair(person("ana", "Europe/London"), person("raj", "Asia/Kolkata"))
LI_TOM = pair(person("li", "Asia/Singapore"), person("tom", "Europe/London"))
KIM_SAM = pair(person("kim", "Europe/London"), person("sam", "Europe/London"), cohort="c2")


def series(
    p: Pair,
    generation: int = 1,
    rule: str = "FREQ=WEEKLY;COUNT=4",
    start: datetime = FIRST,
    cancelled: bool = False,
) -> Series:
    key = f"rm{p.id[:8]}g{generation}"
    return Series(
        key=key,
        provider_id=key,
        title="t",
        start=start,
        duration=timedelta(minutes=45),
        timezone="UTC",
        rrule=rule,
        attendees=(p.mentor.email, p.mentee.email),
        tags={"key": key, "cohort": p.cohort_id, "pair": p.id},
        cancelled=cancelled,
    )


class Calendar:
    """Holds series per cohort and answers with one held occurrence per weekly slot."""

    name = "fake"

    def __init__(self, *held: Series) -> None:
        self.held = held
        self.asked: list[str] = []
        self.windows: list[tuple[list[str], datetime, datetime]] = []

    def find_series(self, cohort_id: str) -> list[Series]:
        self.asked.append(cohort_id)
        return [s for s in self.held if s.cohort_id == cohort_id]

    def occurrences(
        self, series: Sequence[Series], start: datetime, end: datetime
    ) -> dict[str, list[Occurrence]]:
        self.windows.append(([s.key for s in series], start, end))
        return {
            s.key: [
                Occurrence(
                    series_key=s.key,
                    original_start=s.start + timedelta(weeks=n),
                    start=s.start + timedelta(weeks=n),
                    end=s.start + timedelta(weeks=n) + s.duration,
                )
                for n in range(4)
            ]
            for s in series
        }


def two_cohorts() -> Config:
    base = config(ANA_RAJ, LI_TOM)
    extra = Cohort("c2", date(2027, 1, 11), (KIM_SAM,), Settings())
    return replace(base, cohorts=(*base.cohorts, extra))


def read(calendar: Calendar, cfg: Config | None = None, **kw: Any) -> Any:
    fake: Provider = calendar  # type: ignore[assignment]  # only the two read methods are used
    return read_programme(cfg or config(ANA_RAJ, LI_TOM), fake, NOW, **kw)


def test_every_pair_is_read_in_config_order_with_one_call_per_cohort() -> None:
    calendar = Calendar(series(LI_TOM), series(ANA_RAJ))
    readings = read(calendar)
    assert [r.pair.id for r in readings] == [ANA_RAJ.id, LI_TOM.id]
    assert calendar.asked == ["c1"] and len(calendar.windows) == 1
    assert [(r.health.sessions_held, r.health.sessions_due) for r in readings] == [(2, 2), (2, 2)]


def test_a_pair_without_a_series_is_not_started() -> None:
    (ana, li) = read(Calendar(series(ANA_RAJ)))
    assert ana.series is not None and li.series is None
    assert li.health.state is State.NOT_STARTED
    assert li.health.why == "no series in the calendar (run rmcal schedule)"


def test_the_live_latest_generation_wins() -> None:
    old = series(ANA_RAJ, 1, start=FIRST - timedelta(weeks=8))
    cancelled = series(ANA_RAJ, 3, start=FIRST + timedelta(weeks=1), cancelled=True)
    live = series(ANA_RAJ, 2)
    (ana, _) = read(Calendar(old, cancelled, live))
    assert ana.series == live


def test_occurrences_are_read_from_the_first_start_to_the_last_end() -> None:
    calendar = Calendar(series(ANA_RAJ), series(LI_TOM, rule="FREQ=WEEKLY"))
    read(calendar)
    ((keys, start, end),) = calendar.windows
    assert len(keys) == 2 and start == FIRST - timedelta(days=1)
    assert end == NOW + OPEN_ENDED_HORIZON + timedelta(days=1)  # one series is open-ended
    bounded = Calendar(series(ANA_RAJ))
    read(bounded)
    last_end = FIRST + timedelta(weeks=3, minutes=45)
    assert bounded.windows[0][2] == last_end + timedelta(days=1)


def test_only_the_wanted_cohorts_are_read() -> None:
    calendar = Calendar(series(ANA_RAJ), series(KIM_SAM))
    readings = read(calendar, two_cohorts(), cohort_ids=["c2"])
    assert [r.pair.id for r in readings] == [KIM_SAM.id]
    assert calendar.asked == ["c2"]


def test_select_filters_by_cohort_and_by_what_a_lead_sees() -> None:
    readings = read(Calendar(), two_cohorts())
    assert [r.pair.id for r in select(readings, cohort="c2")] == [KIM_SAM.id]
    north = Lead("lead@example.com", "Lead", "UTC", cohorts=frozenset({"c1"}))
    assert [r.pair.id for r in select(readings, lead=north)] == [ANA_RAJ.id, LI_TOM.id]
    assert select(readings, cohort="c2", lead=north) == []
