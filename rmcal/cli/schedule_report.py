"""What ``rmcal schedule`` prints: the plan as a table, what cannot be placed, one summary line.

Kept apart from the command (``rmcal.cli.schedule``) so that the command module stays light
for ``rmcal --help``; this one needs the planner's types. The table holds short cells; anything
long (why a pair cannot be placed, which sessions clash) goes below it, one line per item, so
that a terminal or a cron mail never wraps a row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rmcal.model import Config
from rmcal.plan import (
    Cancel,
    Create,
    End,
    Item,
    Keep,
    Orphan,
    Plan,
    Unschedulable,
    Update,
    action,
)
from rmcal.provider import Provider
from rmcal.schedule import ScheduleResult
from rmcal.tables import format_table, plural


def _names(item: Item, config: Config) -> tuple[str, str, str]:
    """(cohort, pair id, "mentor / mentee") for a plan row."""
    if isinstance(item, End | Cancel | Orphan):
        return item.series.cohort_id, item.series.pair_id, item.series.title
    pair = item.pair
    return pair.cohort_id, pair.id, f"{pair.mentor.name} / {pair.mentee.name}"


DONE = {"create": "created", "update": "updated", "end": "ended", "cancel": "cancelled"}


def _action_done(item: Item, result: ScheduleResult) -> str:
    """The table's action column: what will happen in a dry run, what happened in a real one."""
    kind = action(item)
    if result.dry_run or kind not in DONE:
        return kind
    key = _key(item)
    if key in result.failed:
        return "failed"
    return DONE[kind]


def _key(item: Item) -> str | None:
    if isinstance(item, End | Cancel | Keep | Update | Orphan):
        return item.series.key
    if isinstance(item, Create):
        return item.spec.key
    return None


def _slot_text(item: Item) -> tuple[str, str, str]:
    slot = getattr(item, "slot", None)
    if slot is None:
        return "", "", ""
    return slot.describe(), slot.first.strftime("%Y-%m-%d"), str(len(slot.starts))


def _note(item: Item) -> str:
    if isinstance(item, Unschedulable):
        return "cannot be placed, see below"
    if isinstance(item, Update):
        return "changes: " + ", ".join(item.changes)
    if isinstance(item, End):
        return f"{item.reason}; last session {item.last:%Y-%m-%d %H:%M %Z}"
    if isinstance(item, Cancel):
        return f"{item.reason}; no session has taken place, so the series is cancelled"
    if isinstance(item, Orphan):
        return f"{item.reason}; next session {item.next_start:%Y-%m-%d %H:%M %Z}"
    if isinstance(item, Keep | Create) and item.note:
        return item.note
    slot = getattr(item, "slot", None)
    if slot is not None and slot.clashes:
        return f"{plural(len(slot.clashes), 'clashing session')}, see below"
    return ""


def render_result(config: Config, provider: Provider, result: ScheduleResult) -> str:
    """The admin's summary: one row per pair, then what cannot be placed and what clashes
    (one line each, below the table), then one summary line."""
    plan = result.plan
    lines = []
    verb = "Plan (dry run, nothing written)" if result.dry_run else "Schedule"
    lines.append(f"{verb} for {config.programme.name}, provider {provider.name}")
    rows = []
    for item in plan.items:
        cohort, _, names = _names(item, config)
        where, first, sessions = _slot_text(item)
        rows.append(
            [_action_done(item, result), cohort, names, where, first, sessions, _note(item)]
        )
    if rows:
        lines.append(
            format_table(
                ["action", "cohort", "pair (mentor / mentee)", "slot", "first", "sessions", "note"],
                rows,
            )
        )
    unplaced = plan.of(Unschedulable)
    if unplaced:
        lines.append(f"Cannot be placed ({plural(len(unplaced), 'pair')}):")
        for item in unplaced:
            cohort, _, names = _names(item, config)
            lines.append(f"  {names} ({cohort}): {item.reason}")
    clash_lines = []
    for item in plan.items:
        slot = getattr(item, "slot", None)
        if slot is None or not slot.clashes or isinstance(item, Keep):
            continue
        _, _, names = _names(item, config)
        clash_lines.append(f"  {names}:")
        for clash in slot.clashes:
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
    for key, why in sorted(result.failed.items()):
        lines.append(f"failed: {key}: {why}")
    lines.append(summary_line(plan, result))
    return "\n".join(lines)


