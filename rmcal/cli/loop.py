"""The session-loop commands: ``status``, ``tick``, ``digest``, ``feedback import``, ``demo``.

Thin wrappers, like the rest of the CLI: parse options, open a session, call the library
(``readings``, ``status``, ``tick``, ``digest``, ``feedback``, ``demo``), print. Errors become
one line and an exit code in ``rmcal.cli`` only.

Read-only commands (``status``, ``digest --preview``, ``tick --dry-run``) open the state file
without its lock, so they can run while a ``tick`` is sending; anything a provider wants to
remember during them (sync tokens) is kept in memory and dropped.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from rmcal.clashes import NOTHING, read_watch
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
from rmcal.digest import lead_digest
from rmcal.errors import ConfigError, PartialFailure, ProviderError
from rmcal.feedback import import_feedback
from rmcal.messages import MessageBuilder
from rmcal.model import Config, Lead
from rmcal.outbox import Outbox
from rmcal.readings import read_programme, select
from rmcal.runtime import check_cohorts, clock_from, session
from rmcal.status import as_csv, as_text
from rmcal.status import as_json as status_json
from rmcal.store import MailStatus, Mode
from rmcal.tick import Line, TickResult, headsup_key, run_tick, send_digest_copy


def _find_lead(config: Config, email: str | None, option: str = "--lead") -> Lead | None:
    if email is None:
        return None
    for lead in config.programme.leads:
        if lead.email == email.strip().lower():
            return lead
    known = ", ".join(lead.email for lead in config.programme.leads) or "none"
    raise ConfigError(f"no lead {email!r}", key=option, hint=f"leads in the config: {known}")


# -- status ------------------------------------------------------------------------------------


@click.command()
@config_option
@now_option
@json_option
@click.option("--csv", "as_csv_", is_flag=True, help="Print the pairs as CSV.")
@click.option("--cohort", metavar="ID", help="Only this cohort.")
@click.option("--lead", metavar="EMAIL", help="Only the pairs this lead is responsible for.")
@pass_options
def status(
    options: Options,
    config_path: Path,
    now: datetime,
    as_json: bool,
    as_csv_: bool,
    cohort: str | None,
    lead: str | None,
) -> None:
    """How every pair keeps its cadence: state, sessions held/due, streak, last and next.

    Reads the calendar (through the provider) and never writes: safe to run at any time.
    """
    if as_json and as_csv_:
        raise click.UsageError("choose one of --json and --csv")
    config = load_running(config_path, now)
    cohorts = [cohort] if cohort else None
    check_cohorts(config, cohorts or ())
    the_lead = _find_lead(config, lead)
    with session(config, mode=Mode.READ_ONLY, clock=clock_from(now)) as run:
        readings = read_programme(config, run.provider, now, cohort_ids=cohorts)
    readings = select(readings, cohort=cohort, lead=the_lead)
    if as_json:
        click.echo(status_json(readings, now))
    elif as_csv_:
        click.echo(as_csv(readings), nl=False)
    else:
        click.echo(as_text(readings, config.programme.timezone), nl=False)


# -- tick --------------------------------------------------------------------------------------


def _format_line(status: str, line: Line) -> str:
    who = ", ".join(line.recipients)
    text = f"  {status:<10} {line.kind:<9} {line.key}"
    if who:
        text += f"\n{'':13}to {who}: {line.subject}"
    if line.detail:
        text += f"\n{'':13}{line.detail}"
    return text


def render_tick(result: TickResult) -> str:
    """The operator's report: replies read, then one block per message, then a summary line."""
    lines: list[str] = []
    unread = []
    if result.replies_failed is not None:
        unread = [Line("replies", "reply", detail=result.replies_failed)]
    replies = [
        ("to apply" if result.dry_run else "applied", result.reply_lines(applied=True)),
        ("ignored", result.reply_lines(applied=False)),
        ("FAILED", unread),
    ]
    messages = [
        ("would send" if result.dry_run else "sent", result.would_send or result.sent),
        ("re-sent", result.resent),
        ("skipped", result.skipped),
        ("FAILED", result.failed),
        ("UNCERTAIN", result.uncertain),
    ]
    for status, items in replies + messages:
        lines.extend(_format_line(status, item) for item in items)
    lines.extend(_watch_lines(result))
    counts = [
        f"{len(items)} {'reply' if len(items) == 1 else 'replies'} "
        + ("unread" if status == "FAILED" else status)
        for status, items in replies
        if items
    ]
    counts += [f"{len(items)} {status.lower()}" for status, items in messages if items]
    head = f"tick at {result.now.isoformat()}{' (dry run)' if result.dry_run else ''}: "
    lines.append(head + (", ".join(counts) if counts else "nothing due"))
    return "\n".join(lines) + "\n"


