"""``rmcal validate`` and ``rmcal schedule``: the admin's commands, and the plan as they read it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from rmcal.cli.options import (
    LazyProgress,
    Options,
    config_option,
    json_option,
    load_running,
    now_option,
    pass_options,
    wait_option,
)
from rmcal.config import load_config
from rmcal.errors import PartialFailure
from rmcal.model import Config
from rmcal.plan import Create, End, Item, Keep, Orphan, Plan, Unschedulable, Update
from rmcal.provider import Provider
from rmcal.runtime import check_cohorts, clock_from, session
from rmcal.schedule import CLASH_CHECK_BUDGET, ScheduleResult, run_schedule
from rmcal.slots import Clash
from rmcal.store import Mode
from rmcal.tables import format_table
from rmcal.templating import TemplateEngine
from rmcal.validation import validate_all


@click.command()
@config_option
@now_option
@click.option("--force", is_flag=True, help="Accept cohorts whose start date is in the past.")
@json_option
@pass_options
def validate(
    options: Options, config_path: Path, now: datetime, force: bool, as_json: bool
) -> None:
    """Check a config and render every template with sample data; touches no calendar."""
    config = load_config(config_path, now=now, force=force)
    with session(config, mode=Mode.MEMORY, clock=clock_from(now)) as run:
        report = validate_all(config, run.provider, TemplateEngine(config.templates_dir))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(
        f"{config_path}: OK: {report['pairs']} pairs in {report['cohorts']} cohort(s), "
        f"provider {report['provider']}, {len(report['templates'])} templates rendered "
        f"({', '.join(report['templates'])})"
    )
    for note in report["notes"]:
        click.echo(f"  note: {note}")
    for cohort in config.cohorts:
        if cohort.relative_start:
            day = f"{cohort.start:%a %d %b %Y}"
            click.echo(
                f"  note: cohort {cohort.id} starts {cohort.relative_start}: {day} if scheduled "
                "today; once scheduled, its first session in the calendar"
            )


@click.command()
@config_option
@now_option
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--cohort", "cohorts", multiple=True, metavar="ID", help="Only this cohort.")
@click.option("--force", is_flag=True, help="Accept cohorts whose start date is in the past.")
@click.option(
    "--recreate",
    is_flag=True,
    help="Schedule again pairs whose series was deleted in the calendar.",
)
@click.option(
    "--end-orphans",
    is_flag=True,
    help="End, after their next session, series whose cohort is no longer in the config.",
)
@click.option(
    "--allow-duplicate-pair",
    is_flag=True,
    help="Give a pair a new series even though the two already meet under another cohort id.",
)
@click.option(
    "--check-clashes/--no-check-clashes",
    default=None,
    help="Read free/busy for unchanged series too and report their sessions that now clash "
    f"(default: when that takes at most {CLASH_CHECK_BUDGET} free/busy round trips).",
)
@wait_option
@json_option
@pass_options
def schedule(
    options: Options,
    config_path: Path,
    now: datetime,
    dry_run: bool,
    cohorts: Sequence[str],
    force: bool,
    recreate: bool,
    end_orphans: bool,
    allow_duplicate_pair: bool,
    check_clashes: bool | None,
    wait: float,
    as_json: bool,
) -> None:
    """Give every pair a recurring invite in a slot that suits both, every session.

    The config is the desired state: new pairs get a series, changed ones are updated,
    removed ones end after their next session (never deleted). Re-running changes nothing.
    Series of a cohort that left the config (renamed or removed) are reported as orphaned
    and left running unless --end-orphans; two people who already meet under another cohort
    id get no second series unless --allow-duplicate-pair. A re-run also reports the sessions
    of unchanged series that someone has booked over since (--check-clashes).
    """
    # The start-date check needs the calendar (a running cohort is fine): run_schedule does it.
    config = load_running(config_path, now)
    check_cohorts(config, cohorts, named_in=config_path)
    mode = Mode.MEMORY if dry_run else Mode.LOCKED
    progress = LazyProgress("Writing to the calendar", enabled=not as_json and not dry_run)
    # Bad input (a ConfigError) leaves no state file behind when this run created it.
    with (
        session(config, mode=mode, wait=wait, clock=clock_from(now), discard_new_state=True) as run,
        progress as bar,
    ):
        provider = run.provider
        result = run_schedule(
            config,
            provider,
            run.store,
            now=now,
            dry_run=dry_run,
            cohorts=cohorts or None,
            progress=bar.update,
            on_plan=lambda plan: bar.start(plan.changes),
            force=force,
            recreate=recreate,
            end_orphans=end_orphans,
            allow_duplicate_pair=allow_duplicate_pair,
            check_clashes=check_clashes,
        )
    if as_json:
        click.echo(json.dumps(result_json(config, provider, result), indent=2))
    else:
        click.echo(render_result(config, provider, result))
    if result.undone and not dry_run:
        raise PartialFailure(
            f"{len(result.undone)} pair(s) left undone; fix what is listed above and re-run",
            result.undone,
        )


COMMANDS = (validate, schedule)


def _names(item: Item, config: Config) -> tuple[str, str, str]:
    """(cohort, pair id, "mentor / mentee") for a plan row."""
    if isinstance(item, End | Orphan):
        return item.series.cohort_id, item.series.pair_id, item.series.title
    pair = item.pair
    return pair.cohort_id, pair.id, f"{pair.mentor.name} / {pair.mentee.name}"


def _action(item: Item) -> str:
    return {
        Create: "create",
        Update: "update",
        End: "end",
        Keep: "unchanged",
        Unschedulable: "unschedulable",
        Orphan: "orphaned",
    }[type(item)]


def _slot_text(item: Item) -> tuple[str, str, str]:
    slot = getattr(item, "slot", None)
    if slot is None:
        return "", "", ""
    return slot.describe(), slot.first.strftime("%Y-%m-%d"), str(len(slot.starts))


def _note(item: Item, kept: Mapping[str, tuple[Clash, ...]]) -> str:
    if isinstance(item, Unschedulable):
        return item.reason
    if isinstance(item, Update):
        return "changes: " + ", ".join(item.changes)
    if isinstance(item, End):
        return f"{item.reason}; last session {item.last:%Y-%m-%d %H:%M %Z}"
    if isinstance(item, Orphan):
        return f"{item.reason}; next session {item.next_start:%Y-%m-%d %H:%M %Z}"
    if isinstance(item, Keep | Create) and item.note:
        return item.note
    clashes = _clashes(item, kept)
    if clashes:
        return f"{len(clashes)} clashing session(s), see below"
    return ""


def _clashes(item: Item, kept: Mapping[str, tuple[Clash, ...]]) -> tuple[Clash, ...]:
    """The clashes to report for a plan row: an unchanged series' only from now on."""
    if isinstance(item, Keep):
        return kept.get(item.series.key, ())
    slot = getattr(item, "slot", None)
    return slot.clashes if slot is not None else ()


