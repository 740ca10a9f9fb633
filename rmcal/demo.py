"""``rmcal demo``: a whole cohort's life in simulated time, in about ten seconds.

Why it exists: the session loop only shows its worth over weeks (agendas before sessions,
feedback after, a nudge when a pair drifts, a digest every Monday). The demo runs those weeks
on a scratch copy of ``config.example.yaml`` with the local provider, editing the calendar
the way people and their calendar apps do (a decline, two cancellations, a moved session), and
leaves everything on disk to open: the ``.ics`` calendars, the ``.eml`` outbox, the state file
and a digest preview per lead.

The edits go through the provider (``rmcal.provider.EditableCalendar``), which writes what a
calendar app would save: the core never touches a provider's files.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from rmcal import runtime
from rmcal.config import load_config
from rmcal.digest import lead_digest
from rmcal.errors import ConfigError, RmcalError
from rmcal.feedback import import_feedback
from rmcal.messages import MessageBuilder
from rmcal.model import Config, Pair
from rmcal.private import private_dir
from rmcal.provider import EditableCalendar, Provider
from rmcal.readings import PairReading, read_programme
from rmcal.schedule import run_schedule
from rmcal.status import as_text
from rmcal.store import Mode, Store, state_files
from rmcal.tick import TickResult, run_tick

# The simulated clock, a Monday: the example cohorts start "next Monday", Mon 11 Jan 2027.
DEMO_START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
TICK_EVERY = timedelta(hours=6)
# The file that says "an rmcal demo made this folder": only such a folder is ever reused.
MARKER = ".rmcal-demo"
MARKER_TEXT = (
    "This folder was made by `rmcal demo`. A new demo run in it deletes and rewrites\n"
    "config.yaml, local/, state.db* and the feedback export and digest previews.\n"
)
OWN_FILES = (
    "config.yaml",
    "local",
    "feedback-export.csv",
    *(part.name for part in state_files(Path("state.db"))),
)


# -- the demo ------------------------------------------------------------------------------


def example_config() -> Path:
    """``config.example.yaml``: beside the package in a checkout, else the copy shipped with it."""
    packaged = Path(str(files("rmcal"))) / "data" / "config.example.yaml"
    here = Path(str(files("rmcal"))).parent / "config.example.yaml"
    for candidate in (here, packaged, Path.cwd() / "config.example.yaml"):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        "cannot find config.example.yaml",
        hint="run rmcal demo from a checkout of rmcal (the file sits at its top level)",
    )


def claim_folder(folder: Path | None) -> Path:
    """The demo's folder, absolute: a new one, an empty one, or one an earlier demo made.

    Why so careful: the demo rewrites ``config.yaml``, ``local/`` and ``state.db`` in its
    folder. A folder holding anything else belongs to someone, so the demo refuses it rather
    than overwrite a real config or state file; the folders it makes carry ``MARKER``.
    """
    if folder is None:
        made = Path(tempfile.mkdtemp(prefix="rmcal-demo-"))
        (made / MARKER).write_text(MARKER_TEXT, "utf-8")
        return made.resolve()
    target = folder.expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{target} is a file", key="--dir", hint="name a folder for the demo")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise ConfigError(
            f"{target} is not empty and was not made by rmcal demo; nothing was changed",
            key="--dir",
            hint="name a new or empty folder (rmcal demo only reuses folders it made itself)",
        )
    private_dir(target)
    (target / MARKER).write_text(MARKER_TEXT, "utf-8")
    for name in OWN_FILES:
        path = target / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    for preview in target.glob("digest-*.html"):
        preview.unlink()
    return target


def prepare(folder: Path, source: Path | None = None) -> Path:
    """A scratch copy of the example config whose calendar, outbox and state live in ``folder``.

    The paths it writes are relative, so they resolve against the config's own folder (the
    loader's rule) wherever the folder is, and the copy can be moved as a whole.
    """
    private_dir(folder)
    data: dict[str, Any] = yaml.safe_load((source or example_config()).read_text("utf-8"))
    data["provider"] = {"kind": "local", "folder": "./local"}
    data["state"] = "./state.db"
    data.get("programme", {}).pop("templates", None)
    target = folder / "config.yaml"
    header = "# rmcal demo: a scratch copy of config.example.yaml (comments dropped)\n"
    target.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    return target


def series_key(provider: Provider, pair: Pair) -> str:
    """The key of a pair's series, as the calendar itself says (rmcal's tag on the event)."""
    for series in provider.find_series(pair.cohort_id):
        if series.pair_id == pair.id:
            return series.key
    raise RmcalError(f"no series for pair {pair.id} in the {provider.name} calendar")


def _pair(config: Config, mentor_email: str) -> Pair:
    for pair in config.pairs:
        if pair.mentor.email == mentor_email:
            return pair
    raise KeyError(mentor_email)


def play_scenes(config: Config, provider: Provider) -> list[str]:
    """The people's edits of the demo: two declines, two cancellations, one move."""
    if not isinstance(provider, EditableCalendar):
        raise RmcalError(f"the demo edits calendars as people do; {provider.name} cannot")
    notes = []
    priya = _pair(config, "priya.shah@northwind.example")
    when = provider.decline_session(series_key(provider, priya), 2, priya.mentee.email)
    notes.append(
        f"{priya.mentee.name} declined session 2 ({when:%a %d %b}) with {priya.mentor.name}"
    )

    jasmine = _pair(config, "jasmine.ortiz@northwind.example")
    key = series_key(provider, jasmine)
    when = provider.cancel_session(key, 2, how="status")
    notes.append(
        f"{jasmine.mentor.name} & {jasmine.mentee.name}: session 2 ({when:%a %d %b}) cancelled "
        "(override with STATUS:CANCELLED)"
    )
    when = provider.cancel_session(key, 3, how="exdate")
    notes.append(
        f"{jasmine.mentor.name} & {jasmine.mentee.name}: session 3 ({when:%a %d %b}) cancelled "
        "(EXDATE)"
    )

    tom = _pair(config, "tom.reid@northwind.example")
    before, after = provider.move_session(series_key(provider, tom), 2, timedelta(days=2))
    notes.append(
        f"{tom.mentor.name} & {tom.mentee.name}: session 2 moved from {before:%a %d %b %H:%M} "
        f"to {after:%a %d %b %H:%M %Z} (same cadence period)"
    )

    daniel = _pair(config, "daniel.ng@northwind.example")
    when = provider.decline_session(series_key(provider, daniel), 3, daniel.mentor.email)
    notes.append(
        f"{daniel.mentor.name} declined session 3 ({when:%a %d %b}) with {daniel.mentee.name}"
    )
    return notes


