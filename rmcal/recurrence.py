"""RFC 5545 recurrence: one RRULE per series, built from a cadence, expanded by dateutil.

Why a module of its own: the RRULE is the single source of truth for every occurrence (the slot
finder checks each one, providers translate it, health counts periods against it), so building,
normalising and expanding it must happen in exactly one way.

Expansion is in wall-clock time of the series zone, as RFC 5545 requires: a weekly 14:00 in
Europe/London stays 14:00 local across DST, and its UTC instant moves.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import MAXYEAR, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from rmcal.model import Cadence, Settings

ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
UTC = ZoneInfo("UTC")
# Parts a raw cadence RRULE may use; COUNT/UNTIL come from sessions/end_date, DTSTART from
# the slot finder.
ALLOWED_RAW_PARTS = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYSETPOS", "BYMONTH", "WKST"}
# Every part rmcal builds or accepts, in canonical order; providers translate exactly these.
RULE_PARTS = (
    "FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYSETPOS", "BYMONTH", "WKST", "COUNT", "UNTIL",
)  # fmt: skip
# How far a series may reach from its first session, and the longest INTERVAL per FREQ (one
# period lasts at most a year, as for "every 52 weeks" and "every 12 months").
MAX_HORIZON = timedelta(days=5 * 365 + 1)
HORIZON_TEXT = "5 years"
MAX_INTERVAL = {"DAILY": 366, "WEEKLY": 52, "MONTHLY": 12, "YEARLY": 1}
# The Gregorian calendar repeats exactly every 400 years (146,097 days, 20,871 weeks), so a rule
# expanded 400*k years later gives the same dates and weekdays; see ``_wall_clock_starts``.
_CYCLE = 400
_BYDAY = re.compile(r"([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_NUMBER = re.compile(r"[+-]?\d{1,3}")


class RecurrenceError(ValueError):
    """An RRULE that cannot be parsed or is not allowed where it was given."""


class NoSessions(RecurrenceError):
    """A rule that gives no session at all within ``MAX_HORIZON`` of its first day."""


class TooFewSessions(RecurrenceError):
    """A rule whose ``sessions`` do not all fall within ``MAX_HORIZON`` of its first day."""


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
    """Validate a cadence given as a raw RRULE in the config (raises RecurrenceError).

    Beyond the syntax: only the parts a cadence may use, an INTERVAL of one period up to a year,
    and BY-values that exist (``BYMONTH=13`` or ``BYMONTHDAY=32`` would give a rule that never
    occurs). Whether the rule gives sessions at all is checked with the cohort's start date
    (``series_times``), as that depends on where the series begins.
    """
    parts = parse_parts(rule)
    extra = set(parts) - ALLOWED_RAW_PARTS
    if extra:
        raise RecurrenceError(
            f"{', '.join(sorted(extra))} not allowed in a cadence rule "
            "(the number of sessions / end date set COUNT and UNTIL)"
        )
    freq = parts["FREQ"]
    if freq not in MAX_INTERVAL:
        raise RecurrenceError(f"FREQ={freq} is not a meeting cadence")
    interval = parts.get("INTERVAL", "1")
    if not (interval.isdigit() and len(interval) < 5 and 1 <= int(interval) <= MAX_INTERVAL[freq]):
        raise RecurrenceError(
            f"INTERVAL={interval} is not between 1 and {MAX_INTERVAL[freq]} "
            f"(at most a year between sessions with FREQ={freq})"
        )
    _check_numbers(parts, "BYMONTH", 1, 12, "a month")
    _check_numbers(parts, "BYMONTHDAY", 1, 31, "a day of the month", signed=True)
    _check_numbers(parts, "BYSETPOS", 1, 366, "a position in the period", signed=True)
    _check_byday(parts.get("BYDAY"), freq)
    if parts.get("WKST", "MO") not in ICAL_DAYS:
        raise RecurrenceError(f"WKST={parts['WKST']} is not a weekday (MO to SU)")
    try:
        rrulestr(join_parts(parts), dtstart=datetime(2030, 1, 7, 10, 0))
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(str(exc)) from exc


def _check_numbers(
    parts: dict[str, str], name: str, low: int, high: int, what: str, *, signed: bool = False
) -> None:
    """Each comma-separated value of part ``name`` within low..high (or -high..-low)."""
    if name not in parts:
        return
    for value in parts[name].split(","):
        number = int(value) if _NUMBER.fullmatch(value) else None
        if number is None or not (low <= abs(number) <= high) or (number < 0 and not signed):
            span = f"{low} to {high}" + (f", or -{low} to -{high} from the end" if signed else "")
            raise RecurrenceError(f"{name}={value} is not {what} ({span})")


def _check_byday(value: str | None, freq: str) -> None:
    """``MO``, ``2WE``, ``-1FR``: an ordinal only with MONTHLY (1-5) or YEARLY (1-53)."""
    if value is None:
        return
    for item in value.split(","):
        match = _BYDAY.fullmatch(item)
        if match is None:
            raise RecurrenceError(f"BYDAY={item} is not a weekday such as MO, 2WE or -1FR")
        if match.group(2) is None:
            continue
        limit = {"MONTHLY": 5, "YEARLY": 53}.get(freq)
        if limit is None:
            raise RecurrenceError(f"BYDAY={item}: a numbered weekday needs FREQ=MONTHLY or YEARLY")
        if not 1 <= int(match.group(2)) <= limit:
            raise RecurrenceError(f"BYDAY={item}: the number must be between 1 and {limit}")


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


@dataclass(frozen=True)
class SeriesTimes:
    """A series as the calendar will hold it: first start, RRULE, and every occurrence start."""

    first: datetime
    rrule: str
    starts: tuple[datetime, ...]


def first_day(start: date, weekday: int) -> date:
    """The first ``weekday`` (Monday = 0) on or after ``start``."""
    return start + timedelta(days=(weekday - start.weekday()) % 7)


def rule_weekdays(cadence: Cadence) -> list[int]:
    """The weekdays (Monday = 0) a cadence's sessions may fall on: a raw rule's BYDAY, or all."""
    byday = (
        parse_parts(cadence.rrule).get("BYDAY")
        if cadence.kind == "rrule" and cadence.rrule
        else None
    )
    if not byday:
        return list(range(7))
    names = {item.lstrip("+-0123456789") for item in byday.split(",")}
    return [ICAL_DAYS.index(name) for name in ICAL_DAYS if name in names]


def first_rule_day(cadence: Cadence, start: date) -> date:
    """The first day on or after ``start`` that the cadence's BYDAY allows (``start`` if any)."""
    return min(first_day(start, weekday) for weekday in rule_weekdays(cadence))


