"""RFC 5545 recurrence: one RRULE per series, built from a cadence, expanded by dateutil.

Why a module of its own: the RRULE is the single source of truth for every occurrence (the slot
finder checks each one, providers translate it, health counts periods against it), so building,
normalising and expanding it must happen in exactly one way.

Expansion is in wall-clock time of the series zone, as RFC 5545 requires: a weekly 14:00 in
Europe/London stays 14:00 local across DST, and its UTC instant moves.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from rmcal.model import Cadence

ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
UTC = ZoneInfo("UTC")
# Parts a raw cadence RRULE may use; COUNT/UNTIL come from sessions/end_date, DTSTART from
# the slot finder.
ALLOWED_RAW_PARTS = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYSETPOS", "BYMONTH", "WKST"}
# Every part rmcal builds or accepts, in canonical order; providers translate exactly these.
RULE_PARTS = (
    "FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYSETPOS", "BYMONTH", "WKST", "COUNT", "UNTIL",
)  # fmt: skip


class RecurrenceError(ValueError):
    """An RRULE that cannot be parsed or is not allowed where it was given."""


def parse_parts(rule: str) -> dict[str, str]:
    """``FREQ=WEEKLY;BYDAY=MO`` -> ``{"FREQ": "WEEKLY", "BYDAY": "MO"}``, upper-cased keys."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parts: dict[str, str] = {}
    for chunk in filter(None, text.split(";")):
        if "=" not in chunk:
            raise RecurrenceError(f"{chunk!r} is not NAME=VALUE")
        name, value = chunk.split("=", 1)
        name = name.strip().upper()
        if name in parts:
            raise RecurrenceError(f"{name} appears twice")
        parts[name] = value.strip().upper()
    if "FREQ" not in parts:
        raise RecurrenceError("FREQ is missing")
    return parts


def join_parts(parts: dict[str, str]) -> str:
    """The canonical text of a rule: parts in a fixed order, so equal rules compare equal."""
    known = [k for k in RULE_PARTS if k in parts]
    other = sorted(k for k in parts if k not in RULE_PARTS)
    parts = dict(parts)
    if parts.get("INTERVAL") == "1":
        del parts["INTERVAL"]
        known.remove("INTERVAL")
    return ";".join(f"{k}={parts[k]}" for k in known + other)


def normalize(rule: str) -> str:
    """Canonical form for comparing what the config wants with what the calendar holds."""
    return join_parts(parse_parts(rule))


def parse_problem(rule: str) -> str | None:
    """Why ``rule`` is not a readable RRULE (None when it is): for providers that store any rule.

    Expands from a fixed Monday so that the whole rule, not only its syntax, is exercised.
    """
    try:
        expand(
            normalize(rule),
            datetime(2030, 1, 7, 10, 0, tzinfo=UTC),
            limit=1,
            before=datetime(2031, 1, 7, tzinfo=UTC),
        )
    except (ValueError, TypeError) as exc:  # RecurrenceError is a ValueError
        return str(exc)
    return None


def check_raw(rule: str) -> None:
    """Validate a cadence given as a raw RRULE in the config (raises RecurrenceError)."""
    parts = parse_parts(rule)
    extra = set(parts) - ALLOWED_RAW_PARTS
    if extra:
        raise RecurrenceError(
            f"{', '.join(sorted(extra))} not allowed in a cadence rule "
            "(the number of sessions / end date set COUNT and UNTIL)"
        )
    if parts["FREQ"] not in {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}:
        raise RecurrenceError(f"FREQ={parts['FREQ']} is not a meeting cadence")
    try:
        rrulestr(join_parts(parts), dtstart=datetime(2030, 1, 7, 10, 0))
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(str(exc)) from exc


def weekday_of_month(day: date) -> str:
    """``2WE`` for the second Wednesday; the fifth becomes ``-1`` (last) so every month has one."""
    nth = (day.day - 1) // 7 + 1
    return f"{-1 if nth == 5 else nth}{ICAL_DAYS[day.weekday()]}"


