"""The value grammar of the config: what an admin may write for one value, and what it means.

Why apart from the loader: every value is read the same way wherever it appears (``defaults``,
a cohort's or a pair's ``settings``, a person, a CSV cell), so each parser takes one ``Node`` and
either returns the typed value or fails at that node with a message that quotes what was written
and, where it can, suggests what was meant. Nothing here knows about the file's structure.
"""

from __future__ import annotations

import difflib
import math
import re
import string
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Literal
from zoneinfo import available_timezones

from rmcal.config.yamlsource import Node
from rmcal.model import Cadence, FixedSlot
from rmcal.recurrence import RecurrenceError, check_raw, normalize

URL_PLACEHOLDERS = ("pair", "session", "cohort")
COHORT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Abbreviations people write instead of a zone; most are ambiguous or ignore daylight saving.
ZONE_ABBREVIATIONS = {
    "ist": "Asia/Kolkata",
    "est": "America/New_York",
    "edt": "America/New_York",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "bst": "Europe/London",
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "jst": "Asia/Tokyo",
    "sgt": "Asia/Singapore",
    "aest": "Australia/Sydney",
}
CADENCE_HINT = (
    "use weekly, every N weeks, fortnightly, monthly, every N months "
    "or an RRULE such as RRULE:FREQ=WEEKLY;INTERVAL=3"
)
DURATION_HINT = "write e.g. 45m, 1h, 1h30m, 90 minutes or a number of minutes"
START_HINT = "write a date YYYY-MM-DD (e.g. 2027-01-11) or next Monday (any weekday)"
DAYS_HINT = "use Mon, Tue, Wed, Thu, Fri, Sat, Sun, a range such as Mon-Fri, or a list [Mon, Wed]"


# -- shapes and text ------------------------------------------------------------------------------


def expect_mapping(node: Node) -> Node:
    if not node.is_map:
        node.fail(f"expected a mapping (key: value lines), got {node.describe()}")
    return node


def expect_list(node: Node) -> Node:
    if not node.is_list:
        node.fail(f"expected a list, got {node.describe()}", hint="write [a, b] or '- ' lines")
    return node


def parse_text(node: Node) -> str:
    if not isinstance(node.value, str):
        hint = "put it in quotes" if not (node.is_map or node.is_list) else None
        node.fail(f"expected text, got {node.describe()}", hint)
    text = node.value.strip()
    if not text:
        node.fail("must not be empty")
    return text


def parse_identifier(node: Node) -> str:
    """Ids may be written bare (``2027``, ``2027-01-11``); they are text all the same."""
    if isinstance(node.value, int | date) and not isinstance(node.value, bool):
        return node.text_of()
    return parse_text(node)


def parse_email(node: Node) -> str:
    """A bare address, lower-cased: it is a person's identity everywhere downstream."""
    text = parse_text(node)
    if not EMAIL.fullmatch(text):
        hint = None
        bare = re.search(r"<([^<>]+)>", text)
        if bare and EMAIL.fullmatch(bare.group(1).strip()):
            hint = f"give the bare address, {bare.group(1).strip().lower()!r}"
        node.fail(f"{text!r} is not an e-mail address", hint)
    return text.lower()


def parse_url_template(node: Node) -> str:
    """An http(s) URL whose ``{placeholders}`` are ones rmcal fills in for each e-mail."""
    text = parse_text(node)
    if not re.match(r"https?://[^\s/]+", text):
        node.fail(f"{text!r} is not an http(s) URL")
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        node.fail(f"{text!r} is not a valid template: {exc}", "write a literal brace as {{ or }}")
    for name in fields:
        if name not in URL_PLACEHOLDERS:
            hint = suggest(name, list(URL_PLACEHOLDERS), None) or "use {pair}, {session}, {cohort}"
            node.fail(f"unknown placeholder {{{name}}}", hint)
    return text


def parse_video(node: Node) -> Literal["auto", "none"]:
    if isinstance(node.value, bool):  # video: yes / off, read the way it is meant
        return "auto" if node.value else "none"
    if node.value == "auto":
        return "auto"
    if node.value == "none":
        return "none"
    node.fail(f"{node.text_of()!r} is not a video setting", "use auto or none")


