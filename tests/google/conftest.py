"""Fixtures shared by the Google provider's tests: a service-account key, a fake Workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rmcal_providers.google.settings import default_scopes

from tests.fakes.google_server import FakeGoogle, RunningFake, start, write_service_account
from tests.google.helpers import DOMAIN, SA_EMAIL

WORKSPACE_SA_EMAIL = "rmcal@contoso-rmcal.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``sa.json``, a throwaway service-account key (made once per module)."""
    directory = tmp_path_factory.mktemp("sa")
    write_service_account(directory / "sa.json", SA_EMAIL)
    return directory


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[RunningFake]:
    """The fake Google server for a 20-pair cohort of ``DOMAIN``, its key in ``tmp_path``."""
    fake = FakeGoogle(users=[f"rm@{DOMAIN}", f"lead@{DOMAIN}"])
    for number in range(20):
        fake.add_user(f"mentor{number}@{DOMAIN}")
        fake.add_user(f"mentee{number}@{DOMAIN}")
    public = write_service_account(tmp_path / "sa.json", WORKSPACE_SA_EMAIL)
    fake.add_service_account(WORKSPACE_SA_EMAIL, public, default_scopes(False))
    running = start(fake, tmp_path / "tls")
    try:
        yield running
    finally:
        running.stop()
