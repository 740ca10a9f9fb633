"""``rmcal validate`` and ``rmcal schedule``: the admin's commands.

The library is imported inside each command, so that ``rmcal --help`` stays fast; what the
plan looks like on screen lives in ``rmcal.cli.schedule_report``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

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
from rmcal.errors import PartialFailure
from rmcal.tables import plural


@click.command()
@config_option
@now_option
@click.option("--force", is_flag=True, help="Accept cohorts whose start date is in the past.")
@json_option
@pass_options
def validate(
    options: Options, config_path: Path, now: datetime, force: bool, as_json: bool
) -> None:
    """Check a config and render every template with sample data; touches no calendar.

    Also says how many pairs cannot be placed on their people's windows alone (a fixed slot
    that leaves someone's hours in a daylight-saving week, hours that never overlap): those
    exit 3, as schedule would. Free/busy is not read, so clashes are left to schedule.
    """
    from rmcal.cli.schedule_report import render_validation
    from rmcal.config import load_config
    from rmcal.runtime import clock_from, session
    from rmcal.store import Mode
    from rmcal.templating import TemplateEngine
    from rmcal.validation import validate_all

    config = load_config(config_path, now=now, force=force)
    with session(config, mode=Mode.MEMORY, clock=clock_from(now)) as run:
        report = validate_all(config, run.provider, TemplateEngine(config.templates_dir), now=now)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render_validation(config, config_path, report))
    if report["unplaceable"]:
        count = len(report["unplaceable"])
        raise PartialFailure(
            f"{plural(count, 'pair')} cannot be placed (listed above); schedule would leave "
            f"{'it' if count == 1 else 'them'} undone",
            [f"{u['pair']}: {u['reason']}" for u in report["unplaceable"]],
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
    wait: float,
    as_json: bool,
) -> None:
    """Give every pair a recurring invite in a slot that suits both, every session.

    The config is the desired state: new pairs get a series, changed ones are updated,
    removed ones end after their next session (never deleted). Re-running changes nothing.
    Series of a cohort that left the config (renamed or removed) are reported as orphaned
    and left running unless --end-orphans; two people who already meet under another cohort
    id get no second series unless --allow-duplicate-pair.
    """
    from rmcal.cli.schedule_report import render_result, result_json, undone_message
    from rmcal.runtime import check_cohorts, clock_from, session
    from rmcal.schedule import run_schedule
    from rmcal.store import Mode

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
        )
    if as_json:
        click.echo(json.dumps(result_json(config, provider, result), indent=2))
    else:
        click.echo(render_result(config, provider, result))
    # A dry run exits as the real run would: 3 when pairs would be left undone.
    if result.undone:
        raise PartialFailure(undone_message(result), result.undone)


COMMANDS = (validate, schedule)
