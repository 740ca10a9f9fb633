"""Docs that tests keep honest: every command and template is documented, help texts exist."""

from pathlib import Path

import click

from rmcal.cli import main
from rmcal.templating import BUILTIN_DIR

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _commands(group: click.Group, prefix: str = "rmcal") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
        else:
            found.append((path, command))
    return found


def test_every_command_is_in_the_readme_and_has_help():
    commands = _commands(main)
    assert len(commands) >= 8
    for path, command in commands:
        assert f"`{path}" in README, f"{path} is not documented in README.md"
        assert (command.help or "").strip(), f"{path} has no help text"
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"{path} {param.opts[0]} has no help text"


def test_every_builtin_template_is_listed_in_the_readme():
    names = {p.name.split(".")[0] for p in BUILTIN_DIR.glob("*.j2")}
    assert {"invite", "agenda", "feedback", "nudge", "digest"} <= names
    line = next(line for line in README.splitlines() if line.startswith("templates/"))
    for name in names:
        assert name in line, f"template {name} is not listed in README.md's layout"


def test_every_doc_the_readme_links_exists():
    import re

    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), f"README links to missing {target}"


def test_every_config_key_is_in_the_readme_and_in_docs_config():
    from rmcal import config

    reference = (ROOT / "docs" / "config.md").read_text()
    groups = [
        config.TOP_KEYS, config.PROGRAMME_KEYS, config.ORGANIZER_KEYS, config.LEAD_KEYS,
        config.SETTINGS_KEYS, config.WINDOW_KEYS, config.DIGEST_KEYS, config.THRESHOLD_KEYS,
        config.COHORT_KEYS, config.PAIR_KEYS, config.PERSON_KEYS,
    ]  # fmt: skip
    for keys in groups:
        for key in keys:
            assert f"`{key}" in reference or f".{key}`" in reference, f"{key} not in docs/config.md"
            assert key in README, f"config key {key} is not mentioned in README.md"