def first_start(start: date, *, weekday: int, minute: int, zone: tzinfo) -> datetime:
    """The first ``weekday`` on or after ``start``, ``minute`` minutes after midnight in ``zone``.

    The first session of a weekday slot (searched or fixed) falls here; later ones follow the rule.
    """
    return datetime.combine(first_day(start, weekday), time(minute // 60, minute % 60), zone)


def series_times(settings: Settings, first: datetime) -> SeriesTimes:
    """The RRULE that ``settings`` give a series starting at ``first``, and all its starts.

    The one place a pair's series is expanded before it exists: the config's overlap check,
    the slot finder and ``rmcal validate`` all call this, so they judge the same occurrences.

    The series' first start is its first occurrence, which is ``first`` itself unless a raw rule
    says otherwise (``BYMONTHDAY=15`` from a Monday): calendars treat DTSTART as an occurrence
    whatever the rule says, so a DTSTART outside the rule would be a phantom extra session.
    Raises ``RecurrenceError`` when the rule gives no session, or fewer than ``sessions``,
    within ``MAX_HORIZON`` of ``first``.
    """
    return _remembered(_series_times, settings.cadence, settings.sessions, settings.end_date, first)


def _remembered(cached: Any, *args: Any) -> Any:
    """``cached(*args[:-1], naive, zone)`` for the aware datetime ``args[-1]``: the cache is
    keyed on its wall-clock time *and* its zone, because aware datetimes equal as instants
    hash alike, yet 09:00 London and 10:00 Berlin recur differently across a change of the
    clocks. A tzinfo class that cannot be hashed is computed, not remembered."""
    *rest, first = args
    naive, zone = first.replace(tzinfo=None), first.tzinfo
    try:
        return cached(*rest, naive, zone)
    except TypeError:
        return cached.__wrapped__(*rest, naive, zone)


@functools.lru_cache(maxsize=4096)
def _series_times(
    cadence: Cadence, sessions: int | None, end_date: date | None, naive: datetime, zone: tzinfo
) -> SeriesTimes:
    """``series_times``, remembered by what it reads (the slot finder tries the same weekday
    and time for many pairs; a re-run expands each existing series again)."""
    first = naive.replace(tzinfo=zone)
    rule = build_rrule(cadence, first, sessions=sessions, end_date=end_date)
    parts = parse_parts(rule)
    until = None
    if "UNTIL" in parts:
        assert end_date is not None
        until = end_of_day(end_date, zone)
    for name in ("COUNT", "UNTIL"):
        parts.pop(name, None)
    starts = _wall_clock_starts(parts, first, count=sessions, until=until)
    when = f"{first:%Y-%m-%d}"
    if not starts:
        raise NoSessions(f"the rule gives no session within {HORIZON_TEXT} of {when}")
    if sessions is not None and len(starts) < sessions:
        raise TooFewSessions(
            f"{sessions} sessions do not fit within {HORIZON_TEXT} of {when} "
            f"(the last one that fits is session {len(starts)}, on {starts[-1]:%Y-%m-%d})"
        )
    return SeriesTimes(first=starts[0], rrule=rule, starts=tuple(starts))


def _wall_clock_starts(
    parts: dict[str, str], first: datetime, *, count: int | None, until: datetime | None
) -> list[datetime]:
    """Starts of an open rule from ``first``: at most ``count``, none after ``until`` or after
    ``MAX_HORIZON``, found in bounded time whatever the rule.

    dateutil stops only at a COUNT'th or post-UNTIL occurrence, or at the year 9999: a rule that
    never occurs (``FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30``) would spin through 8,000 years first,
    about five seconds. So the rule is expanded in naive wall-clock time (as RFC 5545 expands
    it) 400*k years later, close to 9999: the calendar and its weekdays are the same there, and
    an empty rule gives up after a few hundred years instead of thousands.
    """
    zone = first.tzinfo
    local_first = first.replace(tzinfo=None)
    end = local_first + min(MAX_HORIZON, datetime.max - local_first)
    if until is not None:
        end = min(end, until.astimezone(zone).replace(tzinfo=None))
    shift = _CYCLE * max(0, (MAXYEAR - 1 - end.year) // _CYCLE)
    shifted_end = end.replace(year=end.year + shift)
    rules = rrulestr(join_parts(parts), dtstart=local_first.replace(year=local_first.year + shift))
    out: list[datetime] = []
    for start in rules:
        if start > shifted_end:
            break
        out.append(start.replace(year=start.year - shift, tzinfo=zone))
        if count is not None and len(out) >= count:
            break
    return out


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
    return list(_remembered(_expand_from, rule, after, before, limit, first))


@functools.lru_cache(maxsize=4096)
def _expand_from(
    rule: str,
    after: datetime | None,
    before: datetime | None,
    limit: int,
    naive_first: datetime,
    zone: tzinfo,
) -> tuple[datetime, ...]:
    """``expand``, remembered: a re-run expands each series for the plan, for the comparison
    with the calendar and for the invitation's wording, and many pairs share one rule and
    first start (a cohort's Monday 09:00 London)."""
    first = naive_first.replace(tzinfo=zone)
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
    return tuple(out)


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
