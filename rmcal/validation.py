"""``rmcal validate``: everything that can be checked without touching a calendar.

The config loader already checked the file itself; this adds what needs the provider and the
templates: that the platform can express each pair's recurrence (Graph cannot express every
RRULE, and it is better to learn that here than from a 400 mid-cohort) and that every template
renders with sample data under the strict, sandboxed engine.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rmcal.errors import ConfigError
from rmcal.invite import InviteRenderer
from rmcal.messages import render_sample
from rmcal.model import Config, Pair
from rmcal.provider import Provider
from rmcal.recurrence import (
    RecurrenceError,
    SeriesTimes,
    build_rrule,
    first_rule_day,
    first_start,
    series_times,
)
from rmcal.slots import Slot
from rmcal.templating import TemplateEngine

SAMPLE_MINUTE = 10 * 60  # sample sessions start at 10:00 in the mentee's zone


def sample_slot(pair: Pair, start: date) -> Slot:
    """A plausible slot for rendering and recurrence checks: the cohort's first day, 10:00.

    The first day a raw rule's BYDAY allows, where the config loader proved the cadence gives
    its sessions; should it give none even so, the slot keeps its single first start, which is
    enough to render a template with.
    """
    day = first_rule_day(pair.settings.cadence, start)
    first = first_start(day, weekday=day.weekday(), minute=SAMPLE_MINUTE, zone=pair.mentee.zone)
    try:
        series = series_times(pair.settings, first)
    except RecurrenceError:
        rule = build_rrule(
            pair.settings.cadence,
            first,
            sessions=pair.settings.sessions,
            end_date=pair.settings.end_date,
        )
        series = SeriesTimes(first=first, rrule=rule, starts=(first,))
    return Slot.from_series(series, timezone=pair.mentee.timezone, duration=pair.settings.duration)


def check_recurrences(config: Config, provider: Provider) -> None:
    for index, cohort in enumerate(config.cohorts):
        for pair in cohort.pairs:
            slot = sample_slot(pair, cohort.start)
            problem = provider.validate_recurrence(slot.rrule)
            if problem:
                key = cadence_key(config, index, pair)
                raise ConfigError(
                    f"provider {provider.name} cannot express cadence "
                    f"{pair.settings.cadence.text!r} ({slot.rrule}): {problem}",
                    file=str(config.path),
                    line=config.lines.get(key),
                    key=key,
                    hint="choose weekly, every N weeks or monthly",
                )


def cadence_key(config: Config, cohort_index: int, pair: Pair) -> str:
    """The most specific place that sets this pair's cadence: pair, cohort, then defaults."""
    candidates = []
    if pair.source is not None:
        candidates.append(f"{pair.source.key}.settings.cadence")
    candidates.append(f"cohorts[{cohort_index}].settings.cadence")
    for key in candidates:
        if key in config.lines:
            return key
    return "defaults.cadence"


def render_templates(config: Config, provider: Provider, engine: TemplateEngine) -> list[str]:
    """Render every template pair with sample data; raises ConfigError naming a broken one."""
    rendered = []
    cohort = next((c for c in config.cohorts if c.pairs), None)
    if cohort is not None:
        pair = cohort.pairs[0]
        renderer = InviteRenderer(config, engine, provider.capabilities.video)
        renderer.render(pair, sample_slot(pair, cohort.start))
        rendered.append("invite")
    for name in engine.names():
        if name == "invite":
            continue
        render_sample(name, config, engine)
        rendered.append(name)
    return rendered


def validate_all(config: Config, provider: Provider, engine: TemplateEngine) -> dict[str, Any]:
    check_recurrences(config, provider)
    templates = render_templates(config, provider, engine)
    caps = provider.capabilities
    notes = list(caps.notes)
    return {
        "config": str(config.path),
        "cohorts": len(config.cohorts),
        "pairs": len(config.pairs),
        "provider": provider.name,
        "templates": templates,
        "capabilities": {
            "video": caps.video,
            "attendance": caps.attendance,
            "sends_invitations": caps.sends_invitations,
        },
        "notes": notes,
    }