def render_result(config: Config, provider: Provider, result: ScheduleResult) -> str:
    """The admin's summary: one row per pair, clashes per pair, then one summary line."""
    plan = result.plan
    lines = []
    verb = "Plan (dry run, nothing written)" if result.dry_run else "Schedule"
    lines.append(f"{verb} for {config.programme.name}, provider {provider.name}")
    rows = []
    for item in plan.items:
        cohort, _, names = _names(item, config)
        where, first, sessions = _slot_text(item)
        note = _note(item, result.kept_clashes)
        rows.append([_action(item), cohort, names, where, first, sessions, note])
    if rows:
        lines.append(
            format_table(
                ["action", "cohort", "pair (mentor / mentee)", "slot", "first", "sessions", "note"],
                rows,
            )
        )
    clash_lines = []
    for item in plan.items:
        clashes = _clashes(item, result.kept_clashes)
        if not clashes:
            continue
        _, _, names = _names(item, config)
        clash_lines.append(f"  {names}{' (unchanged series)' if isinstance(item, Keep) else ''}:")
        for clash in clashes:
            clash_lines.append(
                f"    {clash.start:%a %Y-%m-%d %H:%M %Z}: busy: {', '.join(clash.who)}"
            )
    if clash_lines:
        lines.append("Sessions that clash with existing commitments (move these weeks by hand):")
        lines.extend(clash_lines)
    unknown = sorted(
        {e for i in plan.items for e in getattr(getattr(i, "slot", None), "unknown", ())}
    )
    if unknown:
        lines.append(
            "Free/busy unknown (no mailbox or not shared), scheduled on windows only: "
            + ", ".join(unknown)
        )
    if result.clash_check is not None:
        lines.append(result.clash_check.describe())
    for key, why in sorted(result.failed.items()):
        lines.append(f"failed: {key}: {why}")
    lines.append(summary_line(plan, result))
    return "\n".join(lines)


