"""The ``rmcal`` command: parse, call the library, print. Errors become one line, here only.

Commands live in one module per family (``schedule``: validate and schedule; ``auth``;
``loop``: status, tick, digest, feedback, demo; ``state``: state backup and export, forget;
``outbox``: the mail ledger; ``match``) and are named in ``COMMANDS`` below; shared flags live
in ``rmcal.cli.options``. This module owns the group and the one place where ``RmcalError``
turns into a message and an exit code (2 for config errors, 1 for provider/state errors, 3 for
partial success: that one is an expected outcome, so it is not called an error). Tracebacks
appear only with ``--debug``.

Why lazy: ``rmcal --help`` and shell completion run often and should answer at once. A command
module is imported only when its command is asked for, and command modules import the library
(YAML, Jinja, SQLite, the planner, providers) inside the command's body, so listing the
commands costs click and a few small modules (``tests/test_cli_startup.py`` keeps it so;
``bench/cli_startup.py`` measures it).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click

from rmcal.cli.options import Options
from rmcal.errors import PartialFailure, ProviderError, RmcalError

# Every command: its name and where it lives (module, attribute), loaded on first use.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("rmcal.cli.schedule", "validate"),
    "schedule": ("rmcal.cli.schedule", "schedule"),
    "auth": ("rmcal.cli.auth", "auth"),
    "status": ("rmcal.cli.loop", "status"),
    "tick": ("rmcal.cli.loop", "tick"),
    "digest": ("rmcal.cli.loop", "digest"),
    "feedback": ("rmcal.cli.loop", "feedback"),
    "demo": ("rmcal.cli.loop", "demo"),
    "state": ("rmcal.cli.state", "state"),
    "forget": ("rmcal.cli.state", "forget"),
    "outbox": ("rmcal.cli.outbox", "outbox"),
    "match": ("rmcal.cli.match", "match"),
}


class RmcalGroup(click.Group):
    """A group that loads its commands on demand and translates rmcal's errors exactly once."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, name = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), name)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

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
            # Partial success is an outcome the run reports (exit 3), not a failure of rmcal.
            label = "rmcal: " if isinstance(exc, PartialFailure) else "rmcal: error: "
            click.echo(label + message, err=True)
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
