"""RFC 5545 RRULE <-> Graph ``patternedRecurrence``, in both directions.

Why a module of its own: the core's RRULE is the single source of truth for every occurrence,
and Graph has no RRULE field; it stores a pattern (daily, weekly, absolute/relative monthly and
yearly) plus a range (numbered, endDate, noEnd) in a recurrence time zone. Anything rmcal writes
must read back as the same rule, or every run would see a change and patch the series again.
And a rule Graph cannot hold must be refused at ``rmcal validate`` time with a reason, not
discovered as an HTTP 400 halfway through a cohort.

Facts used (Microsoft Learn, recurrencePattern and recurrenceRange resources): ``interval`` is
always required; ``weekly`` needs ``daysOfWeek`` and ``firstDayOfWeek`` (default sunday);
``relativeMonthly``/``relativeYearly`` take ``index`` first|second|third|fourth|last; range dates
are dates only, read in ``recurrenceTimeZone``; a property with no supported value for the
pattern type is an error, so only the properties a type needs are sent.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rmcal.recurrence import (
    ICAL_DAYS,
    RULE_PARTS,
    RecurrenceError,
    end_of_day,
    expand,
    join_parts,
    parse_parts,
    until_text,
)

GRAPH_DAYS = dict(
    zip(
        ICAL_DAYS,
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        strict=True,
    )
)
ICAL_OF_GRAPH_DAY = {v: k for k, v in GRAPH_DAYS.items()}
INDEX_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
INDEX_OF_NAME = {v: k for k, v in INDEX_NAMES.items()}
KNOWN_PARTS = frozenset(RULE_PARTS)
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")


class UnsupportedRecurrence(ValueError):
    """Raised for an RRULE that Outlook's patternedRecurrence cannot express."""


def _days(value: str) -> list[tuple[int | None, str]]:
    out: list[tuple[int | None, str]] = []
    for item in value.split(","):
        match = _BYDAY.match(item.strip())
        if not match:
            raise UnsupportedRecurrence(f"BYDAY value {item!r} is not a weekday")
        out.append((int(match.group(1)) if match.group(1) else None, match.group(2)))
    return out


def _single_int(parts: dict[str, str], name: str, low: int, high: int) -> int | None:
    if name not in parts:
        return None
    value = parts[name]
    if "," in value:
        raise UnsupportedRecurrence(
            f"several {name} values ({value}): Outlook repeats on one "
            f"{'day of the month' if name == 'BYMONTHDAY' else 'value'} only"
        )
    try:
        number = int(value)
    except ValueError as exc:
        raise UnsupportedRecurrence(f"{name}={value} is not a number") from exc
    if not low <= number <= high:
        raise UnsupportedRecurrence(f"{name}={value} is outside {low}..{high}")
    return number


