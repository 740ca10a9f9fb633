"""Settings as a cascade: ``defaults`` -> a cohort's ``settings`` -> a pair's ``settings``.

Why a module of its own: a level is validated where it is written (each value at its own line),
but a setting is only complete once every level above it is known, and some problems only show
then (a window shorter than a session set two levels up). So each level is read into flat
``Partial`` entries that remember their node, the levels are merged key by key, and the merged
result is built into a frozen ``Settings`` whose late errors still point at the right line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from rmcal.config.text import (
    expect_mapping,
    parse_url_template,
)
from rmcal.config.values import (
    parse_cadence,
    parse_clock,
    parse_date,
    parse_days,
    parse_duration,
    parse_hours,
    parse_integer,
    parse_share,
    parse_video,
    parse_weekday,
    show_duration,
)
from rmcal.config.yamlsource import Node
from rmcal.model import Cadence, Settings, Thresholds, Window
from rmcal.recurrence import (
    HORIZON_TEXT,
    MAX_HORIZON,
    RecurrenceError,
    TooFewSessions,
    first_rule_day,
    series_times,
)

SETTINGS_KEYS = (
    "cadence",
    "sessions",
    "end_date",
    "duration",
    "window",
    "video",
    "agenda_lead",
    "feedback_delay",
    "feedback_form_url",
    "clash_watch_days",
    "digest",
    "thresholds",
)
WINDOW_KEYS = ("days", "hours")
DIGEST_KEYS = ("weekday", "time")
THRESHOLD_KEYS = ("at_risk_missed", "off_track_missed", "confirmed_share")

MAX_SESSION = timedelta(hours=8)
MAX_AGENDA_LEAD = timedelta(days=14)
MAX_FEEDBACK_DELAY = timedelta(days=7)
MAX_SESSIONS = 200
MAX_CLASH_WATCH_DAYS = 60  # one free/busy window on every platform (Graph: under 62 days)


@dataclass(frozen=True)
class Setting:
    """One setting as given at one level, with the node it came from (for later messages)."""

    value: Any
    node: Node


# Flat keys: ``window.days``, ``digest.time``, ``thresholds.at_risk_missed``, so that merging
# the levels key by key is a plain dict update.
Partial = dict[str, Setting]


def merge(base: Partial, over: Partial) -> Partial:
    """``over`` on top of ``base``; ``sessions``/``end_date`` replace each other as a pair."""
    merged = dict(base)
    if "sessions" in over or "end_date" in over:
        merged.pop("sessions", None)
        merged.pop("end_date", None)
    merged.update(over)
    return merged


_PARSERS: dict[str, Callable[[Node], Any]] = {
    "cadence": parse_cadence,
    "sessions": lambda n: parse_integer(n, 1, MAX_SESSIONS),
    "end_date": parse_date,
    "duration": lambda n: parse_duration(n, minimum=timedelta(minutes=1), maximum=MAX_SESSION),
    "video": parse_video,
    "agenda_lead": lambda n: parse_duration(
        n, minimum=timedelta(minutes=1), maximum=MAX_AGENDA_LEAD
    ),
    "feedback_delay": lambda n: parse_duration(n, minimum=timedelta(0), maximum=MAX_FEEDBACK_DELAY),
    "feedback_form_url": parse_url_template,
    "clash_watch_days": lambda n: parse_integer(n, 0, MAX_CLASH_WATCH_DAYS),
}


def settings_block(node: Node) -> Partial:
    """Validate one level of settings (each value at its own line) into flat keys."""
    node.check_keys(SETTINGS_KEYS)
    out: Partial = {}
    for key, child in node.items():
        if child.is_null:
            continue
        if key in _PARSERS:
            out[key] = Setting(_PARSERS[key](child), child)
        elif key == "window":
            out.update(window_block(expect_mapping(child)))
        elif key == "digest":
            expect_mapping(child).check_keys(DIGEST_KEYS)
            for sub, parse in (("weekday", parse_weekday), ("time", parse_clock)):
                value = child.get(sub)
                if value is not None:
                    out[f"digest.{sub}"] = Setting(parse(value), value)
        elif key == "thresholds":
            expect_mapping(child).check_keys(THRESHOLD_KEYS)
            for sub in THRESHOLD_KEYS:
                value = child.get(sub)
                if value is None:
                    continue
                if sub == "confirmed_share":
                    out[f"thresholds.{sub}"] = Setting(parse_share(value), value)
                else:
                    out[f"thresholds.{sub}"] = Setting(parse_integer(value, 1, 52), value)
    if "sessions" in out and "end_date" in out:
        out["end_date"].node.fail(
            "give either sessions or end_date, not both",
            hint=f"sessions is set on line {out['sessions'].node.line}",
        )
    return out


def window_block(node: Node) -> Partial:
    """A ``window:`` mapping (of a settings level or of one person) into flat keys."""
    node.check_keys(WINDOW_KEYS)
    out: Partial = {}
    days = node.get("days")
    if days is not None:
        out["window.days"] = Setting(parse_days(days), days)
    hours = node.get("hours")
    if hours is not None:
        out["window.hours"] = Setting(parse_hours(hours), hours)
    return out


def build_window(partial: Partial) -> Window:
    fallback = Settings().window
    days = partial["window.days"].value if "window.days" in partial else fallback.days
    if "window.hours" in partial:
        start, end = partial["window.hours"].value
    else:
        start, end = fallback.start_minute, fallback.end_minute
    return Window(days=days, start_minute=start, end_minute=end)


def check_window_fits(partial: Partial, window: Window, duration: timedelta) -> None:
    """A window shorter than one session can never hold it; say so here, not at scheduling."""
    if timedelta(minutes=window.end_minute - window.start_minute) >= duration:
        return
    where = partial.get("window.hours") or partial.get("duration")
    if where is None:  # both from the built-in defaults, which fit
        return
    hours = window.describe().split(" ")[-1]
    where.node.fail(f"the window {hours} is shorter than one {show_duration(duration)} session")


def build_settings(partial: Partial, *, start: date | None = None) -> Settings:
    """One level's effective settings; the model's defaults fill what no level set.

    With ``start`` (a cohort's first day) the series these settings give is checked too: it
    must have its sessions, and end, within ``MAX_HORIZON`` of the start.
    """
    settings = _build(partial, start)
    if start is not None:
        _check_series(partial, settings, start)
    return settings


def _check_series(partial: Partial, settings: Settings, start: date) -> None:
    """The series fits the horizon and its rule really occurs, or fail at the setting to fix."""
    end = partial.get("end_date")
    if end is not None and end.value - start > MAX_HORIZON:
        end.node.fail(
            f"end date {end.value} is more than {HORIZON_TEXT} after the cohort starts ({start})",
            hint="split a longer programme into cohorts",
        )
    problem = series_problem(settings.cadence, settings.sessions, settings.end_date, start)
    if problem is None:
        return
    cadence = settings.cadence
    if isinstance(problem, TooFewSessions):
        order = ("sessions", "cadence", "end_date")
        message = f"{problem}, with cadence {cadence.text!r}"
        hint = "choose fewer sessions or a shorter cadence"
    else:
        order = ("cadence", "end_date", "sessions")
        message = f"{cadence.text!r} is not a usable cadence: {problem}"
        hint = "check the rule's BYMONTH, BYMONTHDAY, BYDAY and BYSETPOS, or the end date"
    # The built-in cadence and session count fit from any start the loader accepts, so one of
    # these keys was set somewhere in the cascade.
    where = next(partial[key] for key in order if key in partial)
    where.node.fail(message, hint=hint)


@lru_cache(maxsize=256)
def series_problem(
    cadence: Cadence, sessions: int | None, end_date: date | None, start: date
) -> RecurrenceError | None:
    """Why a series with this cadence and length, begun on ``start``, cannot be scheduled.

    Expanded from the first day on or after ``start`` that a raw rule's BYDAY allows (where
    the slot finder will look), at noon; cached, as most pairs share their cohort's settings.
    """
    first = datetime.combine(first_rule_day(cadence, start), time(12, 0), UTC)
    settings = Settings(cadence=cadence, sessions=sessions, end_date=end_date)
    try:
        series_times(settings, first)
    except RecurrenceError as exc:
        return exc
    return None


def _build(partial: Partial, start: date | None) -> Settings:
    base = Settings()
    kwargs: dict[str, Any] = {}
    for key in ("cadence", "duration", "video", "agenda_lead", "feedback_delay"):
        if key in partial:
            kwargs[key] = partial[key].value
    for key in ("feedback_form_url", "clash_watch_days"):
        if key in partial:
            kwargs[key] = partial[key].value
    if "end_date" in partial:
        end = partial["end_date"]
        if start is not None and end.value < start:
            end.node.fail(f"end date {end.value} is before the cohort starts ({start})")
        kwargs["end_date"] = end.value
        kwargs["sessions"] = None
    elif "sessions" in partial:
        kwargs["sessions"] = partial["sessions"].value
    window = build_window(partial)
    check_window_fits(partial, window, kwargs.get("duration", base.duration))
    kwargs["window"] = window
    if "digest.weekday" in partial:
        kwargs["digest_weekday"] = partial["digest.weekday"].value
    if "digest.time" in partial:
        kwargs["digest_time"] = partial["digest.time"].value
    thresholds = Thresholds(
        **{
            key: partial[f"thresholds.{key}"].value
            for key in THRESHOLD_KEYS
            if f"thresholds.{key}" in partial
        }
    )
    if thresholds.off_track_missed < thresholds.at_risk_missed:
        where = partial.get("thresholds.off_track_missed") or partial["thresholds.at_risk_missed"]
        where.node.fail(
            f"off_track_missed ({thresholds.off_track_missed}) must be at least "
            f"at_risk_missed ({thresholds.at_risk_missed})"
        )
    kwargs["thresholds"] = thresholds
    return Settings(**kwargs)
