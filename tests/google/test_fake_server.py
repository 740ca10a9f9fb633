"""The fake Google server also runs on its own, as ``python -m tests.fakes.google_server``."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def test_the_fake_server_runs_as_a_module(tmp_path: Path):
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.google_server", "--port", "0", "--dir", str(tmp_path)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        banner = process.stdout.readline()  # type: ignore[union-attr]
        base = banner.split()[3]
        assert base.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{base}/calendar/v3/calendars/primary/events", context=context)
        assert caught.value.code == 401
        body = json.loads(caught.value.read())
        assert body["error"]["errors"][0]["reason"] == "authError"
    finally:
        process.terminate()
        process.wait(timeout=10)