# -- time zones -----------------------------------------------------------------------------------


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _zones_by_lower() -> dict[str, str]:
    return {zone.lower(): zone for zone in _zones()}


def parse_timezone(node: Node) -> str:
    """An IANA zone name, exactly; near misses and abbreviations get a pointed hint."""
    text = parse_text(node)
    problem = zone_problem(text)
    if problem is not None:
        node.fail(*problem)
    return text


def zone_problem(text: str) -> tuple[str, str] | None:
    """Why ``text`` is not an IANA zone name and a hint (None: it is one); also for ``--tz``."""
    if text in _zones():
        return None
    hint = None
    lower = text.lower()
    if lower in _zones_by_lower():
        hint = f"did you mean {_zones_by_lower()[lower]!r}? (names are case-sensitive)"
    elif lower in ZONE_ABBREVIATIONS:
        hint = (
            f"abbreviations are ambiguous and ignore daylight saving; "
            f"use a city zone such as {ZONE_ABBREVIATIONS[lower]!r}"
        )
    else:
        close = difflib.get_close_matches(lower, list(_zones_by_lower()), n=1, cutoff=0.6)
        if close:
            hint = f"did you mean {_zones_by_lower()[close[0]]!r}?"
        else:
            hint = "use a name from the tz database, e.g. 'Europe/London'"
    return f"{text!r} is not an IANA time zone", hint


# -- numbers and dates ----------------------------------------------------------------------------


def parse_date(node: Node) -> date:
    value = node.value
    if isinstance(value, datetime):
        node.fail(f"expected a date without a time, got {node.text_of()!r}", "write YYYY-MM-DD")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
        node.fail(f"{value!r} is not a date", "write YYYY-MM-DD, e.g. 2027-01-11")
    node.fail(f"expected a date, got {node.describe()}", "write YYYY-MM-DD, e.g. 2027-01-11")


def parse_start(node: Node, today: date) -> tuple[date, str | None]:
    """A cohort's ``start``: a date, or ``next Monday`` (any weekday): the first such day after
    ``today``. Returns the date and, for the relative form, its normalised text.

    The relative form keeps a template or an example config usable on any date; once the
    calendar holds the cohort's series, their first session fixes the start (``rmcal.schedule``).
    """
    value = node.value
    if isinstance(value, str) and value.strip().lower().startswith("next "):
        word = value.strip()[5:].strip()
        day = day_index(word)
        if day is None:
            node.fail(f"{word!r} is not a day of the week", START_HINT)
        ahead = (day - today.weekday() - 1) % 7 + 1
        return today + timedelta(days=ahead), f"next {DAY_NAMES[day].capitalize()}"
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()), None
        except ValueError:
            node.fail(f"{value!r} is not a date", START_HINT)
    return parse_date(node), None


def parse_integer(node: Node, low: int, high: int) -> int:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int):
        node.fail(f"expected a whole number, got {node.describe()}")
    if value < low:
        node.fail(f"must be at least {low}, got {value}")
    if value > high:
        node.fail(f"must be at most {high}, got {value}")
    return value


def parse_share(node: Node) -> float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        node.fail(f"expected a number between 0 and 1, got {node.describe()}")
    if not 0 < value <= 1:
        node.fail(f"must be more than 0 and at most 1, got {node.text_of()}")
    return float(value)


# -- durations ------------------------------------------------------------------------------------

_DURATION_UNITS = {
    "d": 1440,
    "day": 1440,
    "days": 1440,
    "h": 60,
    "hr": 60,
    "hrs": 60,
    "hour": 60,
    "hours": 60,
    "m": 1,
    "min": 1,
    "mins": 1,
    "minute": 1,
    "minutes": 1,
}
_DURATION = re.compile(r"(?:\s*\d+(?:\.\d+)?\s*[a-z]+)+\s*")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")


