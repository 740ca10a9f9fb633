"""Plain-text tables measure display width, not code points (CJK names take two columns)."""

from __future__ import annotations

from rmcal.tables import display_width, format_table, plural


def test_display_width_counts_wide_characters_twice_and_combining_marks_not_at_all() -> None:
    assert display_width("Ana") == 3
    assert display_width("高橋 美咲") == 9  # four wide characters and a space
    assert display_width("ＡＢ") == 4  # fullwidth Latin
    assert display_width("José") == display_width("Jose\u0301") == 4  # precomposed or combining
    assert display_width("a\u200bb") == 2  # a zero-width space takes no column


def test_columns_line_up_in_display_columns() -> None:
    table = format_table(["name", "state"], [["高橋 美咲", "on track"], ["Ana Silva", "at risk"]])
    lines = table.splitlines()
    assert lines[2] == "  高橋 美咲  on track"
    assert lines[3] == "  Ana Silva  at risk"


def test_plural() -> None:
    assert plural(1, "pair") == "1 pair"
    assert plural(0, "pair") == "0 pairs"
    assert plural(2, "reply", "replies") == "2 replies"
