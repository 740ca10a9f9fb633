"""``rmcal status``: how every pair stands, as a table, JSON or CSV (pure functions).

The readings come from ``rmcal.readings``; this module only lays them out, so the same
readings print identically whichever command produced them. Below the table come the sends
whose outcome is unknown (ledger rows recorded *uncertain*), each with the command that
resolves it by hand: they are the one thing in the ledger that waits for a person.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rmcal.health import STATE_ORDER, State, summary_of
from rmcal.invite import zone_label
from rmcal.outbox import resolve_command, resolve_hint
from rmcal.readings import PairReading
from rmcal.store import MailRow, MailStatus
from rmcal.tables import format_table, plural


def _short(moment: datetime | None, zone: ZoneInfo, with_time: bool = False) -> str:
    """``Mon 22 Feb`` or, with the time, ``Mon 22 Feb 10:00 JST``: rows may differ in zone,
    so a time always carries its zone's label."""
    if moment is None:
        return "-"
    local = moment.astimezone(zone)
    if not with_time:
        return local.strftime("%a %d %b")
    return f"{local:%a %d %b %H:%M} {zone_label(local)}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def status_record(reading: PairReading) -> dict[str, Any]:
    """One pair as JSON/CSV: stable keys, ISO times with offsets.

    Counts say their unit in their name: ``periods_*`` (cadence periods, ``unit`` says which:
    week, fortnight, month) are what the table, the digest and the state speak of;
    ``sessions_*`` count the sessions in them.
    """
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
        "unit": h.unit.one,
        "periods_held": h.periods_held,
        "periods_due": h.periods_due,
        "periods_planned": h.periods_planned,
        "sessions_held": h.sessions_held,
        "sessions_due": h.sessions_due,
        "sessions_planned": h.sessions_planned,
        "sessions_confirmed": h.sessions_confirmed,
        "held_outside_hours": h.held_outside_hours,
        "held_by_delegate": h.held_by_delegate,
        "streak": h.streak,
        "longest_streak": h.longest_streak,
        "missed_in_a_row": h.missed_run,
        "series_declined_by": " and ".join(h.declined_by) or None,
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
    "unit", "periods_held", "periods_due", "periods_planned", "sessions_held", "sessions_due",
    "sessions_planned", "sessions_confirmed", "held_outside_hours", "held_by_delegate",
    "streak", "longest_streak", "missed_in_a_row", "series_declined_by", "days_since_held",
    "last_held", "next_session", "next_session_number", "last_miss", "last_miss_reason",
    "periods", "why", "series",
)  # fmt: skip


def session_records(reading: PairReading) -> list[dict[str, Any]]:
    """Every session of one pair, in order: where it was planned and where it is, what became
    of it and why, who declined, the period it counts in, and any caveat."""
    h = reading.health
    zone = ZoneInfo(h.timezone)  # every time in the series' zone, so they compare at a glance
    period_of = {s.number: p for p in h.periods for s in p.sessions}
    records = []
    for s in h.sessions:
        period = period_of.get(s.number)
        records.append(
            {
                "number": s.number,
                "original_start": _iso(s.original_start.astimezone(zone)),
                "start": _iso(s.start.astimezone(zone)),
                "end": _iso(s.end.astimezone(zone)),
                "moved": s.moved,
                "state": str(s.outcome),
                "reason": str(s.reason) if s.reason else None,
                "declined_by": list(s.declined_by),
                "confirmed": s.confirmed,
                "period": period.index + 1 if period else None,
                "period_start": _iso(period.start) if period else None,
                "period_state": str(period.status) if period else None,
                "outside_hours": [p.email for p in s.outside_hours],
                "delegate": s.delegate,
                "note": s.note,
            }
        )
    return records


SESSION_FIELDS = (
    "cohort", "pair", "mentor", "mentee", "number", "original_start", "start", "end", "moved",
    "state", "reason", "declined_by", "confirmed", "period", "period_start", "period_state",
    "outside_hours", "delegate", "note", "series",
)  # fmt: skip


def counts(readings: Sequence[PairReading]) -> dict[str, int]:
    return {
        str(state): sum(1 for r in readings if r.health.state is state) for state in STATE_ORDER
    }


def summary(readings: Sequence[PairReading]) -> str:
    return summary_of([r.health for r in readings])


