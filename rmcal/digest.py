"""The leads' weekly digest, as data: heatmap, pairs needing attention, sessions booked over,
wins, feedback figures.

Why data first and markup later: what a lead may see is a privacy rule ("a lead never sees
another lead's pairs"), so it is decided here, in one pure function that filters with
``Lead.sees`` before anything else happens; templates only lay out what they are given.

Everything a lead reads counts cadence periods (a week for a weekly pair), the unit of the
heatmap beside it. Wins are what happened since the previous digest (the seven days before
``now``), each celebrated once: a pair's first held session, half of its planned periods held,
every planned period held, a run of held periods reaching 3, 5, 10, 15... when it is the pair's
longest yet, a pair back on track after a miss. Sessions held with a caveat in those seven days
(outside someone's hours, by a delegate) are listed as such; finished pairs say how they
finished (completed with k of n held, ended early, never started).
Sessions booked over are the clash watch's findings on this run (``rmcal.clashes``): each
upcoming session someone has another commitment during, and whether the pair was offered free
times.
Feedback figures come from imported form answers: average rating (1-5) and the share of
participants who would recommend the programme (each respondent's latest answer counts once).

``lead_digest`` is the one way a digest is built for sending or previewing (``tick``, ``rmcal
digest``, the demo): it takes the week-old readings and the feedback from the programme's
``History`` (the state file), so every caller compares against the same week.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from rmcal.attendance import Outcome
from rmcal.clashes import SessionClash
from rmcal.feedback import FeedbackRow
from rmcal.health import STATE_ORDER, PairHealth, State, summary_of
from rmcal.model import Lead
from rmcal.periods import Period
from rmcal.readings import PairReading
from rmcal.tables import display_width, pad, plural

WINDOW = timedelta(days=7)
FIRST_STREAK_MILESTONE = 3  # then every 5 (5, 10, 15...)
# Rows per list in one mail. A lead of 5,000 pairs got a 35 MB digest (over what Gmail accepts,
# and Gmail shows only the first ~100 KB of any message): past this, each list shows its first
# rows (the heatmap: the pairs needing attention first) and says how many more `rmcal status`
# lists. The figures above the lists (summary, heatmap in words) still count every pair.
MAX_ROWS = 100


@dataclass(frozen=True)
class HeatCell:
    status: str  # held | missed | upcoming | none (no such period for this pair)
    label: str  # the period's first day, e.g. "11 Jan"
    note: str  # why a missed period was missed


@dataclass(frozen=True)
class HeatRow:
    pair_id: str
    label: str
    state: str
    cells: tuple[HeatCell, ...]

    @property
    def text_cells(self) -> str:
        return " ".join(_TEXT_CELL[c.status] for c in self.cells)  # padded: columns align


_TEXT_CELL = {"held": "H", "missed": "M", "upcoming": ".", "none": " "}


@dataclass(frozen=True)
class Attention:
    pair_id: str
    label: str
    state: str
    why: str
    next_session: datetime | None


@dataclass(frozen=True)
class Starting:
    """A pair whose first session is still ahead: what a lead can look forward to."""

    pair_id: str
    label: str
    first_session: datetime


@dataclass(frozen=True)
class BookedOver:
    """A session ahead that clashes with someone's other commitment (a heads-up went out)."""

    pair_id: str
    label: str
    session: int
    start: datetime
    who: str  # the name of the person whose calendar has the other commitment
    free: int  # free times the heads-up offered


@dataclass(frozen=True)
class Win:
    pair_id: str
    label: str
    text: str


@dataclass(frozen=True)
class Caveat:
    """A session held this week that a lead should read twice (outside hours, by delegate)."""

    pair_id: str
    label: str
    start: datetime
    text: str  # "held at 20:00 London, outside Ana Silva's hours"


@dataclass(frozen=True)
class Finish:
    """How a finished pair finished: completed (k of n held), ended early, never started."""

    pair_id: str
    label: str
    state: str
    why: str


@dataclass(frozen=True)
class Ratings:
    responses: int  # answers with a rating
    average: float | None
    respondents: int  # people who answered the recommend question
    recommend_share: float | None  # 0..1

    @property
    def empty(self) -> bool:
        return self.responses == 0 and self.respondents == 0


