"""``rmcal.config.yamlsource``: YAML read with lines and key paths, anchors and merge keys."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    assert str(caught.value) == f"{path}: the file is not UTF-8 text (byte 22); save it as UTF-8"


def test_a_byte_order_mark_is_fine(in_fixtures: Path, tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (in_fixtures / "valid_minimal.yaml").read_bytes())
    assert load(path).programme.name == "Test programme"


@pytest.mark.skipif(not hasattr(__import__("yaml"), "CSafeLoader"), reason="PyYAML without libyaml")
def test_a_valid_file_is_composed_by_libyaml_with_the_same_lines(
    in_fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pure-Python parser (ten times slower on a large cohort) only reads refused files."""
    import yaml

    from rmcal.config.yamlsource import load_yaml

    text = (in_fixtures / "valid_minimal.yaml").read_text(encoding="utf-8")
    expected = load_yaml(text, "x.yaml")
    assert expected is not None

    class Refused(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            raise AssertionError("the pure-Python parser was used for a valid file")

    monkeypatch.setattr(yaml, "SafeLoader", Refused)
    fast = load_yaml(text, "x.yaml")
    assert fast is not None
    assert fast.plain() == expected.plain()
    assert fast.lines() == expected.lines()