def as_json(
    readings: Sequence[PairReading],
    now: datetime,
    *,
    uncertain: Sequence[MailRow] = (),
    config_path: str = "rmcal.yaml",
) -> str:
    return json.dumps(
        {
            "now": now.isoformat(),
            "summary": summary(readings),
            "counts": counts(readings),
            "pairs": [{**status_record(r), "sessions": session_records(r)} for r in readings],
            "uncertain_sends": [mail_record(row, config_path) for row in uncertain],
        },
        indent=2,
    )


def mail_record(row: MailRow, config_path: str) -> dict[str, Any]:
    """One ledger row as JSON; an uncertain one names the commands that resolve it."""
    record: dict[str, Any] = {
        "key": row.key,
        "kind": row.kind,
        "status": str(row.status),
        "pair": row.pair_id,
        "to": [a for a in row.recipients.split(", ") if a],
        "subject": row.subject,
        "message_id": row.message_id,
        "attempts": row.attempts,
        "detail": row.error or "",
        "since": row.updated_at,
    }
    if row.status is MailStatus.UNCERTAIN:
        record["resolve"] = [
            resolve_command(config_path, row.key, flag) for flag in ("--sent", "--resend")
        ]
    return record


def uncertain_text(rows: Sequence[MailRow], config_path: str) -> str:
    """The uncertain sends under the status table; nothing at all when there are none."""
    if not rows:
        return ""
    lines = [f"\n{plural(len(rows), 'send')} may or may not have gone out (uncertain):"]
    for row in rows:
        who = row.recipients or "?"
        lines.append(f"  {row.kind:<9} {row.key}")
        lines.append(f"{'':12}to {who}: {row.subject} (since {row.updated_at})")
        lines.append(f"{'':12}{resolve_hint(config_path, row.key)}")
    return "\n".join(lines) + "\n"


def _csv(fields: Sequence[str], records: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def as_csv(readings: Sequence[PairReading]) -> str:
    """One row per pair."""
    return _csv(FIELDS, [status_record(r) for r in readings])


def as_sessions_csv(readings: Sequence[PairReading]) -> str:
    """One row per session of every pair (``rmcal status --csv --sessions``)."""
    rows = []
    for r in readings:
        pair = {
            "cohort": r.pair.cohort_id,
            "pair": r.pair.id,
            "mentor": r.pair.mentor.name,
            "mentee": r.pair.mentee.name,
            "series": r.health.series_key,
        }
        for record in session_records(r):
            record["declined_by"] = " and ".join(record["declined_by"])
            record["outside_hours"] = " ".join(record["outside_hours"])
            rows.append({**pair, **record})
    return _csv(SESSION_FIELDS, rows)


def _miss_cell(reading: PairReading, zone: ZoneInfo) -> str:
    h = reading.health
    if h.state is not State.ON_TRACK:
        return h.why
    miss = h.last_miss
    last = f"last miss {_short(miss.original_start, zone)}: {miss.reason}" if miss else ""
    return "; ".join(filter(None, (last, h.caveats)))


def as_text(readings: Sequence[PairReading], zone: str | None = None) -> str:
    """One table per cohort and the summary line.

    Times are in each pair's mentee's zone (the mentee owns the agenda, so these are the
    times that pair talks about), unless ``zone`` names one zone for every row; the last
    line says which.
    """
    blocks = []
    cohorts: dict[str, list[PairReading]] = {}
    for reading in readings:
        cohorts.setdefault(reading.pair.cohort_id, []).append(reading)
    for cohort_id, group in cohorts.items():
        rows = []
        for r in group:
            h = r.health
            here = ZoneInfo(zone or r.pair.mentee.timezone)
            planned = f"/{h.periods_planned}" if h.periods_planned is not None else ""
            rows.append(
                [
                    f"{r.pair.mentor.name} / {r.pair.mentee.name}",
                    str(h.state),
                    f"{h.periods_held}/{h.periods_due}{planned} {h.unit.many}",
                    h.streak,
                    _short(h.last_held, here),
                    _short(h.next_session.start if h.next_session else None, here, True),
                    _miss_cell(r, here),
                ]
            )
        headers = ["Mentor / mentee", "State", "Held/due/plan", "Streak", "Last", "Next", "Why"]
        blocks.append(f"{cohort_id}: {summary(group)}\n" + format_table(headers, rows))
    where = f"times in {zone}" if zone else "times in each mentee's zone; --tz ZONE for one zone"
    blocks.append(f"{summary(readings)} ({where})")
    return "\n\n".join(blocks) + "\n"