def summary_line(plan: Plan, result: ScheduleResult) -> str:
    counts = plan.counts()
    total = len([i for i in plan.items if not isinstance(i, End | Orphan)])
    if not result.dry_run and plan.changes == 0 and not counts["unschedulable"]:
        line = f"Nothing changed: {counts['unchanged']} series already match the config."
        if counts["orphaned"]:
            line += (
                f" {counts['orphaned']} series of cohorts no longer in the config are left "
                "as they are (see above)."
            )
        return line
    done = {"create": "created", "update": "updated", "end": "ended"}
    parts = []
    for kind in ("create", "update", "end", "unchanged", "unschedulable", "orphaned"):
        if counts[kind]:
            word = kind if result.dry_run else done.get(kind, kind)
            if result.dry_run and kind in done:
                word = f"to {kind}"
            parts.append(f"{counts[kind]} {word}")
    failed = f", {len(result.failed)} failed" if result.failed else ""
    return f"{total} pairs: {', '.join(parts)}{failed}."


def result_json(config: Config, provider: Provider, result: ScheduleResult) -> dict[str, Any]:
    check = result.clash_check
    items = []
    for item in result.plan.items:
        cohort, pair_id, names = _names(item, config)
        slot = getattr(item, "slot", None)
        key = (
            item.series.key
            if isinstance(item, End | Keep | Update | Orphan)
            else (item.spec.key if isinstance(item, Create) else None)
        )
        entry: dict[str, Any] = {
            "action": _action(item),
            "cohort": cohort,
            "pair": pair_id,
            "names": names,
            "series_key": key,
            "result": result.done.get(key or "", None),
            "error": result.failed.get(key or "", None),
        }
        if slot is not None:
            entry.update(
                slot=slot.describe(),
                timezone=slot.timezone,
                first=slot.first.isoformat(),
                sessions=len(slot.starts),
                rrule=slot.rrule,
                clashes=[
                    {"start": c.start.isoformat(), "busy": list(c.who)}
                    for c in _clashes(item, result.kept_clashes)
                ],
            )
        if isinstance(item, Unschedulable):
            entry["reason"] = item.reason
        if isinstance(item, Update):
            entry["changes"] = list(item.changes)
        if isinstance(item, End):
            entry["last"] = item.last.isoformat()
        if isinstance(item, Orphan):
            entry.update(reason=item.reason, next=item.next_start.isoformat())
        if isinstance(item, Create) and item.note:
            entry["note"] = item.note
        items.append(entry)
    return {
        "programme": config.programme.name,
        "provider": provider.name,
        "dry_run": result.dry_run,
        "counts": result.plan.counts(),
        "failed": result.failed,
        "undone": result.undone if not result.dry_run else [],
        "clash_check": None if check is None else asdict(check),
        "items": items,
        "summary": summary_line(result.plan, result),
    }
