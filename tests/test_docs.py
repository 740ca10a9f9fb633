"""Docs that tests keep honest: every command, template and config key is documented.

One test per command and per config key, so that one gap does not hide the next. The commands
come from the click group itself and the keys from the loader's own key tables, so a new command
or key fails here until the docs name it. A key counts as documented only as a whole key in the
right place (a code span in the row or section that describes its parent mapping), never as a
substring: ``id`` is not documented by the word "identity".
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from rmcal.cli import main
from rmcal.config import KEY_TABLES
from rmcal.templating import BUILTIN_DIR

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CONFIG_DOC = (ROOT / "docs" / "config.md").read_text()


# -- commands --------------------------------------------------------------------------------------


def _commands(group: click.Group, prefix: str = "rmcal") -> list[tuple[str, click.Command]]:
    found = []
    context = click.Context(group)
    for name in group.list_commands(context):  # the group loads its commands on demand
        command = group.get_command(context, name)
        assert command is not None, f"{prefix} {name} is listed but does not load"
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
        else:
            found.append((path, command))
    return found


COMMANDS = _commands(main)


def test_the_command_list_comes_from_the_click_group() -> None:
    assert len(COMMANDS) >= 8


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS])
def test_command_is_in_the_readme_commands_table(path: str) -> None:
    table = README.split("## Commands", 1)[1].split("\n## ", 1)[0]
    # A row for the whole command: its name followed by its arguments or the end of the span.
    row = re.compile(rf"^\| `{re.escape(path)}[ `]", re.MULTILINE)
    assert row.search(table), f"{path} has no row in README.md's Commands table"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_command_and_its_options_have_help(path: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"{path} has no help text"
    silent = [
        param.opts[0]
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not param.help
    ]
    assert not silent, f"{path}: options without help text: {', '.join(silent)}"


# -- templates and links ---------------------------------------------------------------------------

TEMPLATES = sorted({p.name.split(".")[0] for p in BUILTIN_DIR.glob("*.j2")})


def test_the_builtin_templates_are_the_expected_ones() -> None:
    assert {"invite", "agenda", "feedback", "nudge", "digest"} <= set(TEMPLATES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_builtin_template_is_listed_in_the_readme(name: str) -> None:
    line = next(line for line in README.splitlines() if line.startswith("templates/"))
    assert re.search(rf"\b{re.escape(name)}\b", line), f"template {name} is not in README.md"


def test_every_doc_the_readme_links_exists() -> None:
    targets = [t for t in re.findall(r"\]\(([^)#]+)\)", README) if "://" not in t]
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, f"README links to missing {', '.join(missing)}"


# -- config keys -----------------------------------------------------------------------------------
#
# Where each of the loader's key tables (by the path of the mapping it checks) is documented.
# README: the row of its config table that summarises the mapping, named by the row's first code
# span; the top level and ``programme`` have a row per key instead, so full paths are looked up.
# docs/config.md: the section whose table lists the mapping's keys, and the prefix its rows use.

README_ROWS = {
    "programme.organizer": "programme.organizer.email",
    "programme.leads[]": "programme.leads[]",
    "defaults": "defaults.*",
    "defaults.window": "defaults.*",
    "defaults.digest": "defaults.*",
    "defaults.thresholds": "defaults.*",
    "cohorts[]": "cohorts[]",
    "cohorts[].pairs[]": "cohorts[].pairs[]",
    "cohorts[].pairs[].mentor": "cohorts[].pairs[]",
    "matching": "matching.*",
    "matching.weights": "matching.*",
}
DEFAULTS_SECTION = "## `defaults`, and `settings:` in cohorts and pairs"
DOC_SECTIONS = {
    "programme": ("## `programme`", ""),
    "programme.organizer": ("## `programme`", "organizer."),
    "programme.leads[]": ("### `programme.leads`", ""),
    "defaults": (DEFAULTS_SECTION, ""),
    "defaults.window": ("### Windows", ""),
    "defaults.digest": (DEFAULTS_SECTION, "digest."),
    "defaults.thresholds": (DEFAULTS_SECTION, "thresholds."),
    "cohorts[]": ("## `cohorts`", ""),
    "cohorts[].pairs[]": ("## Pairs", ""),
    "cohorts[].pairs[].mentor": ("### People (`mentor:` and `mentee:`)", ""),
    "matching": ("## `matching`", ""),
    "matching.weights": ("## `matching`", "weights."),
}
KEYS = [(parent, key) for parent, keys in KEY_TABLES.items() for key in keys]
KEY_IDS = [f"{parent}.{key}" if parent else key for parent, key in KEYS]


def _spans(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def _name(span: str) -> str:
    """The key path a code span names: ``cohorts[].pairs[]`` -> ``cohorts.pairs``,
    ``.name`` -> ``name``, ``scope: all`` -> ``scope``; anything else gives ``""``."""
    match = re.match(r"\.?([a-z_][a-z_.*\[\]]*)", span)
    return match.group(1).replace("[]", "") if match else ""


def _readme_config_rows() -> list[list[str]]:
    """The README's config table (under "## The config file"), each row as its cells."""
    section = README.split("## The config file", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| `"):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def _sections(markdown: str) -> dict[str, list[str]]:
    """Each heading's lines up to the next heading; headings inside code fences do not count."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("#"):
            current = sections.setdefault(line.strip(), [])
        else:
            current.append(line)
    return sections


def test_every_key_table_has_a_place_in_the_docs() -> None:
    """A new key table in the loader needs a row in README and a section in docs/config.md."""
    nested = set(KEY_TABLES) - {"", "programme"}
    assert nested <= set(README_ROWS), nested - set(README_ROWS)
    assert set(KEY_TABLES) - {""} <= set(DOC_SECTIONS), set(KEY_TABLES) - set(DOC_SECTIONS)


@pytest.mark.parametrize(("parent", "key"), KEYS, ids=KEY_IDS)
def test_config_key_is_in_the_readme(parent: str, key: str) -> None:
    rows = _readme_config_rows()
    shown = f"{parent}.{key}" if parent else key
    full = _name(shown)
    first_cells = [_name(span) for row in rows for span in _spans(row[0])]
    if any(name == full or name.startswith(full + ".") for name in first_cells):
        return
    anchor = README_ROWS.get(parent)
    assert anchor is not None, f"config key {shown} has no row in README.md's config table"
    row = next((r for r in rows if _spans(r[0])[:1] == [anchor]), None)
    assert row is not None, f"README.md's config table has no row `{anchor}`"
    named = {_name(span) for cell in row for span in _spans(cell)}
    assert key in named, f"config key {shown} is not in README.md's `{anchor}` row"


@pytest.mark.parametrize(("parent", "key"), KEYS, ids=KEY_IDS)
def test_config_key_is_in_docs_config(parent: str, key: str) -> None:
    sections = _sections(CONFIG_DOC)
    if not parent:
        headings = [h for h in sections if h.startswith("## ") and _spans(h)[:1] == [key]]
        assert headings, f"docs/config.md has no section for the top-level key `{key}`"
        return
    heading, prefix = DOC_SECTIONS[parent]
    assert heading in sections, f"docs/config.md has no section {heading!r}"
    first_cells = [
        line.split("|")[1].strip() for line in sections[heading] if line.startswith("| ")
    ]
    # A mapping key may instead have a row per subkey (``organizer.email``, ``digest.time``).
    rows = [
        cell for cell in first_cells if re.fullmatch(rf"`{re.escape(prefix + key)}(\.\w+)?`", cell)
    ]
    assert rows, f"`{prefix}{key}` is not a row of the table under {heading!r} in docs/config.md"
