"""``rmcal --help`` stays quick: the group loads commands on demand and commands load the library
inside their bodies. Speed itself is measured by ``bench/cli_startup.py``, never asserted here;
what is asserted is the cause: which modules a help screen imports."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from rmcal.cli import COMMANDS, main

# Modules that make a help screen slow (YAML, Jinja, iCalendar, SQLite, the planner, the
# providers' HTTP clients): none may load just to print help.
HEAVY = (
    "yaml",
    "jinja2",
    "icalendar",
    "dateutil",
    "sqlite3",
    "requests",
    "msal",
    "googleapiclient",
    "numpy",
    "scipy",
    "rmcal.config",
    "rmcal.model",
    "rmcal.plan",
    "rmcal.store",
    "rmcal.digest",
    "rmcal.provider",
    "rmcal_providers",
)

PROBE = """
import json, sys
from rmcal.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded_by(argv: list[str]) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Usage:" in run.stdout
    return json.loads(run.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["schedule", "--help"],
        ["tick", "--help"],
        ["state", "--help"],
        ["outbox", "--help"],
        ["outbox", "list", "--help"],
    ],
)
def test_a_help_screen_imports_none_of_the_heavy_modules(argv: list[str]) -> None:
    modules = loaded_by(argv)
    heavy = [m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY]
    heavy += [m for m in modules if any(m.startswith(h + ".") for h in HEAVY)]
    assert not heavy, f"rmcal {' '.join(argv)} imports {sorted(set(heavy))}"


def test_the_lazy_table_names_every_command_each_module_defines() -> None:
    defined = {}
    for module in {module for module, _ in COMMANDS.values()}:
        for command in importlib.import_module(module).COMMANDS:
            defined[command.name] = (module, command.callback.__name__ if command.callback else "")
    assert set(defined) == set(COMMANDS)
    context = click.Context(main)
    for name in COMMANDS:
        command = main.get_command(context, name)
        assert command is not None and command.name == name


def test_outbox_list_offers_every_ledger_status() -> None:
    """``--status`` choices are written out (a help screen must not load the state module)."""
    from rmcal.cli.outbox import MAIL_STATUSES
    from rmcal.store import MailStatus

    assert tuple(str(status) for status in MailStatus) == MAIL_STATUSES


def test_an_unknown_command_is_still_a_usage_error() -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["shedule"])
    assert result.exit_code == 2
    assert "No such command 'shedule'" in result.output


def complete(words: str) -> list[str]:
    """What bash completion offers after ``words`` (the last word is being typed)."""
    env = {
        **os.environ,
        "_RMCAL_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - 1),
    }
    run = subprocess.run(
        [sys.executable, "-c", "from rmcal.cli import main; main(prog_name='rmcal')"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return run.stdout.split()


def test_shell_completion_works_as_the_readme_says() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert 'eval "$(_RMCAL_COMPLETE=bash_source rmcal)"' in readme
    assert complete("rmcal sch") == ["plain,schedule"]
    assert complete("rmcal tick --qu") == ["plain,--quiet"]
