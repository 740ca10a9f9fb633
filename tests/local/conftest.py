"""Fixtures for the local provider's tests (plain helpers are in ``helpers.py``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.local.dovecot import Dovecot, running_dovecot
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


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """A real IMAP server for the module's tests (each test makes its own mailbox)."""
    with running_dovecot() as server:
        yield server