def parse_duration(node: Node, *, minimum: timedelta, maximum: timedelta) -> timedelta:
    """``45m``, ``1h30m``, ``90 minutes``, ``2 days``, or a bare number of minutes."""
    value = node.value
    written = node.text_of()
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        node.fail(f"expected a duration, got {node.describe()}", DURATION_HINT)
    if isinstance(value, int | float):
        minutes = float(value)
    else:
        text = value.strip().lower()
        sign = -1.0 if text.startswith("-") else 1.0
        text = text.lstrip("-").strip()
        if re.fullmatch(r"\d+", text):
            minutes = float(text)
        elif _DURATION.fullmatch(text) and all(
            unit in _DURATION_UNITS for _, unit in _DURATION_PART.findall(text)
        ):
            minutes = sum(
                float(amount) * _DURATION_UNITS[unit]
                for amount, unit in _DURATION_PART.findall(text)
            )
        else:
            node.fail(f"{written!r} is not a duration", DURATION_HINT)
        minutes *= sign
    if not math.isfinite(minutes):
        node.fail(f"{written!r} is not a duration", DURATION_HINT)
    if minutes > maximum.total_seconds() / 60:
        node.fail(f"must be at most {show_duration(maximum)}, got {written!r}")
    if minutes != int(minutes):
        node.fail(f"{written!r} is not a whole number of minutes")
    result = timedelta(minutes=int(minutes))
    if result < minimum:
        floor = "zero" if minimum <= timedelta(minutes=1) else show_duration(minimum)
        verb = "must not be negative" if minimum == timedelta(0) else f"must be more than {floor}"
        node.fail(f"{verb}, got {written!r}")
    return result


def show_duration(span: timedelta) -> str:
    """A limit or a session length the way an admin would write it (``8h``, ``1h30m``)."""
    minutes = int(span.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440} days"
    hours, rest = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{rest}m" if rest or not hours else "")


# -- cadences -------------------------------------------------------------------------------------

_EVERY = re.compile(r"every\s+(\d+|other)\s+(weeks?|months?)")
_SIMPLE_CADENCES: dict[str, tuple[Literal["weekly", "monthly"], int]] = {
    "weekly": ("weekly", 1),
    "every week": ("weekly", 1),
    "fortnightly": ("weekly", 2),
    "monthly": ("monthly", 1),
    "every month": ("monthly", 1),
}


def parse_cadence(node: Node) -> Cadence:
    """Plain words (``every 2 weeks``) or a raw RRULE whose parts a cadence may use."""
    written = parse_text(node)
    text = " ".join(written.lower().split())
    if text.startswith(("rrule:", "freq=")):
        try:
            check_raw(written)
            rule = normalize(written)
        except RecurrenceError as exc:
            node.fail(f"{written!r} is not a usable RRULE: {exc}")
        interval = int(dict(p.split("=", 1) for p in rule.split(";")).get("INTERVAL", "1"))
        return Cadence("rrule", interval=interval, rrule=rule, text=written)
    if text in _SIMPLE_CADENCES:
        kind, interval = _SIMPLE_CADENCES[text]
        return Cadence(kind, interval=interval, text=written)
    match = _EVERY.fullmatch(text)
    if match:
        count = 2 if match.group(1) == "other" else int(match.group(1))
        kind = "weekly" if match.group(2).startswith("week") else "monthly"
        limit = 52 if kind == "weekly" else 12
        if not 1 <= count <= limit:
            unit = "weeks" if kind == "weekly" else "months"
            node.fail(
                f"{written!r} is not a cadence",
                f"the number of {unit} must be between 1 and {limit}",
            )
        return Cadence(kind, interval=count, text=written)
    hint = CADENCE_HINT
    if text in {"biweekly", "bi-weekly", "bimonthly", "bi-monthly"}:
        hint = f"{written!r} is ambiguous (twice a period or every other one); " + CADENCE_HINT
    node.fail(f"{written!r} is not a cadence", hint)


# -- days, hours and slots ------------------------------------------------------------------------


def day_index(token: str) -> int | None:
    """Monday = 0 for a day name or its prefix of at least three letters; None otherwise."""
    token = token.strip().lower()
    if len(token) < 3:
        return None
    for index, name in enumerate(DAY_NAMES):
        if name.startswith(token):
            return index
    return None