def _ordinal_text(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _index(n: int, where: str) -> str:
    if n not in INDEX_NAMES:
        nth = f"{_ordinal_text(-n)}-from-last" if n < 0 else _ordinal_text(n)
        raise UnsupportedRecurrence(
            f"{where}: the {nth} weekday of a month cannot be expressed; Outlook counts only "
            "first, second, third, fourth or last"
        )
    return INDEX_NAMES[n]


def _check(parts: dict[str, str]) -> None:
    """Raise UnsupportedRecurrence with the reason when Graph cannot hold ``parts``."""
    extra = sorted(set(parts) - KNOWN_PARTS)
    if extra:
        raise UnsupportedRecurrence(
            f"{', '.join(extra)} cannot be expressed in an Outlook recurrence (it repeats by day, "
            "week, month or year at the series' start time)"
        )
    freq = parts["FREQ"]
    if freq not in {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}:
        raise UnsupportedRecurrence(
            f"FREQ={freq}: Outlook recurrences repeat daily, weekly, monthly or yearly"
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise UnsupportedRecurrence("COUNT and UNTIL together are not a valid RRULE")
    try:
        if int(parts.get("INTERVAL", "1")) < 1:
            raise ValueError
    except ValueError as exc:
        raise UnsupportedRecurrence(
            f"INTERVAL={parts['INTERVAL']} is not a positive number"
        ) from exc
    if "COUNT" in parts and not parts["COUNT"].isdigit():
        raise UnsupportedRecurrence(f"COUNT={parts['COUNT']} is not a number")
    if "WKST" in parts and parts["WKST"] not in GRAPH_DAYS:
        raise UnsupportedRecurrence(f"WKST={parts['WKST']} is not a weekday")
    days = _days(parts["BYDAY"]) if "BYDAY" in parts else []
    monthday = _single_int(parts, "BYMONTHDAY", -31, 31)
    if monthday is not None and monthday < 1:
        raise UnsupportedRecurrence(
            f"BYMONTHDAY={monthday}: counting days from the end of the month is not supported"
        )
    setpos = _single_int(parts, "BYSETPOS", -366, 366)
    month = _single_int(parts, "BYMONTH", 1, 12)

    if freq in {"DAILY", "WEEKLY"}:
        for name in ("BYMONTHDAY", "BYSETPOS", "BYMONTH"):
            if name in parts:
                raise UnsupportedRecurrence(f"{name} with FREQ={freq} cannot be expressed")
        if freq == "DAILY" and days:
            raise UnsupportedRecurrence(
                "FREQ=DAILY with BYDAY cannot be expressed; write FREQ=WEEKLY;BYDAY=... instead"
            )
        if any(n is not None for n, _ in days):
            raise UnsupportedRecurrence("numbered weekdays (e.g. 2MO) need FREQ=MONTHLY or YEARLY")
        return
    if freq == "MONTHLY" and month is not None:
        raise UnsupportedRecurrence("BYMONTH with FREQ=MONTHLY cannot be expressed")
    if days and monthday is not None:
        raise UnsupportedRecurrence("BYDAY and BYMONTHDAY together cannot be expressed")
    if monthday is not None and setpos is not None:
        raise UnsupportedRecurrence("BYSETPOS with BYMONTHDAY cannot be expressed")
    if setpos is not None and not days:
        raise UnsupportedRecurrence("BYSETPOS needs BYDAY")
    numbered = [n for n, _ in days if n is not None]
    if numbered:
        if len(days) > 1:
            raise UnsupportedRecurrence(
                f"BYDAY={parts['BYDAY']}: Outlook repeats on one numbered weekday per month"
            )
        if setpos is not None:
            raise UnsupportedRecurrence("a numbered BYDAY with BYSETPOS cannot be expressed")
        _index(numbered[0], f"BYDAY={parts['BYDAY']}")
    elif days:
        if setpos is None:
            raise UnsupportedRecurrence(
                f"FREQ={freq};BYDAY={parts['BYDAY']} without a position (every such weekday "
                "of the month) cannot be expressed; use e.g. BYDAY=2WE for the second Wednesday"
            )
        _index(setpos, f"BYSETPOS={setpos}")


def unsupported_reason(rule: str) -> str | None:
    """Why Graph cannot express ``rule``, or None when it can."""
    try:
        _check(parse_parts(rule))
    except RecurrenceError as exc:
        return f"not a valid RRULE: {exc}"
    except UnsupportedRecurrence as exc:
        return str(exc)
    return None


def _last_date(rule: str, first: datetime) -> date:
    """The ``endDate`` that keeps exactly the occurrences an UNTIL rule keeps.

    Graph's endDate is a date in the recurrence zone and keeps every occurrence on it. Using
    UNTIL's own local date reads back unchanged (UNTIL = end of that day), unless an occurrence
    on that date starts after UNTIL: then the date of the last kept occurrence is the faithful end.
    """
    parts = parse_parts(rule)
    kept = expand(rule, first)
    until = parts["UNTIL"]
    if until.endswith("Z"):
        moment = datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=ZoneInfo("UTC"))
    elif len(until) == 8:
        moment = end_of_day(datetime.strptime(until, "%Y%m%d").date(), first.tzinfo)
    else:
        moment = datetime.strptime(until, "%Y%m%dT%H%M%S").replace(tzinfo=first.tzinfo)
    candidate = moment.astimezone(first.tzinfo).date()
    unbounded = dict(parts)
    del unbounded["UNTIL"]
    day_start = datetime.combine(candidate, datetime.min.time(), tzinfo=first.tzinfo)
    later_same_day = [
        s
        for s in expand(
            join_parts(unbounded), first, after=day_start, before=day_start + timedelta(days=1)
        )
        if s > moment
    ]
    if later_same_day:
        return kept[-1].date() if kept else first.date()
    return candidate


def to_graph(rule: str, first: datetime, windows_zone: str) -> dict[str, Any]:
    """The ``recurrence`` object for an event whose first occurrence is ``first``.

    ``first`` is aware, in the series zone; ``windows_zone`` is that zone's Windows name.
    """
    parts = parse_parts(rule)
    _check(parts)
    freq = parts["FREQ"]
    interval = int(parts.get("INTERVAL", "1"))
    days = _days(parts["BYDAY"]) if "BYDAY" in parts else []
    pattern: dict[str, Any] = {"interval": interval}
    if freq == "DAILY":
        pattern["type"] = "daily"
    elif freq == "WEEKLY":
        names = [d for _, d in days] or [ICAL_DAYS[first.weekday()]]
        pattern.update(
            type="weekly",
            daysOfWeek=[GRAPH_DAYS[d] for d in ICAL_DAYS if d in names],
            # RFC 5545's default week start is Monday; Graph's is Sunday, so always say it.
            firstDayOfWeek=GRAPH_DAYS[parts.get("WKST", "MO")],
        )
    else:
        prefix = "Monthly" if freq == "MONTHLY" else "Yearly"
        if days:
            numbered = days[0][0]
            position = numbered if numbered is not None else int(parts["BYSETPOS"])
            pattern.update(
                type="relative" + prefix,
                daysOfWeek=[GRAPH_DAYS[d] for d in ICAL_DAYS if d in {x for _, x in days}],
                index=INDEX_NAMES[position],
            )
        else:
            pattern.update(
                type="absolute" + prefix,
                dayOfMonth=int(parts.get("BYMONTHDAY", first.day)),
            )
        if freq == "YEARLY":
            pattern["month"] = int(parts.get("BYMONTH", first.month))
    rng: dict[str, Any] = {
        "startDate": first.date().isoformat(),
        "recurrenceTimeZone": windows_zone,
    }
    if "COUNT" in parts:
        rng.update(type="numbered", numberOfOccurrences=int(parts["COUNT"]))
    elif "UNTIL" in parts:
        rng.update(type="endDate", endDate=_last_date(rule, first).isoformat())
    else:
        rng["type"] = "noEnd"
    return {"pattern": pattern, "range": rng}


def from_graph(recurrence: dict[str, Any], tz: ZoneInfo) -> str:
    """The normalised RRULE for a Graph ``recurrence`` whose range dates are read in ``tz``.

    An endDate range becomes UNTIL at the end of that day in ``tz``, in UTC, which is what the
    core's ``build_rrule`` writes for an end date, so a round trip is text-identical.
    """
    pattern = recurrence.get("pattern") or {}
    rng = recurrence.get("range") or {}
    kind = pattern.get("type", "")
    parts: dict[str, str] = {}
    graph_days = [d.lower() for d in pattern.get("daysOfWeek") or []]
    ical_days = [d for d in ICAL_DAYS if GRAPH_DAYS[d] in graph_days]
    if kind == "daily":
        parts["FREQ"] = "DAILY"
    elif kind == "weekly":
        parts["FREQ"] = "WEEKLY"
        parts["BYDAY"] = ",".join(ical_days)
        parts["WKST"] = ICAL_OF_GRAPH_DAY[(pattern.get("firstDayOfWeek") or "sunday").lower()]
    elif kind in {"relativeMonthly", "relativeYearly"}:
        parts["FREQ"] = "MONTHLY" if kind == "relativeMonthly" else "YEARLY"
        position = INDEX_OF_NAME[(pattern.get("index") or "first").lower()]
        if len(ical_days) == 1:
            parts["BYDAY"] = f"{position}{ical_days[0]}"
        else:
            parts["BYDAY"] = ",".join(ical_days)
            parts["BYSETPOS"] = str(position)
    elif kind in {"absoluteMonthly", "absoluteYearly"}:
        parts["FREQ"] = "MONTHLY" if kind == "absoluteMonthly" else "YEARLY"
        parts["BYMONTHDAY"] = str(int(pattern["dayOfMonth"]))
    else:
        raise UnsupportedRecurrence(f"unknown Graph recurrence pattern type {kind!r}")
    if kind.endswith("Yearly"):
        parts["BYMONTH"] = str(int(pattern["month"]))
    parts["INTERVAL"] = str(int(pattern.get("interval") or 1))
    range_type = rng.get("type", "noEnd")
    if range_type == "numbered":
        parts["COUNT"] = str(int(rng["numberOfOccurrences"]))
    elif range_type == "endDate":
        parts["UNTIL"] = until_text(end_of_day(date.fromisoformat(rng["endDate"][:10]), tz))
    return join_parts(parts)
