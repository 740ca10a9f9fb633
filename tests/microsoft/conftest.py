"""pytest fixtures for the Microsoft provider tests (plain helpers are in ``helpers.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.graph_server import GraphServer
from tests.microsoft.helpers import Waits


@pytest.fixture
def waits() -> Waits:
    """The sleep and monotonic clock a provider retries with: waits recorded, never slept."""
    return Waits()


@pytest.fixture(scope="module")
def graph_server() -> Iterator[GraphServer]:
    """One fake Entra ID + Graph over HTTPS for a whole test module (starting one costs TLS
    material and a thread)."""
    with GraphServer() as running:
        yield running


@pytest.fixture
def fresh_graph_server(tmp_path: Path) -> Iterator[GraphServer]:
    """A fake Graph of the test's own, its CA written under the test's folder."""
    with GraphServer(directory=tmp_path / "tls") as server:
        yield server
