"""The people file: a CSV or XLSX export from HR or a sign-up form, read into ``Participant``s.

Why every cell becomes a config ``Node``: a people file is input an admin must be able to fix,
so it is checked like the config (the same e-mail, zone, days and hours grammar) and every
problem names the file, the row and the column, with the same did-you-mean hints. Checks that
need the whole file (an e-mail given twice, a management cycle) run here too, so that the
matcher only ever sees a population that makes sense. Columns: docs/match.md.

The reader is deliberately small: the file is read whole (as the HR-export reader does), through
``rmcal.config.files`` (a regular file within ``CSV_LIMIT``; CSV decoded as UTF-8 without control
characters), so the people file has the same input limits as the config and the HR export.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rmcal.config.files import CSV_LIMIT, decode_text, read_source
from rmcal.config.hrcsv import read_header
from rmcal.config.settings import check_window_fits, window_block
from rmcal.config.text import parse_email, parse_line, parse_text
from rmcal.config.values import parse_timezone
from rmcal.config.yamlsource import Node
from rmcal.errors import ConfigError, RmcalError
from rmcal.model import Cohort, Window

Role = Literal["mentor", "mentee", "none"]

# Columns of a people file. Headers match case-insensitively; spaces and hyphens count as
# underscores, so ``Manager Email`` is ``manager_email``.
COLUMNS = (
    "email",
    "name",
    "role",
    "timezone",
    "days",
    "hours",
    "topics",
    "department",
    "manager_email",
    "languages",
    "capacity",
    "opt_out",
    "avoid",
    "seniority",
    "age_band",
)
REQUIRED = ("email", "name", "role")
ROLE_HINT = (
    "use mentor (the junior colleague who teaches), mentee (the senior who learns) "
    "or none (listed only for the management chain)"
)
MAX_CAPACITY = 10
_LIST_SEPARATORS = re.compile(r"[;,|\n]")
_YES = {"yes", "y", "true", "1", "x"}
_NO = {"no", "n", "false", "0", ""}
_AGE_BAND = re.compile(r"(\d{1,3})\s*(?:(?:-|–|to)\s*\d{1,3}|\+)?")


@dataclass(frozen=True)
class Participant:
    """One row of the people file, checked; ``window`` is the effective window for the cohort.

    ``days``/``hours`` keep the person's own window cells as written (None: the cohort's), so
    that the pairs file hands them on to ``rmcal schedule`` unchanged. ``level`` is seniority in
    levels, or the age band's lower bound in decades; None when the file gives neither.
    """

    email: str
    name: str
    role: Role
    timezone: str
    window: Window
    days: str | None = None
    hours: str | None = None
    topics: tuple[str, ...] = ()
    department: str | None = None
    manager: str | None = None
    languages: frozenset[str] = frozenset()
    capacity: int = 1
    opt_out: bool = False
    avoid: frozenset[str] = frozenset()
    level: float | None = None
    age_band: str | None = None
    line: int = 0


@dataclass(frozen=True)
class People:
    """A whole people file: its name as shown in messages, and its rows in file order."""

    file: str
    rows: tuple[Participant, ...]

    def of_role(self, role: Role) -> list[Participant]:
        """The people in one role, ordered by e-mail so that results never depend on row order."""
        return sorted((p for p in self.rows if p.role == role), key=lambda p: p.email)


def read_people(path: Path, *, shown: str, cohort: Cohort, programme_zone: str) -> People:
    """Read and check the people file at ``path`` (named ``shown`` in messages) for ``cohort``.

    People without a zone get ``programme_zone``; without days or hours, the cohort's window.
    Raises one ``ConfigError`` (file:row: column: problem; hint) for the first problem found.
    """
    records = _records(path, shown)
    header = next(records, None)
    if header is None:
        raise ConfigError(
            "the file is empty", file=shown, hint="the first row names the columns: " + _known()
        )
    columns = _header(header[1], shown, header[0])
    people: list[Participant] = []
    seen: dict[str, int] = {}
    for line, cells in records:
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
            raise ConfigError(
                f"the row has {len(cells)} fields but the header has {len(columns)}",
                file=shown,
                line=line,
                hint="put values that contain the delimiter in double quotes",
            )
        row = {column: (cells[i] if i < len(cells) else "") for i, column in enumerate(columns)}
        person = _participant(Row(shown, line, row), cohort=cohort, zone=programme_zone)
        if person.email in seen:
            raise ConfigError(
                f"{person.email!r} appears twice (first on row {seen[person.email]})",
                file=shown,
                line=line,
                key="email",
                hint="give each person one row",
            )
        seen[person.email] = line
        people.append(person)
    check_chain(people, shown)
    check_zones(people, cohort, shown)
    return People(file=shown, rows=tuple(people))


# -- file formats ---------------------------------------------------------------------------------


def _records(path: Path, shown: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of every non-blank row, the header first, from CSV or XLSX."""
    data = read_source(path, shown=shown, limit=CSV_LIMIT, what="the people file")
    if path.suffix.lower() in {".xlsx", ".xlsm"} or data[:2] == b"PK":
        return _xlsx_records(data, shown)
    return _csv_records(decode_text(data, shown=shown), shown)