def build_rrule(
    cadence: Cadence,
    first: datetime,
    *,
    sessions: int | None,
    end_date: date | None,
) -> str:
    """The series RRULE for a cadence whose first occurrence is ``first`` (aware, series zone).

    ``sessions`` gives COUNT; otherwise ``end_date`` (inclusive, in the series zone) gives UNTIL.
    """
    if cadence.kind == "weekly":
        parts = {
            "FREQ": "WEEKLY",
            "INTERVAL": str(cadence.interval),
            "BYDAY": ICAL_DAYS[first.weekday()],
            "WKST": "MO",
        }
    elif cadence.kind == "monthly":
        parts = {
            "FREQ": "MONTHLY",
            "INTERVAL": str(cadence.interval),
            "BYDAY": weekday_of_month(first.date()),
        }
    else:
        parts = parse_parts(cadence.rrule or "")
        if parts["FREQ"] == "WEEKLY" and "BYDAY" not in parts:
            parts["BYDAY"] = ICAL_DAYS[first.weekday()]
        if parts["FREQ"] == "MONTHLY" and "BYDAY" not in parts and "BYMONTHDAY" not in parts:
            parts["BYDAY"] = weekday_of_month(first.date())
    if sessions is not None:
        parts["COUNT"] = str(sessions)
    elif end_date is not None:
        parts["UNTIL"] = until_text(end_of_day(end_date, first.tzinfo))
    return join_parts(parts)


def end_of_day(day: date, tz: tzinfo | None) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz)


def until_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def with_until(rule: str, last: datetime) -> str:
    """The same rule ending with the occurrence that starts at ``last`` (kept, inclusive)."""
    parts = parse_parts(rule)
    parts.pop("COUNT", None)
    parts["UNTIL"] = until_text(last)
    return join_parts(parts)


def expand(
    rule: str,
    first: datetime,
    *,
    after: datetime | None = None,
    before: datetime | None = None,
    limit: int = 5000,
) -> list[datetime]:
    """Occurrence starts of ``rule`` from ``first`` (aware), optionally within [after, before).

    An unbounded rule needs ``before``; ``limit`` guards against a runaway DAILY rule.
    """
    if first.tzinfo is None:
        raise ValueError("first occurrence must be timezone-aware")
    parts = parse_parts(rule)
    if "UNTIL" in parts and not parts["UNTIL"].endswith("Z"):
        # A floating or date-only UNTIL: read it in the series zone, as RFC 5545 says.
        value = parts["UNTIL"]
        moment = (
            datetime.strptime(value, "%Y%m%d").replace(hour=23, minute=59, second=59)
            if len(value) == 8
            else datetime.strptime(value, "%Y%m%dT%H%M%S")
        )
        parts["UNTIL"] = until_text(moment.replace(tzinfo=first.tzinfo))
    if "COUNT" not in parts and "UNTIL" not in parts and before is None:
        raise ValueError("an unbounded rule needs a 'before' bound")
    rules = rrulestr(join_parts(parts), dtstart=first)
    out: list[datetime] = []
    for start in rules:
        if before is not None and start >= before:
            break
        if after is None or start >= after:
            out.append(start)
        if len(out) >= limit:
            break
    return out


def last_start(rule: str, first: datetime) -> datetime | None:
    """The last occurrence's start of a bounded rule (None when unbounded)."""
    parts = parse_parts(rule)
    if "COUNT" not in parts and "UNTIL" not in parts:
        return None
    starts = expand(rule, first)
    return starts[-1] if starts else None


def occurrence_count(rule: str, first: datetime) -> int | None:
    parts = parse_parts(rule)
    if "COUNT" not in parts and "UNTIL" not in parts:
        return None
    return len(expand(rule, first))


def span(rule: str, first: datetime, duration: timedelta) -> tuple[datetime, datetime]:
    """The whole series horizon, first start to last end (bounded rules only)."""
    last = last_start(rule, first)
    if last is None:
        raise ValueError("unbounded rule has no span")
    return first, last + duration
