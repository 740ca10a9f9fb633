"""What every command shares: the global options object, the common flags, a progress bar.

Kept apart from ``rmcal.cli`` (the group) so that command modules import only this and the
library, never the group: ``rmcal.cli`` adds their commands to itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from rmcal.errors import ConfigError
from rmcal.tables import terminal_safe

if TYPE_CHECKING:
    from rmcal.model import Config

F = TypeVar("F", bound=Callable[..., Any])
# The years --now may pretend to be in: calendars, horizons and look-aheads add years to it.
EARLIEST_NOW, LATEST_NOW = 2000, 2999


@dataclass
class Options:
    """Options given before the command name (``rmcal --verbose tick``)."""

    verbose: bool = False
    debug: bool = False


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print for a person: the one way commands write text, so that every line passes
    ``terminal_safe`` (a name, an event title or a server's message may carry ESC, OSC or CR,
    which would rewrite the admin's terminal) exactly once, here."""
    click.echo(terminal_safe(text), err=err, nl=nl)


# Hands a command the ``Options`` of the ``rmcal`` group (defaults when invoked on its own).
pass_options = click.make_pass_decorator(Options, ensure=True)


CONFIG_NAME = "rmcal.yaml"
HOW_TO_NAME_A_CONFIG = (
    f"name one with -c FILE (or --config FILE), set RMCAL_CONFIG=FILE, or put {CONFIG_NAME} "
    "in this folder"
)


def _config_path(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """The config file, or one line saying how to name one when none is found."""
    if value.exists():
        return value
    source = ctx.get_parameter_source(param.name or "")
    if source is ParameterSource.DEFAULT:
        raise ConfigError(
            f"no config found: there is no {CONFIG_NAME} in {Path.cwd()}",
            hint=HOW_TO_NAME_A_CONFIG,
        )
    named = "RMCAL_CONFIG names" if source is ParameterSource.ENVIRONMENT else "--config names"
    raise ConfigError(f"no such file ({named} it)", file=str(value), hint=HOW_TO_NAME_A_CONFIG)


def config_option(func: F) -> F:
    """``--config`` (or ``RMCAL_CONFIG``), shared by every command that reads a programme.

    A plain path: the loader opens it (never blocking on a FIFO, refusing folders, devices and
    oversized files) and reports any problem as one ``file: what is wrong`` line, exit 2.
    """
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        envvar="RMCAL_CONFIG",
        default=CONFIG_NAME,
        show_default=True,
        callback=_config_path,
        help=f"The programme's YAML file (or RMCAL_CONFIG; default: {CONFIG_NAME} here).",
    )(func)


def now_option(func: F) -> F:
    """``--now`` (or ``RMCAL_NOW``): pretend it is this moment (ISO 8601)."""

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime:
        from rmcal.runtime import parse_now

        moment = parse_now(value)
        if not EARLIEST_NOW <= moment.year <= LATEST_NOW:
            raise ConfigError(
                f"{value!r} is not between the years {EARLIEST_NOW} and {LATEST_NOW}",
                key="--now",
                hint="check the year",
            )
        return moment

    return click.option(
        "--now",
        envvar="RMCAL_NOW",
        callback=callback,
        metavar="ISO-TIME",
        help="Act as if it were this moment (for demos, tests and backfills).",
    )(func)


def wait_option(func: F) -> F:
    """``--wait SECONDS``: how long to wait for another rmcal run holding the state file."""
    return click.option(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="Wait this long for another rmcal run on the same state file (else exit at once).",
    )(func)


def full_option(func: F) -> F:
    """``--full``: read the whole calendar, not only what changed since the last run."""
    return click.option(
        "--full",
        is_flag=True,
        help="Read the calendar in full instead of only its changes since the last run "
        "(sync tokens, delta links); the full read replaces what the state file kept.",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)


def load_running(config_path: Path, now: datetime | None = None) -> Config:
    """The config of a programme whose cohorts may be under way (a past start date is normal)."""
    from rmcal.config import load_config

    return load_config(config_path, now=now, force=True)


class LazyProgress:
    """A progress bar on stderr that appears once the total is known, and only on a terminal.

    Silent in pipes, cron mails, ``--json`` mode and tests: a scroll of lines helps nobody.
    """

    def __init__(self, label: str, *, enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None

    def start(self, total: int) -> None:
        if self.enabled and total and self._bar is None:
            self._bar = click.progressbar(
                length=total, label=self.label, file=sys.stderr, show_pos=True
            )
            self._bar.__enter__()

    def update(self, done: int) -> None:
        if self._bar is not None:
            self._bar.update(done)

    def __enter__(self) -> LazyProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