@dataclass(frozen=True)
class Digest:
    lead: Lead
    week: str  # ISO week in the lead's zone, e.g. 2027-W03
    now: datetime
    summary: str
    trend: str  # "" when there is no reading from a week ago
    pairs: int
    columns: int  # heatmap width (the most periods any pair has)
    period_word: str  # what one column is: "week" when every pair meets weekly
    heatmap: tuple[HeatRow, ...]
    attention: tuple[Attention, ...]
    booked_over: tuple[BookedOver, ...]
    wins: tuple[Win, ...]
    caveats: tuple[Caveat, ...]
    finished: tuple[Finish, ...]
    ratings: Ratings  # over the lead's pairs
    programme_ratings: Ratings | None  # over every pair, when the lead does not see them all
    starting: tuple[Starting, ...] = ()  # pairs not started yet, by first session

    @property
    def started(self) -> bool:
        """Whether any of the lead's pairs has had a session take place or be missed."""
        return any(c.status in {"held", "missed"} for row in self.heatmap for c in row.cells)

    def heatmap_summary(self) -> str:
        """The heatmap in words, for screen readers and plain-text readers alike."""
        cells = [c.status for row in self.heatmap for c in row.cells]
        counts = {status: cells.count(status) for status in ("held", "missed", "upcoming")}
        pairs = plural(self.pairs, "pair")
        periods = plural(self.columns, self.period_word)
        return (
            f"{pairs} over up to {periods}: {counts['held']} held, {counts['missed']} missed, "
            f"{counts['upcoming']} still to come."
        )

    def shown_heatmap(self) -> tuple[HeatRow, ...]:
        """The heatmap rows a mail shows: all of them, or past ``MAX_ROWS`` the pairs needing
        attention first (in the attention list's order), then the others in their order."""
        if len(self.heatmap) <= MAX_ROWS:
            return self.heatmap
        rank = {a.pair_id: i for i, a in enumerate(self.attention)}
        first = sorted(
            (r for r in self.heatmap if r.pair_id in rank), key=lambda r: rank[r.pair_id]
        )
        rest = [r for r in self.heatmap if r.pair_id not in rank]
        return tuple([*first, *rest][:MAX_ROWS])

    def context(self) -> dict[str, Any]:
        """What the digest templates receive (plain values, autoescaped in HTML); each list is
        cut at ``MAX_ROWS``, and ``more`` says how many rows each one left out."""
        heatmap = self.shown_heatmap()
        lists = {
            "heatmap": self.heatmap,
            "starting": self.starting,
            "attention": self.attention,
            "booked_over": self.booked_over,
            "wins": self.wins,
            "caveats": self.caveats,
            "finished": self.finished,
        }
        more = {name: max(0, len(rows) - MAX_ROWS) for name, rows in lists.items()}
        width = max((display_width(row.label) for row in heatmap), default=0)
        return {
            "lead": {
                "name": self.lead.name,
                "first_name": self.lead.name.split(" ")[0] if self.lead.name else self.lead.email,
                "email": self.lead.email,
                "timezone": self.lead.timezone,
            },
            "week": self.week,
            "now": self.now,
            "summary": self.summary,
            "trend": self.trend,
            "pairs": self.pairs,
            "columns": list(range(1, self.columns + 1)),
            "period_word": self.period_word,
            "heatmap": [
                {
                    "pair_id": row.pair_id,
                    "label": row.label,
                    "text_label": pad(row.label, width),
                    "state": row.state,
                    "cells": [
                        {"status": c.status, "label": c.label, "note": c.note} for c in row.cells
                    ],
                    "text_cells": row.text_cells,
                }
                for row in heatmap
            ],
            "attention": [
                {
                    "label": a.label,
                    "state": a.state,
                    "why": a.why,
                    "next_session": a.next_session,
                }
                for a in self.attention[:MAX_ROWS]
            ],
            "booked_over": [
                {
                    "label": b.label,
                    "session": b.session,
                    "start": b.start,
                    "who": b.who,
                    "free": b.free,
                }
                for b in self.booked_over[:MAX_ROWS]
            ],
            "wins": [{"label": w.label, "text": w.text} for w in self.wins[:MAX_ROWS]],
            "caveats": [
                {"label": c.label, "start": c.start, "text": c.text}
                for c in self.caveats[:MAX_ROWS]
            ],
            "finished": [
                {"label": f.label, "state": f.state, "why": f.why} for f in self.finished[:MAX_ROWS]
            ],
            "more": more,
            "started": self.started,
            "heatmap_summary": self.heatmap_summary() if self.heatmap else "",
            "starting": [
                {"label": s.label, "first_session": s.first_session}
                for s in self.starting[:MAX_ROWS]
            ],
            "ratings": _ratings_context(self.ratings),
            "programme_ratings": (
                _ratings_context(self.programme_ratings) if self.programme_ratings else None
            ),
        }


