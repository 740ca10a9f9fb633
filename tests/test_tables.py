"""``rmcal.tables``: what reaches a terminal or a spreadsheet is shown, never run; tables measure
display width, not code points (CJK names take two columns)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmcal.tables import display_width, format_table, plural, spreadsheet_safe, terminal_safe

ROOT = Path(__file__).resolve().parent.parent


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


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain Ünïcödé 名前", "plain Ünïcödé 名前"),
        ("red \x1b[31mtext", "red \\x1b[31mtext"),
        ("title \x1b]0;pwned\x07", "title \\x1b]0;pwned\\x07"),
        ("over\rwrite", "over\\x0dwrite"),
        ("c1 csi \x9b31m", "c1 csi \\x9b31m"),
        ("abc\u202etxt.exe", "abc\\u202etxt.exe"),
        ("lone \udc80", "lone \\udc80"),
        ("two\nlines\tand a tab", "two\nlines\tand a tab"),
    ],
    ids=["unicode", "csi", "osc-bel", "cr", "c1", "bidi", "surrogate", "lf-tab"],
)
def test_terminal_safe_escapes_controls_and_keeps_text(text: str, shown: str) -> None:
    assert terminal_safe(text) == shown


def test_inside_a_cell_line_breaks_and_tabs_are_escaped_too() -> None:
    assert terminal_safe("a\nb\tc", in_cell=True) == "a\\x0ab\\x09c"
    table = format_table(["who", "n"], [["Ana\nBob", 1], ["Cy", None]])
    assert table.splitlines() == [
        "  who         n",
        "  ----------  -",
        "  Ana\\x0aBob  1",
        "  Cy",
    ]


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20", "'+44 20"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Ana", "Ana"),
        (-2, -2),
        (None, None),
    ],
)
def test_spreadsheet_safe_neutralises_formula_starts(value: object, safe: object) -> None:
    assert spreadsheet_safe(value) == safe


def test_commands_print_only_through_the_sanitising_echo() -> None:
    """One output edge: a command that calls click.echo directly would bypass terminal_safe."""
    offenders = [
        path.name
        for path in sorted((ROOT / "rmcal" / "cli").glob("*.py"))
        if path.name != "options.py" and "click.echo(" in path.read_text()
    ]
    assert offenders == []


def test_an_error_line_cannot_carry_escape_sequences_to_the_terminal(tmp_path: Path) -> None:
    """A file name is outside input too: ``-c $'\\e]0;pwned\\a.yaml'`` names a missing file."""
    from click.testing import CliRunner

    from rmcal.cli import main

    name = str(tmp_path / "x\x1b]0;pwned\x07.yaml")
    result = CliRunner().invoke(main, ["validate", "-c", name])
    assert result.exit_code == 2
    assert result.output == (
        f"rmcal: error: {tmp_path}/x\\x1b]0;pwned\\x07.yaml: no such file (--config names it); "
        "name one with -c FILE (or --config FILE), set RMCAL_CONFIG=FILE, or put rmcal.yaml in "
        "this folder\n"
    )


def _escaped_by_rule(text: str, *, in_cell: bool) -> str:
    """The rule ``terminal_safe`` keeps, one character at a time (its former code)."""
    bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    out = []
    for char in text:
        code = ord(char)
        if code < 0x20:
            unsafe = in_cell or char not in "\n\t"
        else:
            unsafe = (
                code == 0x7F or 0x80 <= code <= 0x9F or char in bidi or 0xD800 <= code <= 0xDFFF
            )
        if unsafe:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


@given(
    st.text(
        alphabet=st.characters(codec=None, max_codepoint=0x2100)
        | st.sampled_from("\u202e\u2066\ud800\x1b\x9b\n\t\r")
    ),
    st.booleans(),
)
def test_terminal_safe_escapes_exactly_what_the_rule_says(text: str, in_cell: bool) -> None:
    assert terminal_safe(text, in_cell=in_cell) == _escaped_by_rule(text, in_cell=in_cell)
