"""``rmcal``'s public surface: ``__all__`` names exactly what the package exports (httpx's check).

A name added to ``rmcal/__init__.py`` without ``__all__`` (or the other way round) fails here,
so nothing leaks into the API or vanishes from it by accident.
"""

from __future__ import annotations

import importlib
import types
from pathlib import Path

import pytest

import rmcal
from tests.tickworld import CONFIG, SCHEDULED_AT


def test_all_is_exactly_the_public_names() -> None:
    for name in rmcal.__all__:  # names load on first use: load them all
        getattr(rmcal, name)
    exported = sorted(
        name
        for name, value in vars(rmcal).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    )
    assert rmcal.__all__ == exported


def test_a_programme_runs_through_the_package_alone(tmp_path: Path) -> None:
    (tmp_path / "rmcal.yaml").write_text(CONFIG)
    config = rmcal.load_config(tmp_path / "rmcal.yaml", now=SCHEDULED_AT)
    clock = rmcal.clock_from(SCHEDULED_AT)
    with rmcal.session(config, mode=rmcal.Mode.MEMORY, clock=clock) as run:
        result = rmcal.run_schedule(config, run.provider, run.store, now=SCHEDULED_AT)
        readings = rmcal.read_programme(config, run.provider, SCHEDULED_AT)
    assert not result.undone and len(readings) == 2


def test_every_public_name_loads_from_the_module_it_is_listed_under() -> None:
    assert sorted(rmcal._HOMES) == rmcal.__all__
    for name, home in rmcal._HOMES.items():
        assert getattr(rmcal, name) is getattr(importlib.import_module(home), name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rmcal.nope  # noqa: B018