def _watch_lines(result: TickResult) -> list[str]:
    """What the clash watch read and found, in one or two lines."""
    if result.watch_failed is not None:
        return [f"  FAILED     clash watch: {result.watch_failed}"]
    watch = result.watch
    if watch.window is None:
        return []
    clashes = len(watch.clashes)
    found = f"{clashes} clash{'es' if clashes != 1 else ''}" if clashes else "no clash"
    this_run = {line.key for line in result.would_send + result.sent + result.failed}
    this_run |= {line.key for line in result.uncertain + result.skipped}
    earlier = sum(headsup_key(c) not in this_run for c in watch.clashes)
    if earlier:
        found += f" ({earlier} told on an earlier run)" if earlier < clashes else ", told earlier"
    sessions = f"{watch.sessions} session{'s' if watch.sessions != 1 else ''}"
    pairs = f"{watch.pairs} pair{'s' if watch.pairs != 1 else ''}"
    lines = [
        f"  clash watch: {sessions} of {pairs} (free/busy of {watch.people} people until "
        f"{watch.window[1]:%Y-%m-%d}): {found}"
    ]
    if watch.unknown:
        lines.append(f"{'':13}free/busy unknown (not checked): {', '.join(watch.unknown)}")
    return lines


@click.command()
@config_option
@now_option
@click.option("--dry-run", is_flag=True, help="List what would be sent; send and record nothing.")
@click.option(
    "--baseline",
    is_flag=True,
    help="Record everything due now as done without sending it (after losing the state file).",
)
@wait_option
@json_option
@pass_options
def tick(
    options: Options,
    config_path: Path,
    now: datetime,
    dry_run: bool,
    baseline: bool,
    wait: float,
    as_json: bool,
) -> None:
    """Send what is due now (agenda, feedback, nudges, heads-ups, digests), each exactly once.

    Run it from cron every few minutes; running it late catches up on what is still useful
    and records the rest as skipped. Each run also reads free/busy for the sessions of the
    next clash_watch_days and sends a heads-up for each session someone has booked over.
    """
    config = load_running(config_path, now)
    mode = Mode.READ_ONLY if dry_run else Mode.LOCKED
    progress = LazyProgress("Sending", enabled=not as_json and not dry_run)
    with session(config, mode=mode, wait=wait, clock=clock_from(now)) as run, progress as bar:
        result = run_tick(
            config,
            run.provider,
            run.store,
            now=now,
            dry_run=dry_run,
            baseline=baseline,
            progress=bar.update,
            on_start=bar.start,
        )
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        click.echo(render_tick(result), nl=False)
    if result.undone:
        problems = []
        if result.failed or result.uncertain:
            problems.append(
                f"{len(result.failed)} message(s) failed and {len(result.uncertain)} may or may "
                "not have been sent"
            )
        if result.replies_failed is not None:
            problems.append("replies could not be read")
        if result.watch_failed is not None:
            problems.append("free/busy for the clash watch could not be read")
        retry = "retry the failed ones" if result.failed or result.uncertain else "read them again"
        raise PartialFailure(
            " and ".join(problems) + f" (listed above); re-run tick to {retry}", result.undone
        )


# -- digest on demand --------------------------------------------------------------------------


