from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.helpers import FIXTURES


@pytest.fixture
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the fixture folder so errors name files the way an admin types them."""
    monkeypatch.chdir(FIXTURES)
    return FIXTURES
