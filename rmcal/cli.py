"""The ``rmcal`` command: parse, call the library, print. Errors become one line, here only.

Commands live in ``cli_*`` modules that add themselves to the ``main`` group; this module owns
the group, the options every command shares and the one place where ``RmcalError`` turns into
a message and an exit code (2 for config errors, 1 for provider/state errors, 3 for partial
success). Tracebacks appear only with ``--debug``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import update_wrapper
from pathlib import Path
from typing import Any, TypeVar

import click

from rmcal.errors import ProviderError, RmcalError
from rmcal.runtime import parse_now

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Options:
    """Options given before the command name (``rmcal --verbose tick``)."""

    verbose: bool = False
    debug: bool = False


class RmcalGroup(click.Group):
    """A group that translates rmcal's errors exactly once, for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RmcalError as exc:
            options = ctx.find_object(Options) or Options()
            if options.debug:
                raise
            message = exc.one_line()
            if options.verbose and isinstance(exc, ProviderError) and exc.detail:
                message += f" ({exc.detail})"
            click.echo(f"rmcal: error: {message}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=RmcalGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="More detail in messages and logs.")
@click.option("--debug", is_flag=True, help="Show tracebacks (for bug reports).")
@click.version_option(package_name="rmcal")
@click.pass_context
def main(ctx: click.Context, verbose: bool, debug: bool) -> None:
    """rmcal runs the calendar and e-mail side of reverse-mentoring programmes.

    Start with `rmcal validate --config config.example.yaml`, then
    `rmcal schedule --config config.example.yaml --dry-run`.
    """
    ctx.obj = Options(verbose=verbose, debug=debug)
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def config_option(func: F) -> F:
    """``--config`` (or ``RMCAL_CONFIG``), shared by every command that reads a programme."""
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="RMCAL_CONFIG",
        default="rmcal.yaml",
        show_default=True,
        help="The programme's YAML file.",
    )(func)


def now_option(func: F) -> F:
    """``--now`` (or ``RMCAL_NOW``): pretend it is this moment (ISO 8601)."""

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime:
        return parse_now(value)

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


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)


def pass_options(func: F) -> F:
    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        return ctx.invoke(func, ctx.find_object(Options) or Options(), *args, **kwargs)

    return update_wrapper(wrapper, func)  # type: ignore[return-value]


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


# Each module adds its commands to ``main`` on import; imported last so that they can use the
# group and the shared options defined above.
from rmcal import cli_auth, cli_loop, cli_schedule  # noqa: E402, F401
