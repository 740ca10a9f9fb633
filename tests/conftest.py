"""Fixtures shared by more than one test module (plain helpers live in non-test modules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tickworld import World, make_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    """The two-pair tick programme, scheduled a week before its cohort starts."""
    return make_world(tmp_path)