def _csv_records(text: str, shown: str) -> Iterator[tuple[int, list[str]]]:
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    previous = 0
    try:
        for record in reader:
            line = previous + 1
            previous = reader.line_num
            if any(cell.strip() for cell in record):
                yield line, record
    except csv.Error as exc:
        raise ConfigError(
            f"malformed CSV: {exc}", file=shown, line=reader.line_num or None
        ) from None


def _xlsx_records(data: bytes, shown: str) -> Iterator[tuple[int, list[str]]]:
    """The first worksheet's rows, numbered as the spreadsheet numbers them."""
    try:
        import openpyxl
    except ImportError:
        raise RmcalError(
            "reading an .xlsx people file needs openpyxl: pip install 'rmcal[match]' "
            "(or save the sheet as CSV)"
        ) from None
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, XML and its own errors alike
        raise ConfigError(
            f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})",
            file=shown,
            hint="save it again from Excel, or export CSV",
        ) from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(value) for value in values]
            if any(cell.strip() for cell in cells):
                yield number, cells
    finally:
        book.close()


def _cell_text(value: Any) -> str:
    """A spreadsheet value as the text a CSV export would hold (2.0 -> "2", TRUE -> "yes")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _known() -> str:
    return ", ".join(COLUMNS)


def _header(cells: Sequence[str], shown: str, line: int) -> list[str]:
    """The normalised column names, checked as an HR export's are (one shared reader)."""
    cells = list(cells)
    while cells and not cells[-1].strip():  # spreadsheets pad rows with empty cells
        cells.pop()
    return read_header(cells, file=shown, line=line, known=COLUMNS, required=REQUIRED)


# -- one row --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One row's cells by column; ``cell`` wraps a value as a ``Node`` for the config parsers."""

    file: str
    line: int
    cells: dict[str, str]

    def cell(self, column: str) -> Node | None:
        value = self.cells.get(column, "").strip()
        return Node(self.file, self.line, column, value, raw=value) if value else None

    def require(self, column: str) -> Node:
        node = self.cell(column)
        if node is None:
            raise ConfigError("required value is empty", file=self.file, line=self.line, key=column)
        return node

    def has(self, column: str) -> bool:
        return column in self.cells


def _participant(row: Row, *, cohort: Cohort, zone: str) -> Participant:
    email = parse_email(row.require("email"))
    role = _role(row.require("role"))
    manager_node = row.cell("manager_email")
    manager = parse_email(manager_node) if manager_node else None
    if role == "none":  # only in the file for the management chain
        name_node = row.cell("name")
        return Participant(
            email=email,
            name=parse_line(name_node) if name_node else email,
            role=role,
            timezone=zone,
            window=cohort.settings.window,
            manager=manager,
            capacity=0,
            line=row.line,
        )
    zone_node = row.cell("timezone")
    window, days, hours = _window(row, cohort)
    department = row.cell("department")
    return Participant(
        email=email,
        name=parse_line(row.require("name")),
        role=role,
        timezone=parse_timezone(zone_node) if zone_node else zone,
        window=window,
        days=days,
        hours=hours,
        topics=_items(row.cell("topics")),
        department=parse_text(department) if department else None,
        manager=manager,
        languages=frozenset(item.casefold() for item in _items(row.cell("languages"))),
        capacity=_capacity(row.cell("capacity")),
        opt_out=_yes(row.cell("opt_out")),
        avoid=_avoid(row.cell("avoid")),
        level=_level(row),
        age_band=_text(row.cell("age_band")) if not row.has("seniority") else None,
        line=row.line,
    )


def _text(node: Node | None) -> str | None:
    return parse_text(node) if node else None


def _role(node: Node) -> Role:
    text = parse_text(node).casefold()
    if text == "mentor":
        return "mentor"
    if text == "mentee":
        return "mentee"
    if text == "none":
        return "none"
    node.fail(f"{node.text_of()!r} is not a role", ROLE_HINT)


