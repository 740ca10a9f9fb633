"""Plain-text tables and counts for terminals and cron mails (no colour codes, no box drawing).

Why display width and not ``len()``: names come from HR exports in every script. A CJK name
such as 高橋 美咲 is five code points but eight terminal columns wide, and a name with a
combining accent is one column narrower than its code points; padding by ``len()`` would
push every later column of that row out of line. Widths follow Unicode's East Asian Width
property (wide and fullwidth characters take two columns, combining marks and zero-width
format characters none), as terminals and ``wcwidth`` do.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


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
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for number, row in enumerate(cells):
        lines.append(
            indent + "  ".join(pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip()
        )
        if number == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)
