"""Pairs from an HR export (``pairs_csv:``): CSV rows turned into pair nodes.

Why rows become ``Node``s rather than pairs: a pair from a spreadsheet must be checked exactly
like a pair written in the YAML file, by the same validators. So each row is shaped like a YAML
pair (``mentor: {email, name, timezone}``, ``focus``, ``slot``, ``lead``) whose cells remember
the CSV file, the line and the column, and every message points at the cell an admin must fix.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path

from rmcal.config.files import CSV_LIMIT, decode_text, read_source
from rmcal.config.text import (
    parse_text,
    suggest,
)
from rmcal.config.yamlsource import Node
from rmcal.errors import ConfigError

# Columns of a ``pairs_csv`` HR export. Headers match case-insensitively, and spaces or hyphens
# count as underscores, so ``Mentor Email`` is ``mentor_email``.
CSV_COLUMNS = (
    "mentor_email",
    "mentor_name",
    "mentor_timezone",
    "mentor_days",
    "mentor_hours",
    "mentee_email",
    "mentee_name",
    "mentee_timezone",
    "mentee_days",
    "mentee_hours",
    "focus",
    "slot",
    "lead",
    "match_score",  # this and the next are written by ``rmcal match`` for the admin to read;
    "match_reasons",  # scheduling ignores them
)
CSV_REQUIRED = ("mentor_email", "mentor_name", "mentee_email", "mentee_name")


def pair_rows(node: Node, *, path: Path, config_file: str) -> list[Node]:
    """Rows of the HR export at ``path`` (named by ``node``) as pair nodes, blank lines skipped.

    Messages name the CSV the way the admin would find it: next to the config file as they
    named it (``config_file`` is the config's path as given on the command line).
    """
    shown = shown_path(config_file, parse_text(node))
    data = read_source(
        path,
        shown=shown,
        limit=CSV_LIMIT,
        what=repr(shown),
        file=node.file,
        line=node.line,
        key=node.path,
    )
    text = decode_text(data, shown=shown)
    lines = text.splitlines()
    header_line = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_line is None:
        raise ConfigError(
            "the file is empty",
            file=shown,
            hint="the first line names the columns: " + ", ".join(CSV_COLUMNS),
        )
    delimiter = max(",;\t", key=lines[header_line].count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[Node] = []
    columns: list[str] | None = None
    previous = 0
    try:
        for record in reader:
            line = previous + 1
            previous = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if columns is None:
                columns = read_header(record, file=shown, line=line)
                continue
            if len(record) != len(columns):
                raise ConfigError(
                    f"the row has {len(record)} fields but the header has {len(columns)}",
                    file=shown,
                    line=line,
                    hint="put values that contain the delimiter in double quotes",
                )
            rows.append(_pair_node(dict(zip(columns, record, strict=True)), shown, line))
    except csv.Error as exc:
        raise ConfigError(
            f"malformed CSV: {exc}", file=shown, line=reader.line_num or None
        ) from None
    return rows


def shown_path(config_file: str, value: str) -> str:
    """How to name a file the config refers to: next to the config as the admin named it."""
    if os.path.isabs(value):
        return value
    return os.path.normpath(os.path.join(os.path.dirname(config_file), value))


def read_header(
    record: Sequence[str],
    *,
    file: str,
    line: int,
    known: Sequence[str] = CSV_COLUMNS,
    required: Sequence[str] = CSV_REQUIRED,
) -> list[str]:
    """The normalised column names; unknown, repeated or missing columns are errors.

    Shared by every table rmcal reads (``known``/``required`` default to the HR export's).
    """
    columns = [re.sub(r"[\s-]+", "_", cell.strip().lower()) for cell in record]
    for written, column in zip(record, columns, strict=True):
        if column not in known:
            raise ConfigError(
                f"unknown column {written.strip()!r}",
                file=file,
                line=line,
                key=written.strip() or None,
                hint=suggest(column, list(known), "columns"),
            )
    for column in known:
        if columns.count(column) > 1:
            raise ConfigError(f"column {column!r} appears twice", file=file, line=line, key=column)
    for column in required:
        if column not in columns:
            raise ConfigError(
                f"missing required column {column!r}",
                file=file,
                line=line,
                hint="required: " + ", ".join(required),
            )
    return columns


def _pair_node(row: dict[str, str], file: str, line: int) -> Node:
    """One CSV row shaped like a YAML pair, each cell keyed by its column for messages."""

    def cell(column: str) -> Node | None:
        value = row.get(column, "").strip()
        return Node(file, line, column, value, raw=value) if value else None

    def person(role: str) -> Node:
        children = {
            key: node
            for key in ("email", "name", "timezone")
            if (node := cell(f"{role}_{key}")) is not None
        }
        columns = {key: f"{role}_{key}" for key in ("email", "name", "timezone", "window")}
        # A person's own window: the two cells as a ``window:`` mapping (days, hours).
        window = {key: node for key in ("days", "hours") if (node := cell(f"{role}_{key}"))}
        if window:
            window_columns = {key: f"{role}_{key}" for key in ("days", "hours")}
            children["window"] = Node(file, line, f"{role}_days", window, columns=window_columns)
        return Node(file, line, f"{role}_email", children, columns=columns)

    children: dict[str, Node] = {"mentor": person("mentor"), "mentee": person("mentee")}
    for column in ("focus", "slot", "lead"):
        node = cell(column)
        if node is not None:
            children[column] = node
    return Node(
        file, line, "", children, columns={"mentor": "mentor_email", "mentee": "mentee_email"}
    )
