"""The session-loop commands: ``status``, ``tick``, ``digest``, ``feedback import``, ``demo``.

Thin wrappers, like the rest of the CLI: parse options, open a session, call the library
(``readings``, ``status``, ``tick``, ``digest``, ``feedback``, ``demo``), print. Errors become
one line and an exit code in ``rmcal.cli`` only.

Read-only commands (``status``, ``digest --preview``, ``tick --dry-run``) open the state file
without its lock, so they can run while a ``tick`` is sending; anything a provider wants to
remember during them (sync tokens) is kept in memory and dropped. The library is imported
inside each command, so that ``rmcal --help`` stays fast.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rmcal.cli.options import (
    LazyProgress,
    Options,
    config_option,
    echo,
    full_option,
    json_option,
    load_running,
    now_option,
    pass_options,
    wait_option,
)
from rmcal.errors import ConfigError, PartialFailure
from rmcal.tables import plural

if TYPE_CHECKING:
    from rmcal.model import Config, Lead


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
@click.option(
    "--sessions",
    is_flag=True,
    help="With --csv: one row per session (--json always lists every session).",
)
@click.option("--cohort", metavar="ID", help="Only this cohort.")
@click.option("--lead", metavar="EMAIL", help="Only the pairs this lead is responsible for.")
@click.option(
    "--tz",
    "zone",
    metavar="ZONE",
    help="Show every time in this IANA zone (default: each pair's mentee's zone).",
)
@full_option
@pass_options
def status(
    options: Options,
    config_path: Path,
    now: datetime,
    as_json: bool,
    as_csv_: bool,
    sessions: bool,
    cohort: str | None,
    lead: str | None,
    zone: str | None,
    full: bool,
) -> None:
    """How every pair keeps its cadence: state, periods held/due, streak, last and next.

    Times read as the mentee (who owns the agenda) sees them, in their zone, unless --tz
    names one zone for all. Reads the calendar (through the provider) and never writes:
    safe to run at any time.
    """
    from rmcal.readings import read_programme, select
    from rmcal.runtime import clock_from, session
    from rmcal.status import as_csv, as_sessions_csv, as_text, uncertain_text
    from rmcal.status import as_json as status_json
    from rmcal.store import MailStatus, Mode

    if as_json and as_csv_:
        raise click.UsageError("choose one of --json and --csv")
    if sessions and not as_csv_:
        raise click.UsageError("--sessions goes with --csv (--json always lists every session)")
    config = load_running(config_path, now)
    if zone is not None:
        zone = _zone_option(zone)
    cohorts = [cohort] if cohort else None
    _check_cohorts(config, cohorts or ())
    the_lead = _find_lead(config, lead)
    with session(config, mode=Mode.READ_ONLY, clock=clock_from(now), full_read=full) as run:
        readings = read_programme(config, run.provider, now, cohort_ids=cohorts)
        doubtful = run.store.mail_rows(MailStatus.UNCERTAIN)
    readings = select(readings, cohort=cohort, lead=the_lead)
    if cohort or the_lead:  # only the uncertain mail about the pairs shown (digests: the lead's)
        shown = {r.pair.id for r in readings}
        lead_key = f"digest:{the_lead.email}:" if the_lead else None
        doubtful = [
            row
            for row in doubtful
            if row.pair_id in shown or (lead_key and row.key.startswith(lead_key))
        ]
    if as_json:
        echo(status_json(readings, now, uncertain=doubtful, config_path=str(config_path)))
    elif as_csv_:
        echo((as_sessions_csv if sessions else as_csv)(readings), nl=False)
    else:
        echo(as_text(readings, zone=zone), nl=False)
        echo(uncertain_text(doubtful, str(config_path)), nl=False)


def _zone_option(zone: str) -> str:
    """``--tz``: an IANA zone, or the one-line config-style error with a did-you-mean."""
    from rmcal.config.values import zone_problem

    problem = zone_problem(zone)
    if problem is not None:
        message, hint = problem
        raise ConfigError(message, key="--tz", hint=hint)
    return zone


def _check_cohorts(config: Config, cohorts: list[str] | tuple[str, ...]) -> None:
    from rmcal.runtime import check_cohorts

    check_cohorts(config, cohorts)


# -- tick --------------------------------------------------------------------------------------


@click.command()
@config_option
@now_option
@click.option("--dry-run", is_flag=True, help="List what would be sent; send and record nothing.")
@click.option(
    "--baseline",
    is_flag=True,
    help="Record everything due now as done without sending it (after losing the state file).",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print nothing unless something failed (for cron, which mails what a job prints).",
)
@wait_option
@json_option
@full_option
@pass_options
def tick(
    options: Options,
    config_path: Path,
    now: datetime,
    dry_run: bool,
    baseline: bool,
    quiet: bool,
    wait: float,
    as_json: bool,
    full: bool,
) -> None:
    """Send what is due now (agenda, feedback, nudges, heads-ups, digests), each exactly once.

    Run it from cron every few minutes; running it late catches up on what is still useful
    and records the rest as skipped. Once a day (and on the run that sends a digest) it also
    reads free/busy for the sessions of the next clash_watch_days and sends a heads-up for
    each session someone has booked over.
    Prints one line per message sent or failed, the clash watch's line and one summary line
    (rmcal --verbose tick also lists what was skipped and why; --quiet prints only problems).
    """
    from rmcal.cli.tick_report import render_tick, undone_message
    from rmcal.runtime import clock_from, session
    from rmcal.store import Mode
    from rmcal.tick import run_tick

    config = load_running(config_path, now)
    mode = Mode.READ_ONLY if dry_run else Mode.LOCKED
    progress = LazyProgress("Sending", enabled=not as_json and not dry_run and not quiet)
    with (
        session(config, mode=mode, wait=wait, clock=clock_from(now), full_read=full) as run,
        progress as bar,
    ):
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
        echo(json.dumps(result.as_dict(), indent=2))
    else:
        # A baseline run is rare and deliberate: list everything it recorded as done.
        listed = options.verbose or baseline
        report = render_tick(result, config_path=str(config_path), verbose=listed, quiet=quiet)
        echo(report, nl=False)
    if result.undone:
        raise PartialFailure(undone_message(result), result.undone)


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
    from rmcal.clashes import NOTHING, read_watch
    from rmcal.digest import lead_digest
    from rmcal.errors import ProviderError
    from rmcal.messages import MessageBuilder
    from rmcal.outbox import Outbox, resolve_hint
    from rmcal.readings import read_programme, select
    from rmcal.runtime import clock_from, session
    from rmcal.store import MailStatus, Mode
    from rmcal.tick import send_digest_copy

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
            echo(f"note: no clash watch in this digest: {exc.one_line()}", err=True)
            watch = NOTHING
        report = lead_digest(the_lead, readings, now, run.store, clashes=watch.clashes)
        builder = MessageBuilder(config)
        if preview is not None:
            _write_preview(preview, builder.digest_html(report))
            echo(f"wrote {the_lead.name}'s digest ({report.summary}) to {preview}")
        if to is None:
            return
        outbox = Outbox(run.provider, run.store)
        delivery = send_digest_copy(outbox, builder, report, to, now)
    match delivery.status:
        case MailStatus.SENT:
            echo(f"sent {the_lead.name}'s digest to {to}")
        case MailStatus.UNCERTAIN:
            raise PartialFailure(
                f"the digest to {to} may or may not have been sent: {delivery.detail}; "
                + resolve_hint(str(config_path), delivery.key),
                [delivery.key],
            )
        case _:
            raise PartialFailure(
                f"sending the digest to {to} failed: {delivery.detail}", [delivery.key]
            )


def _write_preview(path: Path, html: str) -> None:
    """The digest's HTML at ``path``; a path the system refuses is one line, not a traceback."""
    from rmcal.config.files import check_path

    check_path(str(path), file=None, key="--preview")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot write {str(path)!r}: {exc.strerror or exc}", key="--preview"
        ) from None