def _ratings_context(r: Ratings) -> dict[str, Any] | None:
    if r.empty:
        return None
    return {
        "responses": r.responses,
        "average": None if r.average is None else f"{r.average:.1f}",
        "respondents": r.respondents,
        "recommend": None if r.recommend_share is None else f"{round(r.recommend_share * 100)}%",
    }


def iso_week(now: datetime, timezone: str) -> str:
    year, week, _ = now.astimezone(ZoneInfo(timezone)).isocalendar()
    return f"{year}-W{week:02d}"


# -- pieces --------------------------------------------------------------------------------


def _cell_note(period: Period) -> str:
    if period.reason:
        return period.reason
    return "; ".join(period.notes)


def _heat_row(reading: PairReading, columns: int) -> HeatRow:
    zone = ZoneInfo(reading.health.timezone)
    cells = [
        HeatCell(str(p.status), f"{p.start.astimezone(zone):%d %b}", _cell_note(p))
        for p in reading.health.periods
    ]
    cells += [HeatCell("none", "", "")] * (columns - len(cells))
    return HeatRow(reading.pair.id, reading.label, str(reading.health.state), tuple(cells))


def _period_word(readings: Sequence[PairReading]) -> str:
    units = {r.health.unit.one for r in readings if r.health.periods}
    return units.pop() if len(units) == 1 else "cadence period"