@click.command()
@config_option
@now_option
@click.option(
    "--preview",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE.html",
    help="Write the digest's HTML to this file.",
)
@click.option("--lead", metavar="EMAIL", help="Whose digest (default: the first lead).")
@click.option("--to", "to", metavar="ADDRESS", help="Also send it to this address now.")
@pass_options
def digest(
    options: Options,
    config_path: Path,
    now: datetime,
    preview: Path | None,
    lead: str | None,
    to: str | None,
) -> None:
    """Show a lead's weekly digest now, without waiting for the weekday."""
    if preview is None and to is None:
        raise click.UsageError("give --preview FILE.html, --to ADDRESS or both")
    config = load_running(config_path, now)
    the_lead = _find_lead(config, lead)
    if the_lead is None:
        if not config.programme.leads:
            raise ConfigError("the programme has no leads", key="programme.leads")
        the_lead = config.programme.leads[0]
    mode = Mode.READ_ONLY if to is None else Mode.LOCKED
    with session(config, mode=mode, clock=clock_from(now)) as run:
        readings = read_programme(config, run.provider, now)
        try:
            watch = read_watch(run.provider, select(readings, lead=the_lead), now)
        except ProviderError as exc:  # the digest without its clashes beats no digest
            click.echo(f"note: no clash watch in this digest: {exc.one_line()}", err=True)
            watch = NOTHING
        report = lead_digest(the_lead, readings, now, run.store, clashes=watch.clashes)
        builder = MessageBuilder(config)
        if preview is not None:
            preview.parent.mkdir(parents=True, exist_ok=True)
            preview.write_text(builder.digest_html(report), encoding="utf-8")
            click.echo(f"wrote {the_lead.name}'s digest ({report.summary}) to {preview}")
        if to is None:
            return
        outbox = Outbox(run.provider, run.store)
        delivery = send_digest_copy(outbox, builder, report, to, now)
    match delivery.status:
        case MailStatus.SENT:
            click.echo(f"sent {the_lead.name}'s digest to {to}")
        case MailStatus.UNCERTAIN:
            raise PartialFailure(
                f"the digest to {to} may or may not have been sent: {delivery.detail}; "
                "check the organizer's sent items",
                [delivery.key],
            )
        case _:
            raise PartialFailure(
                f"sending the digest to {to} failed: {delivery.detail}", [delivery.key]
            )


# -- feedback import ---------------------------------------------------------------------------


@click.group()
def feedback() -> None:
    """Imported form answers (ratings and endorsement in the digest)."""


@feedback.command("import")
@config_option
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.csv")
@wait_option
@pass_options
def feedback_import(options: Options, config_path: Path, csv_file: Path, wait: float) -> None:
    """Read a Microsoft Forms or Google Forms CSV export (see docs/session-loop.md)."""
    config = load_running(config_path)
    with session(config, mode=Mode.LOCKED, wait=wait) as run:
        result = import_feedback(csv_file, config.pairs, run.store)
    mapped = ", ".join(f"{name} <- {header!r}" for name, header in result.columns.items())
    click.echo(
        f"{csv_file}: {result.layout} layout; imported {len(result.rows)} answer(s)"
        + (f", refused {len(result.bad)}" if result.bad else "")
    )
    click.echo(f"  columns: {mapped}")
    for bad in result.bad:
        click.echo(f"  {csv_file}:{bad.line}: {bad.message}")
    if result.bad:
        raise PartialFailure(
            f"{len(result.bad)} row(s) refused (listed above); fix them and import again",
            [f"line {b.line}" for b in result.bad],
        )


# -- demo --------------------------------------------------------------------------------------


@click.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to put the demo (default: a new temporary folder).",
)
@click.option(
    "--weeks",
    type=click.IntRange(1, 30),
    default=7,
    show_default=True,
    help="How many simulated weeks to run.",
)
@pass_options
def demo(options: Options, folder: Path | None, weeks: int) -> None:
    """Run a whole cohort's life in simulated time on the local provider (about ten seconds).

    Schedules a scratch copy of the example programme, edits the calendar files as people
    would (a decline, a cancellation, a moved session), ticks through the weeks, imports some
    feedback and leaves the outbox and a digest preview to open.
    """
    from rmcal.demo import run_demo

    run_demo(folder, weeks=weeks, echo=click.echo)


COMMANDS = (status, tick, digest, feedback, demo)
