"""The Google fake server as a benchmark provider: counts HTTP exchanges, not batch parts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rmcal_providers.google.settings import default_scopes

from tests.fakes.google_server import FakeGoogle, start, write_service_account

SA_EMAIL = "rmcal@bench.iam.gserviceaccount.com"


@contextmanager
def google_provider(folder: Path) -> Iterator[tuple[dict[str, Any], dict[str, str], Any]]:
    fake = FakeGoogle(users=["rm@contoso.com", "lead@contoso.com"])
    for number in range(2000):
        fake.add_user(f"mentor{number}@contoso.com")
        fake.add_user(f"mentee{number}@contoso.com")
    public = write_service_account(folder / "sa.json", SA_EMAIL)
    fake.add_service_account(SA_EMAIL, public, default_scopes(False))
    count = [0]
    depth = threading.local()
    handle = fake.handle

    def counting(method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
        outer = getattr(depth, "value", 0) == 0
        if outer:
            count[0] += 1
        depth.value = getattr(depth, "value", 0) + 1
        try:
            return handle(method, target, headers, body)
        finally:
            depth.value -= 1

    fake.handle = counting  # type: ignore[method-assign]
    running = start(fake, folder / "tls")
    try:
        settings = {
            "kind": "google",
            "service_account_file": str(folder / "sa.json"),
            **running.settings(),
        }
        yield settings, {}, lambda: count[0]
    finally:
        running.stop()
