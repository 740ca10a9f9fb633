"""Fixtures for the local provider's tests (plain helpers are in ``helpers.py``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.local.fake_smtp import FakeSmtp


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtp]:
    server = FakeSmtp(password="pa55-word")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
