"""The published JSON Schema is generated from the loader's key tables and agrees with the
loader: what the loader accepts the schema accepts, and a key the loader rejects as unknown or
missing the schema rejects too."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
import yaml

from rmcal.config import KEY_TABLES, load_config
from rmcal.config.schema import LEAVES, SAME_AS, config_schema, schema_text
from rmcal.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "docs" / "rmcal-config.schema.json"
FIXTURES = ROOT / "tests" / "fixtures" / "config"
NOW = datetime(2026, 12, 1, tzinfo=UTC)

VALID = [
    ROOT / "config.example.yaml",
    ROOT / "examples" / "matching.yaml",
    FIXTURES / "valid_minimal.yaml",
    FIXTURES / "merge.yaml",
    FIXTURES / "csv_pairs.yaml",
    FIXTURES / "slots_apart.yaml",
]
# Fixtures the loader refuses for their shape (not for a value): the schema refuses them too.
SHAPE_ERRORS = [
    "unknown_key.yaml",
    "unknown_top_key.yaml",
    "missing_key.yaml",
    "missing_person_name.yaml",
    "wrong_type_sessions.yaml",
]


class EditorLoader(yaml.SafeLoader):
    """YAML as an editor's language server reads it (YAML 1.2: a date is a string)."""


EditorLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read(path: Path) -> object:
    return yaml.load(path.read_text(), Loader=EditorLoader)  # a SafeLoader subclass


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(PUBLISHED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_published_schema_is_the_generated_one() -> None:
    assert PUBLISHED.read_text() == schema_text(), (
        "docs/rmcal-config.schema.json is stale: "
        "python -m rmcal.config.schema > docs/rmcal-config.schema.json"
    )


def _mappings(schema: dict, path: str = "") -> dict[str, set[str]]:
    """Every object in the schema with its property names, by key path (``[]``: list item)."""
    found = {}
    if schema.get("type") == "object" and schema.get("additionalProperties") is False:
        found[path] = set(schema["properties"])
        for key, child in schema["properties"].items():
            found.update(_mappings(child, f"{path}.{key}" if path else key))
    elif schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        found.update(_mappings(schema["items"], f"{path}[]"))
    return found


def test_every_key_table_is_a_closed_mapping_of_exactly_its_keys() -> None:
    mappings = _mappings(config_schema())
    for path, keys in KEY_TABLES.items():
        assert mappings[path] == set(keys), path
    for path, same in SAME_AS.items():
        assert mappings[path] == set(KEY_TABLES[same]), path
    assert set(mappings) == set(KEY_TABLES) | set(SAME_AS)


def test_every_leaf_type_belongs_to_a_key_the_loader_knows() -> None:
    for path, leaves in LEAVES.items():
        assert set(leaves) <= set(KEY_TABLES[path]), path


@pytest.mark.parametrize("path", VALID, ids=[p.name for p in VALID])
def test_configs_the_loader_accepts_are_valid(path: Path) -> None:
    # examples/matching.yaml names the pairs file that rmcal match writes: not there yet.
    load_config(path, now=NOW, force=True, unread_pairs_csv="2027-autumn")
    errors = [e.message for e in validator().iter_errors(read(path))]
    assert not errors


@pytest.mark.parametrize("name", SHAPE_ERRORS)
def test_shape_errors_the_loader_refuses_the_schema_refuses(name: str) -> None:
    path = FIXTURES / name
    with pytest.raises(ConfigError):
        load_config(path, now=NOW, force=True)
    assert list(validator().iter_errors(read(path)))


def test_a_typo_in_a_nested_settings_block_is_caught(tmp_path: Path) -> None:
    data = read(ROOT / "config.example.yaml")
    assert isinstance(data, dict)
    data["cohorts"][0]["pairs"][0]["settings"] = {"duraton": "1h"}
    (error,) = validator().iter_errors(data)
    assert "'duraton' was unexpected" in error.message
    assert list(error.absolute_path) == ["cohorts", 0, "pairs", 0, "settings"]