def _window(row: Row, cohort: Cohort) -> tuple[Window, str | None, str | None]:
    """The person's own days/hours over the cohort's window, one key at a time, as in the config."""
    cells = {key: node for key in ("days", "hours") if (node := row.cell(key))}
    if not cells:
        return cohort.settings.window, None, None
    node = Node(row.file, row.line, "days", cells, columns={"days": "days", "hours": "hours"})
    own = window_block(node)
    base = cohort.settings.window
    start, end = (
        own["window.hours"].value if "window.hours" in own else (base.start_minute, base.end_minute)
    )
    window = Window(
        days=own["window.days"].value if "window.days" in own else base.days,
        start_minute=start,
        end_minute=end,
    )
    check_window_fits(own, window, cohort.settings.duration)
    days, hours = cells.get("days"), cells.get("hours")
    return window, days.text_of() if days else None, hours.text_of() if hours else None


def _items(node: Node | None) -> tuple[str, ...]:
    """A list cell (``AI tools; social media``), each item once, in the order written."""
    if node is None:
        return ()
    seen: dict[str, str] = {}
    for part in _LIST_SEPARATORS.split(parse_text(node)):
        item = " ".join(part.split())
        if item and item.casefold() not in seen:
            seen[item.casefold()] = item
    return tuple(seen.values())


def _avoid(node: Node | None) -> frozenset[str]:
    if node is None:
        return frozenset()
    out = set()
    for item in _items(node):
        out.add(parse_email(Node(node.file, node.line, node.path, item, raw=item)))
    return frozenset(out)


def _capacity(node: Node | None) -> int:
    if node is None:
        return 1
    text = node.text_of()
    if not text.isdigit():
        node.fail(f"{text!r} is not a whole number", "how many pairs this person may take, e.g. 2")
    value = int(text)
    if value > MAX_CAPACITY:
        node.fail(f"must be at most {MAX_CAPACITY}, got {value}")
    return value


def _yes(node: Node | None) -> bool:
    text = node.text_of().strip().casefold() if node else ""
    if text in _YES:
        return True
    if text not in _NO:
        assert node is not None
        node.fail(f"{node.text_of()!r} is not yes or no", "write yes or leave the cell empty")
    return False


def _level(row: Row) -> float | None:
    """Seniority as written, else the age band's lower bound in decades (18-24 -> 1.8)."""
    if row.has("seniority"):
        node = row.cell("seniority")
        if node is None:
            return None
        if not node.text_of().isdigit():
            node.fail(f"{node.text_of()!r} is not a whole number", "a level, higher = more senior")
        return float(node.text_of())
    node = row.cell("age_band")
    if node is None:
        return None
    match = _AGE_BAND.fullmatch(node.text_of().strip())
    if match is None:
        node.fail(f"{node.text_of()!r} is not an age band", "write e.g. 18-24, 25-34 or 55+")
    return int(match.group(1)) / 10


# -- whole-file checks ----------------------------------------------------------------------------


def check_zones(people: Sequence[Participant], cohort: Cohort, shown: str) -> None:
    """Someone already in the cohort's ``pairs:`` keeps one zone: the loader would refuse two."""
    known = {p.email: p.timezone for pair in cohort.pairs for p in pair.people}
    for person in people:
        zone = known.get(person.email)
        if person.role != "none" and zone is not None and zone != person.timezone:
            raise ConfigError(
                f"{person.email} is in {person.timezone} here but in {zone} in the pairs "
                f"of cohort {cohort.id}",
                file=shown,
                line=person.line,
                key="timezone",
                hint="give this person the same timezone in both places",
            )


def check_chain(people: Sequence[Participant], shown: str) -> None:
    """A manager column whose links loop (a manages b manages a) is bad input: say where.

    The message starts the loop at the person who comes first in the file, and points there.
    """
    manager = {p.email: p.manager for p in people}
    line = {p.email: p.line for p in people}
    settled: set[str] = set()
    for person in people:
        path: list[str] = []
        current: str | None = person.email
        while current is not None and current in manager and current not in settled:
            if current in path:
                loop = path[path.index(current) :]
                first = min(loop, key=lambda email: line[email])
                at = loop.index(first)
                ordered = [*loop[at:], *loop[:at], first]
                if len(loop) == 1:
                    problem = f"{first} is their own manager"
                    hint = "leave the cell empty or name their manager"
                else:
                    problem = "management cycle: " + " -> ".join(ordered)
                    hint = "each arrow points to a manager; fix the manager of one of them"
                raise ConfigError(
                    problem, file=shown, line=line[first], key="manager_email", hint=hint
                )
            path.append(current)
            current = manager[current]
        settled.update(path)
