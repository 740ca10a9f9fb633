"""Text leaving rmcal for a person's tools: terminal tables, terminal lines, spreadsheet cells.

Plain-text tables and counts for terminals and cron mails (no colour codes, no box drawing).
Everything that reaches a terminal passes ``terminal_safe`` once, at the edge
(``rmcal.cli.options.echo``), and every table cell passes it in ``format_table``: names, event
titles from a calendar, headers of a form export and messages from a server are all outside
input, and an ESC, an OSC sequence or a carriage return in them would recolour, retitle or
overwrite the admin's terminal. CSV cells pass ``spreadsheet_safe``, so that a name such as
``=HYPERLINK(...)`` stays text in Excel.

Why display width and not ``len()``: names come from HR exports in every script. A CJK name
such as 高橋 美咲 is five code points but eight terminal columns wide, and a name with a
combining accent is one column narrower than its code points; padding by ``len()`` would
push every later column of that row out of line. Widths follow Unicode's East Asian Width
property (wide and fullwidth characters take two columns, combining marks and zero-width
format characters none), as terminals and ``wcwidth`` do.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# What a spreadsheet reads as the start of a formula (OWASP's list, tab and CR included).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# Characters ``terminal_safe`` escapes: C0 and C1 controls, DEL, the bidi controls that
# reorder text on screen (the "Trojan Source" ones) and lone surrogates. In running text line
# feeds and tabs stay; in a table cell they go too. One compiled class each, so that a long
# JSON report (megabytes, a line feed on every line) is scanned at C speed, not in Python.
_CONTROLS = "\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f{_CONTROLS}]")
_UNSAFE_IN_CELL = re.compile(f"[\x00-\x1f{_CONTROLS}]")


def terminal_safe(text: str, *, in_cell: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``).

    Line breaks and tabs survive in running text; inside a table cell (``in_cell``) they are
    escaped too, as they would break the table's rows and columns.
    """
    unsafe = _UNSAFE_IN_CELL if in_cell else _UNSAFE_IN_TEXT
    return unsafe.sub(lambda found: _escape(found.group()), text)


def spreadsheet_safe(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula: text starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return gets a leading apostrophe (OWASP's advice);
    numbers and everything else pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def char_width(char: str) -> int:
    """Columns one character takes in a terminal: 0, 1 or 2."""
    if unicodedata.combining(char) or unicodedata.category(char) in {"Mn", "Me", "Cf"}:
        return 0
    return 2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal (``len`` counts code points instead)."""
    return sum(char_width(char) for char in text)


def pad(text: str, width: int) -> str:
    """``text`` followed by blanks up to ``width`` display columns."""
    return text + " " * max(0, width - display_width(text))


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 pair``, ``2 pairs``; ``many`` for irregular plurals (``1 reply``, ``2 replies``)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "  "
) -> str:
    """Left-aligned columns sized to their widest cell; trailing blanks trimmed per line."""
    cells = [[terminal_safe(str(h), in_cell=True) for h in headers]] + [
        ["" if c is None else terminal_safe(str(c), in_cell=True) for c in r] for r in rows
    ]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for number, row in enumerate(cells):
        lines.append(
            indent + "  ".join(pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip()
        )
        if number == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)
