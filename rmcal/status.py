"""``rmcal status``: how every pair stands, as a table, JSON or CSV (pure functions).

The readings come from ``rmcal.readings``; this module only lays them out, so the same
readings print identically whichever command produced them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rmcal.health import STATE_ORDER, State, summary_line
from rmcal.readings import PairReading
from rmcal.tables import format_table, spreadsheet_safe


def _short(moment: datetime | None, zone: ZoneInfo, with_time: bool = False) -> str:
    if moment is None:
        return "-"
    local = moment.astimezone(zone)
    return local.strftime("%a %d %b %H:%M" if with_time else "%a %d %b")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def status_record(reading: PairReading) -> dict[str, Any]:
    """One pair as JSON/CSV: stable keys, ISO times with offsets."""
    h = reading.health
    miss = h.last_miss
    return {
        "cohort": reading.pair.cohort_id,
        "pair": reading.pair.id,
        "mentor": reading.pair.mentor.name,
        "mentor_email": reading.pair.mentor.email,
        "mentee": reading.pair.mentee.name,
        "mentee_email": reading.pair.mentee.email,
        "lead": reading.pair.lead,
        "state": str(h.state),
        "held": h.held,
        "due": h.due,
        "planned": h.planned,
        "confirmed": h.confirmed,
        "streak": h.streak,
        "longest_streak": h.longest_streak,
        "missed_in_a_row": h.missed_run,
        "days_since_held": h.days_since_held,
        "last_held": _iso(h.last_held),
        "next_session": _iso(h.next_session.start if h.next_session else None),
        "next_session_number": h.next_session.number if h.next_session else None,
        "last_miss": _iso(miss.original_start) if miss else None,
        "last_miss_reason": str(miss.reason) if miss and miss.reason else None,
        "periods": h.snapshot()["periods"],
        "why": h.why,
        "series": h.series_key,
    }


FIELDS = (
    "cohort", "pair", "mentor", "mentor_email", "mentee", "mentee_email", "lead", "state",
    "held", "due", "planned", "confirmed", "streak", "longest_streak", "missed_in_a_row",
    "days_since_held", "last_held", "next_session", "next_session_number", "last_miss",
    "last_miss_reason", "periods", "why", "series",
)  # fmt: skip


def counts(readings: Sequence[PairReading]) -> dict[str, int]:
    return {
        str(state): sum(1 for r in readings if r.health.state is state) for state in STATE_ORDER
    }


def summary(readings: Sequence[PairReading]) -> str:
    return summary_line([r.health.state for r in readings])


def as_json(readings: Sequence[PairReading], now: datetime) -> str:
    return json.dumps(
        {
            "now": now.isoformat(),
            "summary": summary(readings),
            "counts": counts(readings),
            "pairs": [status_record(r) for r in readings],
        },
        indent=2,
    )


def as_csv(readings: Sequence[PairReading]) -> str:
    """The pairs as CSV; text cells that a spreadsheet would run as a formula are neutralised."""
    records = [
        {key: spreadsheet_safe(value) for key, value in status_record(r).items()} for r in readings
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def _miss_cell(reading: PairReading, zone: ZoneInfo) -> str:
    h = reading.health
    if h.needs_attention or h.state in {State.NOT_STARTED, State.ENDED}:
        return h.why
    miss = h.last_miss
    if miss is None:
        return ""
    return f"last miss {_short(miss.original_start, zone)}: {miss.reason}"


def as_text(readings: Sequence[PairReading], timezone: str) -> str:
    """One table per cohort and the summary line; times in the programme's zone."""
    zone = ZoneInfo(timezone)
    blocks = []
    cohorts: dict[str, list[PairReading]] = {}
    for reading in readings:
        cohorts.setdefault(reading.pair.cohort_id, []).append(reading)
    for cohort_id, group in cohorts.items():
        rows = []
        for r in group:
            h = r.health
            planned = f"/{h.planned}" if h.planned is not None else ""
            rows.append(
                [
                    f"{r.pair.mentor.name} / {r.pair.mentee.name}",
                    str(h.state),
                    f"{h.held}/{h.due}{planned}",
                    h.streak,
                    _short(h.last_held, zone),
                    _short(h.next_session.start if h.next_session else None, zone, True),
                    _miss_cell(r, zone),
                ]
            )
        headers = ["Mentor / mentee", "State", "Held/due/plan", "Streak", "Last", "Next", "Why"]
        blocks.append(f"{cohort_id}: {summary(group)}\n" + format_table(headers, rows))
    blocks.append(f"{summary(readings)} (times in {timezone})")
    return "\n\n".join(blocks) + "\n"
