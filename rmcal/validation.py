"""``rmcal validate``: everything that can be checked without touching a calendar.

The config loader already checked the file itself; this adds what needs the provider and the
templates: that the platform can express each pair's recurrence (Graph cannot express every
RRULE, and it is better to learn that here than from a 400 mid-cohort), that every template
renders with sample data under the strict, sandboxed engine, and which pairs cannot be placed
at all. That last one needs no calendar: the planner runs with no free/busy and no existing
series, so a pair it cannot place (a fixed slot that leaves someone's hours in a week when
only one of the two zones has changed to summer time, windows that never overlap) cannot be
placed by ``schedule`` either.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from rmcal.errors import ConfigError
from rmcal.invite import EndingRenderer, InviteRenderer, InviteText
from rmcal.messages import render_sample
from rmcal.model import Config, Pair
from rmcal.plan import Unschedulable, make_plan
from rmcal.provider import Provider, Series
from rmcal.recurrence import first_start, series_times
from rmcal.slots import Slot
from rmcal.templating import TemplateEngine

SAMPLE_MINUTE = 10 * 60  # sample sessions start at 10:00 in the mentee's zone


def sample_slot(pair: Pair, start: date) -> Slot:
    """A plausible slot for rendering and recurrence checks: the cohort's first day, 10:00."""
    first = first_start(start, weekday=start.weekday(), minute=SAMPLE_MINUTE, zone=pair.mentee.zone)
    return Slot.from_series(
        series_times(pair.settings, first),
        timezone=pair.mentee.timezone,
        duration=pair.settings.duration,
    )


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
        slot = sample_slot(pair, cohort.start)
        renderer = InviteRenderer(config, engine, provider.capabilities.video)
        text = renderer.render(pair, slot)
        rendered.append("invite")
        # The text a series carries once it ends early, and once it is cancelled.
        series = Series(
            key="sample", provider_id="sample", title=text.title, start=slot.first,
            duration=slot.duration, timezone=slot.timezone, rrule=slot.rrule, attendees=(),
            tags={},
        )  # fmt: skip
        ending = EndingRenderer(config, engine)
        ending.render(series, slot.starts[len(slot.starts) // 2])
        ending.render(series, None)
        rendered.append("invite_end")
    for name in engine.names():
        if name in {"invite", "invite_end"}:
            continue
        render_sample(name, config, engine)
        rendered.append(name)
    return rendered


def unplaceable(config: Config, now: datetime) -> list[dict[str, str]]:
    """The pairs the planner cannot place on windows alone, with its reasons."""
    plan = make_plan(
        config,
        {},
        {},
        now,
        lambda pair, slot: InviteText(title="", html="", text=""),  # placement only
        video=False,
    )
    return [
        {
            "cohort": item.pair.cohort_id,
            "pair": item.pair.id,
            "names": f"{item.pair.mentor.name} / {item.pair.mentee.name}",
            "reason": item.reason,
        }
        for item in plan.of(Unschedulable)
    ]


def validate_all(
    config: Config, provider: Provider, engine: TemplateEngine, *, now: datetime
) -> dict[str, Any]:
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
        "unplaceable": unplaceable(config, now),
    }
