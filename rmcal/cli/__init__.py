"""The ``rmcal`` command: parse, call the library, print. Errors become one line, here only.

Commands live in one module per family (``schedule``: validate and schedule; ``auth``;
``loop``: status, tick, digest, feedback, demo) and are added to the ``main`` group below;
shared flags live in ``rmcal.cli.options``. This module owns the group and the one place where
``RmcalError`` turns into a message and an exit code (2 for config errors, 1 for
provider/state errors, 3 for partial success). Tracebacks appear only with ``--debug``.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from rmcal.cli import auth, loop, schedule
from rmcal.cli.options import Options, echo
from rmcal.errors import ProviderError, RmcalError


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
            echo(f"rmcal: error: {message}", err=True)
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


for _command in (*schedule.COMMANDS, *auth.COMMANDS, *loop.COMMANDS):
    main.add_command(_command)