# -- feedback import ---------------------------------------------------------------------------


@click.group()
def feedback() -> None:
    """Imported form answers (ratings and endorsement in the digest)."""


@feedback.command("import")
@config_option
@click.argument("csv_file", type=click.Path(path_type=Path), metavar="FILE.csv")
@wait_option
@pass_options
def feedback_import(options: Options, config_path: Path, csv_file: Path, wait: float) -> None:
    """Read a Microsoft Forms or Google Forms CSV export (see docs/session-loop.md).

    Importing the same export again changes nothing and says so: each answer counts as new,
    updated (the respondent changed it) or already imported.
    """
    from rmcal.feedback import import_feedback
    from rmcal.runtime import session
    from rmcal.store import Mode

    config = load_running(config_path)
    # A bad export (a ConfigError) leaves no state file behind when this run created it.
    with session(config, mode=Mode.LOCKED, wait=wait, discard_new_state=True) as run:
        result = import_feedback(csv_file, config.pairs, run.store)
    mapped = ", ".join(f"{name} <- {header!r}" for name, header in result.columns.items())
    stored = result.stored
    counts = [f"{stored.new} new"]
    if stored.updated:
        counts.append(f"{stored.updated} updated")
    counts.append(f"{stored.unchanged} already imported")
    echo(
        f"{csv_file}: {result.layout} layout; {plural(len(result.rows), 'answer')}: "
        + ", ".join(counts)
        + (f"; refused {plural(len(result.bad), 'row')}" if result.bad else "")
    )
    echo(f"  columns: {mapped}")
    for bad in result.bad:
        echo(f"  {csv_file}:{bad.line}: {bad.message}")
    if result.bad:
        raise PartialFailure(
            f"{plural(len(result.bad), 'row')} refused (listed above); fix them and import again",
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

    run_demo(folder, weeks=weeks, echo=echo)


COMMANDS = (status, tick, digest, feedback, demo)
