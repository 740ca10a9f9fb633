"""``rmcal.config.yamlsource``: YAML read with lines and key paths, anchors and merge keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmcal.config.yamlsource import load_yaml
from rmcal.errors import ConfigError
from rmcal.model import Window
from tests.config.helpers import MON_FRI, assert_one_line, error_cases, load


@error_cases("yamlsource")
def test_bad_yaml_gives_one_line_and_exit_code_2(
    in_fixtures: Path, fixture: str, message: str
) -> None:
    assert_one_line(fixture, message)


def test_yaml_anchors_and_merge_keys(in_fixtures: Path) -> None:
    config = load("yaml_anchors.yaml")
    assert config.cohorts[0].settings.window == Window(MON_FRI, 8 * 60, 12 * 60)
    assert [p.mentor.email for p in config.pairs] == ["ana@northwind.example"] * 2


def test_a_file_that_is_not_utf8_names_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"programme:\n  name: Caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == (
        f"{path}:2: the file is not UTF-8 text (byte 22, column 12); save it as UTF-8"
    )


def test_a_byte_order_mark_is_fine(in_fixtures: Path, tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (in_fixtures / "valid_minimal.yaml").read_bytes())
    assert load(path).programme.name == "Test programme"


# -- bounded parsing: merges, aliases and nesting (issue 10) --------------------------------------


def test_merge_keys_follow_yaml_precedence() -> None:
    """The mapping's own keys win, then the merged mappings in the order they are listed."""
    root = load_yaml("a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nm: {<<: [*a, *b], y: 3}\n", "m.yaml")
    assert root is not None
    assert root.plain()["m"] == {"x": 1, "y": 3, "z": 2}


def test_a_chain_of_doubling_merges_stays_as_small_as_its_keys() -> None:
    """Each mapping merges the previous one twice: copied entry by entry, 40 links would hold
    2**40 entries. Kept once per key, the last mapping has its 41 keys and no more."""
    lines = ["m0: &m0 {k0: 0}"]
    lines += [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: {i}}}" for i in range(1, 41)]
    root = load_yaml("\n".join(lines) + "\n", "chain.yaml")
    assert root is not None
    last = root.value["m40"]
    assert sorted(last.value, key=lambda k: int(k[1:])) == [f"k{i}" for i in range(41)]


def test_a_merge_key_that_names_itself_is_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml("a: &a\n  x: 1\n  <<: *a\n", "self.yaml")
    assert str(caught.value) == (
        "self.yaml:1: a: merge keys (<<) refer back to the mapping that uses them, "
        "or nest too deeply"
    )


def test_nesting_through_aliases_counts_towards_the_depth_limit() -> None:
    """Each list is 30 deep on its own; an alias puts one inside the other, 60 deep."""
    deep = "[" * 30 + "x" + "]" * 30
    text = f"a: &a {deep}\nb: {'[' * 29}*a{']' * 29}\n"
    with pytest.raises(ConfigError) as caught:
        load_yaml(text, "deep.yaml")
    assert str(caught.value).startswith("deep.yaml:1: b" + "[0]" * 20)
    assert str(caught.value).endswith(
        ": values are nested more than 50 levels deep (aliases included)"
    )


def test_a_flow_collection_nested_past_the_limit_is_one_line_not_a_recursion_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml("a: " + "[" * 5000 + "]" * 5000 + "\n", "flow.yaml")
    assert str(caught.value) == (
        "flow.yaml:1: values are nested more than 50 levels deep; "
        "a config needs a handful of levels; check the brackets"
    )


def test_aliases_within_their_ratio_still_count_towards_the_value_budget() -> None:
    """25,000 values written, three aliases of them: within four times what was written, but
    past 100,000 values in all."""
    text = "a: &a [" + "1, " * 25_000 + "]\nb: [*a, *a, *a, *a]\n"
    with pytest.raises(ConfigError) as caught:
        load_yaml(text, "many.yaml")
    assert str(caught.value) == (
        "many.yaml:1: b[2][24994]: the file expands to more than 100,000 values (each use of "
        "an alias counts again); use fewer aliases, or list many pairs in an HR export "
        "(pairs_csv:)"
    )


def test_an_alias_per_pair_is_well_within_the_alias_budget() -> None:
    """The everyday use of aliases: one shared window mapping named by many pairs."""
    pairs = "".join(f"  - {{id: p{i}, window: *office}}\n" for i in range(3000))
    root = load_yaml(
        f"office: &office {{days: Mon-Fri, hours: '09:00-17:00'}}\npairs:\n{pairs}", "ok.yaml"
    )
    assert root is not None
    assert len(root.value["pairs"].value) == 3000


def test_a_long_flat_list_is_cut_off_at_the_value_budget() -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml("a: [" + "1, " * 100_001 + "]\n", "flat.yaml")
    assert str(caught.value) == (
        "flat.yaml:1: the file holds more than 100,000 values; "
        "list many pairs in an HR export (pairs_csv:) instead"
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ('a: "x\\0y"\n', "U+0000 (NUL)"),
        ('a: "x\\ey"\n', "U+001B (ESCAPE)"),
        ('a: "x\\x9by"\n', "U+009B (CONTROL SEQUENCE INTRODUCER)"),
        ('a: "x\\udfffy"\n', "U+DFFF (half of a surrogate pair, not a character)"),
        ('"k\\by": 1\n', "U+0008 (BACKSPACE)"),
    ],
    ids=["nul", "escape", "csi", "surrogate", "in-a-key"],
)
def test_control_characters_written_as_escapes_are_refused(text: str, shown: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_yaml(text, "esc.yaml")
    assert str(caught.value).startswith("esc.yaml:1: ")
    assert f"the character {shown} is not allowed in text" in str(caught.value)


def test_line_breaks_and_tabs_in_text_are_kept() -> None:
    root = load_yaml('purpose: |\n  Two\n  lines\ntabbed: "a\\tb"\n', "ok.yaml")
    assert root is not None
    assert root.plain() == {"purpose": "Two\nlines\n", "tabbed": "a\tb"}


@pytest.mark.skipif(not hasattr(__import__("yaml"), "CSafeLoader"), reason="PyYAML without libyaml")
def test_a_valid_file_is_composed_by_libyaml_with_the_same_lines(
    in_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pure-Python parser (ten times slower on a large cohort) only reads refused files."""
    import yaml

    from rmcal.config import yamlsource
    from rmcal.config.yamlsource import load_yaml

    text = (in_fixtures / "valid_minimal.yaml").read_text(encoding="utf-8")
    expected = load_yaml(text, "x.yaml")
    assert expected is not None

    class Refused(yaml.SafeLoader):
        def __init__(self, stream: str, file: str) -> None:
            raise AssertionError("the pure-Python parser was used for a valid file")

    monkeypatch.setattr(yamlsource, "_BoundedLoader", Refused)
    fast = load_yaml(text, "x.yaml")
    assert fast is not None
    assert fast.plain() == expected.plain()
    assert fast.lines() == expected.lines()


def test_nesting_libyaml_accepts_but_past_the_limit_is_refused_by_the_bounded_loader() -> None:
    """60 levels are within libyaml's own limit: the fast path hands the file back to the
    bounded loader, whose message is the one a reader gets."""
    with pytest.raises(ConfigError) as caught:
        load_yaml("a: " + "[" * 60 + "]" * 60 + "\n", "sixty.yaml")
    assert str(caught.value) == (
        "sixty.yaml:1: values are nested more than 50 levels deep; "
        "a config needs a handful of levels; check the brackets"
    )
