"""``rmcal state backup``, ``rmcal state export`` and ``rmcal forget``: the state file as data
about people, which an admin must be able to copy safely, hand over and erase."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rmcal.cli.options import (
    Options,
    config_option,
    json_option,
    load_running,
    now_option,
    pass_options,
    wait_option,
)
from rmcal.errors import ConfigError, PartialFailure, StateError
from rmcal.tables import plural

if TYPE_CHECKING:
    from rmcal.erasure import Subject


def subject_options(func: Any) -> Any:
    """``--person EMAIL`` or ``--cohort ID``: exactly one."""
    func = click.option("--cohort", metavar="ID", help="Everything about this cohort.")(func)
    return click.option(
        "--person", metavar="EMAIL", help="Everything about this person (any role)."
    )(func)


def _subject(person: str | None, cohort: str | None) -> Subject:
    from rmcal import erasure

    if (person is None) == (cohort is None):
        raise ConfigError(
            "name exactly one of --person EMAIL and --cohort ID", key="--person/--cohort"
        )
    return erasure.Subject(person=person.strip().lower() if person else None, cohort=cohort)


def _counts(counts: dict[str, int]) -> str:
    from rmcal.schema import TABLES

    return ", ".join(f"{counts[t]} {t}" for t in TABLES)


@click.group()
def state() -> None:
    """Back up or export the state file."""


@state.command("backup")
@config_option
@click.argument("target", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace FILE if it exists.")
@pass_options
def backup(options: Options, config_path: Path, target: Path, overwrite: bool) -> None:
    """Copy the state file to FILE, consistently, even while rmcal runs (SQLite backup API).

    Not cp: the file is in WAL mode and a plain copy taken during a run can be torn. The
    backup is one self-contained file, owner-only, checked before it is written.
    """
    from rmcal.backup import backup_state
    from rmcal.runtime import session
    from rmcal.store import Mode

    config = load_running(config_path)
    if not config.state_path.exists():
        raise StateError(f"there is no state file at {config.state_path} yet: nothing to back up")
    with session(config, mode=Mode.READ_ONLY) as run:
        done = backup_state(run.store, target, overwrite=overwrite)
    click.echo(
        f"Backed up {config.state_path} to {done.target} ({done.size} bytes, schema "
        f"{done.schema}: {_counts(done.rows)} rows)."
    )


@state.command("export")
@config_option
@subject_options
@now_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON here (owner-only) instead of to standard output.",
)
@pass_options
def export(
    options: Options,
    config_path: Path,
    person: str | None,
    cohort: str | None,
    now: datetime,
    output: Path | None,
) -> None:
    """Everything rmcal keeps about a person or a cohort, as JSON (a subject access request).

    Reads the state file (never locking it) and the calendar's series of that person or
    cohort; changes nothing.
    """
    from rmcal import erasure
    from rmcal.private import write_private
    from rmcal.runtime import clock_from, session
    from rmcal.store import Mode

    subject = _subject(person, cohort)
    config = load_running(config_path, now)
    with session(config, mode=Mode.READ_ONLY, clock=clock_from(now)) as run:
        found = erasure.find(run.store, subject, run.provider.find_all_series())
    text = json.dumps(erasure.export(found), indent=2, default=str) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    write_private(output, text.encode("utf-8"))
    click.echo(f"Wrote what rmcal keeps about {subject.label} to {output} (owner-only).")


@click.command()
@config_option
@subject_options
@click.option(
    "--end-series",
    is_flag=True,
    help="Also end their series in the calendar after the next session, as schedule would.",
)
@click.option(
    "--dry-run", is_flag=True, help="Say what would be deleted and ended; change nothing."
)
@now_option
@wait_option
@json_option
@pass_options
def forget(
    options: Options,
    config_path: Path,
    person: str | None,
    cohort: str | None,
    end_series: bool,
    dry_run: bool,
    now: datetime,
    wait: float,
    as_json: bool,
) -> None:
    """Delete what the state file keeps about a person or a cohort (erasure).

    Deletes their rows (series cache, mail ledger, snapshots, feedback, provider caches that
    mention them); with --end-series also ends their series through the normal plan/apply
    path. They must be out of the config first, or the next run would bring them back. Past
    sessions stay in everyone's calendar and sent mail in the organizer's mailbox.
    """
    from rmcal import erasure
    from rmcal.invite import EndingRenderer
    from rmcal.plan import Cancel, End, plan_ends
    from rmcal.runtime import clock_from, session
    from rmcal.schedule import apply_plan
    from rmcal.store import Mode
    from rmcal.templating import TemplateEngine

    subject = _subject(person, cohort)
    config = load_running(config_path, now)
    erasure.refuse_if_configured(config, subject)
    mode = Mode.READ_ONLY if dry_run else Mode.LOCKED
    with session(config, mode=mode, wait=wait, clock=clock_from(now)) as run:
        found = erasure.find(run.store, subject, run.provider.find_all_series())
        reason = f"{subject.label} forgotten"
        words = EndingRenderer(config, TemplateEngine(config.templates_dir))
        plan = plan_ends(found.series, now, reason, render_end=words.render)
        # The series cache is not written: its rows about the subject are deleted next.
        ended = apply_plan(plan, run.provider, None, dry_run=dry_run or not end_series)
        counts = found.counts() if dry_run else erasure.delete(run.store, found)
    stopping: list[End | Cancel] = [*plan.of(End), *plan.of(Cancel)]
    ends = stopping if end_series else []
    running = [] if end_series else stopping
    if as_json:
        report = {
            "subject": {"person": subject.person, "cohort": subject.cohort},
            "dry_run": dry_run,
            "pairs": sorted(found.pair_ids),
            "rows": counts,
            "series": [
                {
                    "series_key": e.series.key,
                    "last": e.last.isoformat() if isinstance(e, End) else None,
                    "cancelled": isinstance(e, Cancel),
                    "result": ended.done.get(e.series.key),
                    "error": ended.failed.get(e.series.key),
                }
                for e in ends
            ],
            "still_running": [e.series.key for e in running],
        }
        click.echo(json.dumps(report, indent=2))
    else:
        verb = "Would delete" if dry_run else "Deleted"
        click.echo(
            f"{verb} what rmcal keeps about {subject.label} "
            f"({plural(len(found.pair_ids), 'pair')}): "
            f"{_counts(counts)} rows."
        )
        for end in ends:
            key = end.series.key
            if isinstance(end, End):
                verb, done = "end", "ended"
                what = f"after its session on {end.last:%Y-%m-%d %H:%M %Z}"
            else:
                verb, done = "cancel", "cancelled"
                what = "(none of its sessions took place)"
            outcome = (
                f"would {verb}"
                if dry_run
                else (f"failed: {ended.failed[key]}" if key in ended.failed else done)
            )
            click.echo(f"  {outcome}: {end.series.title} {what}")
        if running:
            click.echo(
                f"  {len(running)} of their series still run in the calendar (--end-series ends "
                "them after their next session)."
            )
        click.echo(
            "Past sessions stay in everyone's calendar, and sent mail in the organizer's "
            "mailbox (the local provider: its outbox folder)."
        )
    if ended.failed:
        raise PartialFailure(
            f"{len(ended.failed)} series could not be ended; re-run rmcal forget --end-series",
            [f"{k}: {v}" for k, v in sorted(ended.failed.items())],
        )


COMMANDS = (state, forget)
