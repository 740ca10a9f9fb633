"""Whole-output comparison against files under ``tests/golden/``.

Anything rmcal renders for a person (e-mails, the dry-run plan, the status table, the tick
report) is compared as a whole, so a change anywhere in it shows up as a diff. When an output
changes on purpose, regenerate the files deliberately and review the diff like code::

    RMCAL_UPDATE_GOLDEN=1 python -m pytest tests/test_mail.py tests/test_cli_schedule.py ...

then ``git diff tests/golden/``. Without the variable a missing or different file fails.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, content: str) -> None:
    """Assert ``content`` equals ``tests/golden/<name>`` (or write it, when updating)."""
    path = GOLDEN / name
    if os.environ.get("RMCAL_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(content, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with RMCAL_UPDATE_GOLDEN=1 to create it"
    assert content == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"