def feedback_csv(readings: list[PairReading], now: datetime) -> str:
    """A Google Forms export with answers for every session held before ``now`` (and one
    malformed row, to show how bad rows are reported)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "Timestamp",
            "Email Address",
            "Pair",
            "Session",
            "How would you rate this session? (1-5)",
            "Would you recommend the programme to a colleague?",
            "What is working?",
            "What is awkward?",
            "One thing you learned",
        ]
    )
    count = 0
    for reading in readings:
        for session in reading.health.sessions:
            if not session.held or session.end > now:
                continue
            for person in reading.pair.people:
                count += 1
                stamp = session.end + timedelta(hours=3, minutes=count)
                writer.writerow(
                    [
                        stamp.strftime("%Y/%m/%d %I:%M:%S %p GMT"),
                        person.email,
                        reading.pair.id,
                        session.number,
                        5 if count % 3 else 4,
                        "No" if count % 17 == 0 else "Yes",
                        "Hands-on examples from real work",
                        "Finding a slot that suits both time zones" if count % 4 == 0 else "",
                        "How my team actually uses chat and AI tools",
                    ]
                )
    writer.writerow(
        ["2027/02/01 9:00:00 AM GMT", "someone@northwind.example", "no-such-pair", "2", "great"]
    )
    return out.getvalue()


def _ticks(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    moment = start
    while moment <= end:
        yield moment
        moment += step


def run_demo(
    folder: Path | None,
    *,
    weeks: int = 7,
    echo: Callable[[str], None] = print,
    step: timedelta = TICK_EVERY,
) -> dict[str, Any]:
    """Run the demo in ``folder`` (a new temporary folder when None); returns where things are."""
    folder = claim_folder(folder)
    config_path = prepare(folder)
    now = DEMO_START
    config = load_config(config_path, now=now)
    echo(f"rmcal demo: {config.programme.name}, {len(config.pairs)} pairs, in {folder}")

    totals: Counter[str] = Counter()
    skipped = 0
    end = now + timedelta(weeks=weeks)
    # The simulated clock: everything stamped during the demo (ledger rows, file dates) reads
    # the simulated moment, as it would under ``--now``.
    moment = now

    def clock() -> datetime:
        return moment

    with runtime.session(config, mode=Mode.LOCKED, clock=clock, echo=echo) as run:
        store, provider = run.store, run.provider
        scheduled = run_schedule(config, provider, store, now=now)
        echo(
            f"1. scheduled at {now:%a %d %b %Y %H:%M} UTC: {len(scheduled.done)} series "
            f"in {Path(str(config.provider.settings['folder'])) / 'calendars'}"
        )
        if scheduled.undone:
            raise RmcalError("the demo could not schedule: " + "; ".join(scheduled.undone))
        echo("2. edited the calendar files as people would:")
        for note in play_scenes(config, provider):
            echo(f"   - {note}")
        feedback_at = now + timedelta(weeks=min(4, weeks))
        imported = False
        result: TickResult | None = None
        for moment in _ticks(now, end, step):
            result = run_tick(config, provider, store, now=moment, retry_delay=0)
            totals.update(line.kind for line in result.sent + result.resent)
            skipped += len(result.skipped)
            if result.undone:
                raise RmcalError("the demo's tick failed: " + "; ".join(result.undone))
            if not imported and moment >= feedback_at:
                imported = True
                _import(folder, config, provider, store, moment, echo)
        echo(
            f"3. ticked every {step.total_seconds() / 3600:g} h from {now:%d %b} to "
            f"{end:%d %b %Y}: {sum(totals.values())} e-mails sent ("
            + ", ".join(f"{totals[k]} {k}" for k in ("agenda", "feedback", "nudge", "digest"))
            + f"), {skipped} recorded as skipped (cancelled, declined or stale)"
        )
        moment = end
        _import(folder, config, provider, store, end, echo, final=True)
        readings = read_programme(config, provider, end)
        builder = MessageBuilder(config)
        previews = []
        for lead in config.programme.leads:
            digest = lead_digest(lead, readings, end, store)
            target = folder / f"digest-{lead.email.split('@')[0]}.html"
            target.write_text(builder.digest_html(digest), "utf-8")
            previews.append(target)
    outbox = Path(str(config.provider.settings["folder"])) / "outbox"
    echo(f"5. status at {end:%a %d %b %Y %H:%M} UTC:")
    echo(as_text(readings).rstrip())
    echo("")
    echo("Open:")
    echo(f"  outbox          {outbox}  ({len(list(outbox.glob('*.eml')))} .eml files)")
    for path in previews:
        echo(f"  digest preview  {path}")
    echo(f"  calendars       {outbox.parent / 'calendars'}")
    echo(f"  config, state   {config_path}, {config.state_path}")
    echo(f"Try: rmcal status --config {config_path} --now {end.isoformat()}")
    return {
        "folder": folder,
        "config": config_path,
        "outbox": outbox,
        "previews": previews,
        "end": end,
        "sent": dict(totals),
    }


def _import(
    folder: Path,
    config: Config,
    provider: Any,
    store: Store,
    moment: datetime,
    echo: Callable[[str], None],
    final: bool = False,
) -> None:
    readings = read_programme(config, provider, moment)
    path = folder / "feedback-export.csv"
    path.write_text(feedback_csv(readings, moment), "utf-8")
    result = import_feedback(path, config.pairs, store)
    if final:
        bad = "; ".join(f"line {b.line}: {b.message}" for b in result.bad)
        echo(
            f"4. imported {path.name} ({result.layout} layout): {len(result.rows)} answers; "
            f"refused {len(result.bad)} ({bad})"
        )
