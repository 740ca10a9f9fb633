"""The read side: what the calendar says about every pair, judged at ``now``.

``read_programme`` is the one place the session loop reads the world, the read-side twin of
``schedule.run_schedule``: for each cohort it asks the provider for rmcal's series (found by
their tag, never from the state file) and for every occurrence of them, then judges each pair
with ``health.assess``. ``tick``, ``status``, the digest and the demo all start from its
readings, so they never disagree about a pair.

``PairReading`` is the type the pure modules downstream (``messages``, ``digest``, ``status``)
take; it lives here rather than beside the rendering so that none of them depends on another's
output format.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rmcal.health import PairHealth, assess
from rmcal.model import Config, Lead, Pair
from rmcal.provider import Occurrence, Provider, Series
from rmcal.recurrence import last_start

# How far ahead an open-ended series is read (bounded series are read to their end).
OPEN_ENDED_HORIZON = timedelta(days=366)


@dataclass(frozen=True)
class PairReading:
    """A pair, its series as the calendar holds it (if any) and its health at ``now``."""

    pair: Pair
    series: Series | None
    health: PairHealth

    @property
    def label(self) -> str:
        return f"{self.pair.mentor.name} & {self.pair.mentee.name}"


def _pick(candidates: Sequence[Series]) -> Series:
    """A pair re-created in a new generation has several series: the live, latest one wins."""
    return max(candidates, key=lambda s: (not s.cancelled, s.start))


def _horizon(series: Sequence[Series], now: datetime) -> tuple[datetime, datetime]:
    start = min(s.start for s in series) - timedelta(days=1)
    ends = []
    for s in series:
        last = last_start(s.rrule, s.start)
        ends.append(now + OPEN_ENDED_HORIZON if last is None else last + s.duration)
    return start, max(ends) + timedelta(days=1)


def read_programme(
    config: Config,
    provider: Provider,
    now: datetime,
    *,
    cohort_ids: Iterable[str] | None = None,
) -> list[PairReading]:
    """Every configured pair's reading at ``now``, cohort by cohort, in config order."""
    wanted = None if cohort_ids is None else set(cohort_ids)
    readings: list[PairReading] = []
    for cohort in config.cohorts:
        if wanted is not None and cohort.id not in wanted:
            continue
        by_pair: dict[str, list[Series]] = {}
        for series in provider.find_series(cohort.id):
            by_pair.setdefault(series.pair_id, []).append(series)
        chosen = {pid: _pick(found) for pid, found in by_pair.items()}
        mine = [chosen[p.id] for p in cohort.pairs if p.id in chosen]
        occurrences: dict[str, list[Occurrence]] = {}
        if mine:
            start, end = _horizon(mine, now)
            occurrences = provider.occurrences(mine, start, end)
        for pair in cohort.pairs:
            found_series = chosen.get(pair.id)
            found = occurrences.get(found_series.key, []) if found_series else []
            health = assess(pair, found_series, found, now)
            readings.append(PairReading(pair=pair, series=found_series, health=health))
    return readings


def select(
    readings: Sequence[PairReading], *, cohort: str | None = None, lead: Lead | None = None
) -> list[PairReading]:
    """Filter by cohort id and by what a lead may see (``Lead.sees``)."""
    return [
        r
        for r in readings
        if (cohort is None or r.pair.cohort_id == cohort) and (lead is None or lead.sees(r.pair))
    ]