def _in_window(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and now - WINDOW < moment <= now


def _streak_milestone(run: int) -> bool:
    return run == FIRST_STREAK_MILESTONE or (run >= 5 and run % 5 == 0)


def _streak_wins(h: PairHealth, now: datetime) -> list[str]:
    """A run of held periods reaching a milestone this week, when it is the pair's longest yet
    (so the same milestone is never celebrated twice, however often the digest goes out)."""
    found = []
    run = best = 0
    for period in (p for p in h.periods if p.decided):
        if period.status is not Outcome.HELD:
            best, run = max(best, run), 0
            continue
        run += 1
        if _streak_milestone(run) and run > best and _in_window(period.held_at, now):
            found.append(f"{h.unit.count(run)} in a row held")
    return found


def _wins(
    readings: Sequence[PairReading], previous: Mapping[str, Mapping[str, Any]], now: datetime
) -> list[Win]:
    wins: list[Win] = []
    for r in readings:
        h = r.health
        held = [p for p in h.periods if p.status is Outcome.HELD]
        texts = []
        first = [s for s in h.sessions if s.held]
        if first and _in_window(first[0].end, now):
            texts.append("first session held")
        planned = h.periods_planned
        if planned and planned > 2:
            half = math.ceil(planned / 2)
            if len(held) >= half and _in_window(held[half - 1].held_at, now):
                texts.append(f"halfway: {half} of {h.unit.count(planned)} held")
        if (
            h.state is State.COMPLETED
            and len(held) == len(h.periods)
            and _in_window(held[-1].held_at, now)
        ):
            texts.append(f"all {h.unit.count(len(held))} held")
        texts += _streak_wins(h, now)
        before = previous.get(r.pair.id, {}).get("state")
        if before in {str(State.AT_RISK), str(State.OFF_TRACK)} and h.state is State.ON_TRACK:
            texts.append(f"back on track (was {before} a week ago)")
        wins += [Win(r.pair.id, r.label, text) for text in texts]
    return wins


def _caveats(readings: Sequence[PairReading], now: datetime) -> list[Caveat]:
    return [
        Caveat(r.pair.id, r.label, s.start, s.note)
        for r in readings
        for s in r.health.sessions
        if s.held and s.note and _in_window(s.end, now)
    ]


_FINISH_ORDER = {State.NEVER_STARTED: 0, State.ENDED: 1, State.COMPLETED: 2}


def _finished(readings: Sequence[PairReading]) -> list[Finish]:
    """Finished pairs, the failures first, then completed ones from the fewest held."""
    done = [r for r in readings if r.health.finished]
    done.sort(
        key=lambda r: (
            _FINISH_ORDER[r.health.state],
            r.health.periods_held / max(len(r.health.periods), 1),
            r.label,
        )
    )
    return [Finish(r.pair.id, r.label, str(r.health.state), r.health.why) for r in done]


def ratings(rows: Sequence[FeedbackRow]) -> Ratings:
    """Average rating over every answer; recommend share over each respondent's latest answer."""
    rated = [r.rating for r in rows if r.rating is not None]
    latest: dict[str, bool] = {}
    for row in sorted(rows, key=lambda r: r.session):
        if row.recommend is not None:
            latest[row.respondent] = row.recommend
    return Ratings(
        responses=len(rated),
        average=sum(rated) / len(rated) if rated else None,
        respondents=len(latest),
        recommend_share=(sum(latest.values()) / len(latest)) if latest else None,
    )


def _trend(readings: Sequence[PairReading], previous: Mapping[str, Mapping[str, Any]]) -> str:
    before = [previous[r.pair.id]["state"] for r in readings if r.pair.id in previous]
    if not before:
        return ""
    parts = []
    for state in STATE_ORDER:
        now_count = sum(1 for r in readings if r.health.state is state)
        then_count = sum(1 for s in before if s == str(state))
        if now_count or then_count:
            delta = now_count - then_count
            sign = f" ({delta:+d})" if delta else " (=)"
            parts.append(f"{state} {now_count}{sign}")
    return "vs last week: " + ", ".join(parts)


# -- the digest ----------------------------------------------------------------------------


def build_digest(
    lead: Lead,
    readings: Sequence[PairReading],
    now: datetime,
    *,
    feedback: Sequence[FeedbackRow] = (),
    previous: Mapping[str, Mapping[str, Any]] | None = None,
    clashes: Sequence[SessionClash] = (),
) -> Digest:
    """The digest for ``lead`` at ``now``: only the pairs ``lead.sees``.

    ``previous`` maps pair id to the stored reading from a week ago (for trends and "back on
    track"); ``feedback`` is every imported answer and ``clashes`` the clash watch's findings
    (both filtered here as well).
    """
    previous = previous or {}
    mine = [r for r in readings if lead.sees(r.pair)]
    my_ids = {r.pair.id for r in mine}
    columns = max((len(r.health.periods) for r in mine), default=0)
    order = {s: i for i, s in enumerate((State.DECLINED, State.OFF_TRACK, State.AT_RISK))}
    attention = sorted(
        (r for r in mine if r.health.needs_attention),
        key=lambda r: (order[r.health.state], -r.health.missed_run, r.label),
    )
    everyone = {r.pair.id for r in readings}
    return Digest(
        lead=lead,
        week=iso_week(now, lead.timezone),
        now=now,
        summary=summary_of([r.health for r in mine]),
        trend=_trend(mine, previous),
        pairs=len(mine),
        columns=columns,
        period_word=_period_word(mine),
        heatmap=tuple(_heat_row(r, columns) for r in mine),
        attention=tuple(
            Attention(
                pair_id=r.pair.id,
                label=r.label,
                state=str(r.health.state),
                why=r.health.why,
                next_session=r.health.next_session.start if r.health.next_session else None,
            )
            for r in attention
        ),
        booked_over=tuple(
            BookedOver(
                pair_id=c.pair_id,
                label=c.reading.label,
                session=c.session.number,
                start=c.session.start,
                who=c.person.name,
                free=len(c.free),
            )
            for c in sorted(clashes, key=lambda c: (c.session.start, c.reading.label))
            if c.pair_id in my_ids
        ),
        wins=tuple(_wins(mine, previous, now)),
        caveats=tuple(_caveats(mine, now)),
        finished=tuple(_finished(mine)),
        ratings=ratings([f for f in feedback if f.pair_id in my_ids]),
        programme_ratings=(
            None if my_ids >= everyone else ratings([f for f in feedback if f.pair_id in everyone])
        ),
        starting=tuple(
            sorted(
                (
                    Starting(r.pair.id, r.label, r.health.next_session.start)
                    for r in mine
                    if r.health.state is State.NOT_STARTED and r.health.next_session is not None
                ),
                key=lambda s: (s.first_session, s.label),
            )
        ),
    )


class History(Protocol):
    """What a digest needs from earlier runs; ``rmcal.store.Store`` provides it."""

    def feedback(self) -> Sequence[FeedbackRow]:
        """Every imported form answer."""
        ...

    def latest_snapshots(self, before: datetime | None = None) -> Mapping[str, Mapping[str, Any]]:
        """The most recent stored reading per pair id, taken strictly before ``before``."""
        ...


def lead_digest(
    lead: Lead,
    readings: Sequence[PairReading],
    now: datetime,
    history: History,
    *,
    clashes: Sequence[SessionClash] = (),
) -> Digest:
    """``lead``'s digest at ``now``, compared with the readings stored a week earlier."""
    return build_digest(
        lead,
        readings,
        now,
        feedback=history.feedback(),
        previous=history.latest_snapshots(before=now - WINDOW),
        clashes=clashes,
    )