def parse_weekday(node: Node) -> int:
    text = parse_text(node)
    day = day_index(text)
    if day is None:
        node.fail(f"{text!r} is not a day of the week", "use Mon, Tue, Wed, Thu, Fri, Sat or Sun")
    return day


def parse_days(node: Node) -> frozenset[int]:
    """``Mon-Fri``, ``Mon, Wed``, ``[Mon, Wed]``; a range may wrap (``Sun-Thu``)."""
    tokens: list[tuple[str, Node]]
    if node.is_list:
        tokens = [(parse_text(item), item) for item in node.value]
    else:
        tokens = [(part, node) for part in parse_text(node).split(",")]
    days: set[int] = set()
    for token, where in tokens:
        first, dash, last = token.replace("–", "-").partition("-")
        start = day_index(first)
        end = day_index(last) if dash else start
        if start is None or end is None:
            where.fail(f"{token.strip()!r} is not a day of the week", DAYS_HINT)
        day = start
        days.add(day)
        while day != end:
            day = (day + 1) % 7
            days.add(day)
    if not days:
        node.fail("no days given", DAYS_HINT)
    return frozenset(days)


_CLOCK = r"(\d{1,2}):(\d{2})"


def _minute_of_day(hours: str, minutes: str, *, end: bool = False) -> int | None:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and (m or not end)):
        return None
    return h * 60 + m


def _clock_text(node: Node) -> str:
    # YAML 1.1 reads an unquoted 14:00 as the number 840; the text as written is what was meant.
    if isinstance(node.value, int) and not isinstance(node.value, bool) and node.raw:
        return node.raw
    return parse_text(node)


def parse_clock(node: Node) -> time:
    text = _clock_text(node)
    match = re.fullmatch(_CLOCK, text.strip())
    minute = _minute_of_day(*match.groups()) if match else None
    if minute is None:
        node.fail(f"{text!r} is not a time of day", "write HH:MM, e.g. 08:00")
    return time(minute // 60, minute % 60)


def parse_hours(node: Node) -> tuple[int, int]:
    """``"09:00-17:00"`` as minutes of the day; ``24:00`` may end a range."""
    text = _clock_text(node)
    match = re.fullmatch(rf"\s*{_CLOCK}\s*(?:-|–|to)\s*{_CLOCK}\s*", text)
    if match is None:
        node.fail(f"{text!r} is not a range of hours", 'write e.g. "09:00-17:00"')
    start = _minute_of_day(match.group(1), match.group(2))
    end = _minute_of_day(match.group(3), match.group(4), end=True)
    if start is None or end is None:
        node.fail(f"{text!r} is not a range of hours", 'write e.g. "09:00-17:00"')
    if end <= start:
        node.fail(
            f"{text!r} ends before it starts",
            "a window lies within one day; the end must be later than the start",
        )
    return start, end


def parse_slot(node: Node) -> FixedSlot:
    """``Wed 14:00`` or ``Wednesday 14:00 Europe/London`` (without a zone: the mentee's)."""
    text = parse_text(node)
    match = re.fullmatch(rf"([A-Za-z]+)\s+{_CLOCK}(?:\s+(\S+))?", text)
    hint = "write a weekday and a time, e.g. 'Wed 14:00' or 'Wed 14:00 Europe/London'"
    if match is None:
        node.fail(f"{text!r} is not a slot", hint)
    day = day_index(match.group(1))
    minute = _minute_of_day(match.group(2), match.group(3))
    if day is None or minute is None:
        node.fail(f"{text!r} is not a slot", hint)
    zone = None
    if match.group(4):
        zone_node = Node(node.file, node.line, node.path, match.group(4), raw=match.group(4))
        zone = parse_timezone(zone_node)
    return FixedSlot(weekday=day, minute=minute, timezone=zone)


# -- suggestions ----------------------------------------------------------------------------------


def suggest(word: str, choices: list[str], plural: str | None) -> str | None:
    """A did-you-mean for ``word``, else the known ``plural`` (when named), else nothing."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if plural and choices:
        return f"known {plural}: " + ", ".join(choices)
    if plural:
        return f"no {plural} are declared"
    return None