def summary_line(plan: Plan, result: ScheduleResult) -> str:
    counts = plan.counts()
    total = len([i for i in plan.items if not isinstance(i, End | Cancel | Orphan)])
    if not result.dry_run and plan.changes == 0 and not counts["unschedulable"]:
        kept, orphaned = counts["unchanged"], counts["orphaned"]
        match = "matches" if kept == 1 else "match"
        line = f"Nothing changed: {kept} series already {match} the config."
        if orphaned:
            left = "is left as it is" if orphaned == 1 else "are left as they are"
            line += f" {orphaned} series of cohorts no longer in the config {left} (see above)."
        return line
    parts = []
    for kind in ("create", "update", "end", "cancel", "unchanged", "unschedulable", "orphaned"):
        count = counts[kind]
        if not count:
            continue
        if kind in DONE:
            if not result.dry_run:  # a failed write is counted once, as failed
                count -= sum(
                    1 for i in plan.items if action(i) == kind and _key(i) in result.failed
                )
            word = f"to {kind}" if result.dry_run else DONE[kind]
        else:
            word = kind
        if count:
            parts.append(f"{count} {word}")
    if result.failed:
        parts.append(f"{len(result.failed)} failed")
    return f"{plural(total, 'pair')}: {', '.join(parts)}."


def undone_message(result: ScheduleResult) -> str:
    """The closing line of a run that left something undone (exit 3)."""
    unplaced = len(result.plan.of(Unschedulable))
    parts = []
    if unplaced:
        parts.append(f"{plural(unplaced, 'pair')} cannot be placed")
    if result.failed:
        parts.append(f"{plural(len(result.failed), 'write')} failed")
    listed = " and ".join(parts) + " (listed above)"
    if result.dry_run:
        return (
            f"{listed}; schedule would leave {'it' if len(result.undone) == 1 else 'them'} undone"
        )
    return f"{listed}; fix what is listed and re-run schedule to finish"


def result_json(config: Config, provider: Provider, result: ScheduleResult) -> dict[str, Any]:
    items = []
    for item in result.plan.items:
        cohort, pair_id, names = _names(item, config)
        slot = getattr(item, "slot", None)
        key = _key(item)
        entry: dict[str, Any] = {
            "action": action(item),
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
                clashes=[{"start": c.start.isoformat(), "busy": list(c.who)} for c in slot.clashes],
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
        "items": items,
        "summary": summary_line(result.plan, result),
    }


def render_validation(config: Config, path: Path, report: dict[str, Any]) -> str:
    """``rmcal validate``'s report: the OK line, notes, and the pairs that cannot be placed."""
    cohorts = report["cohorts"]
    lines = [
        f"{path}: OK: {plural(report['pairs'], 'pair')} in {plural(cohorts, 'cohort')}, "
        f"provider {report['provider']}, {plural(len(report['templates']), 'template')} "
        f"rendered ({', '.join(report['templates'])})"
    ]
    lines.extend(f"  note: {note}" for note in report["notes"])
    for cohort in config.cohorts:
        if cohort.relative_start:
            day = f"{cohort.start:%a %d %b %Y}"
            lines.append(
                f"  note: cohort {cohort.id} starts {cohort.relative_start}: {day} if scheduled "
                "today; once scheduled, its first session in the calendar"
            )
    unplaceable = report["unplaceable"]
    if unplaceable:
        lines.append(
            f"{plural(len(unplaceable), 'pair')} of {report['pairs']} cannot be placed on "
            "their people's windows (free/busy not read):"
        )
        lines.extend(f"  {u['names']} ({u['cohort']}): {u['reason']}" for u in unplaceable)
    return "\n".join(lines)
