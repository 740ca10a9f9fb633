"""``rmcal demo``: runs a cohort's life on the local provider and leaves it all to open."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.policy import default as DEFAULT_POLICY
from pathlib import Path

from click.testing import CliRunner

from rmcal.cli import main


def test_demo_runs_the_weeks_and_says_where_everything_is(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--dir", str(folder), "--weeks", "4"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "1. scheduled at Mon 04 Jan 2027 09:00 UTC: 12 series" in out
    assert "Robert Hale declined session 2 (Mon 25 Jan) with Priya Shah" in out
    assert "session 2 (Mon 25 Jan) cancelled (override with STATUS:CANCELLED)" in out
    assert "session 3 (Mon 08 Feb) cancelled (EXDATE)" in out
    assert "moved from Mon 25 Jan 09:00 to Wed 27 Jan 09:00 EST" in out
    assert re.search(r"3\. ticked every 6 h from 04 Jan to 01 Feb 2027: \d+ e-mails sent", out)
    assert "refused 1 (line" in out  # the demo's export has one bad row, reported by line
    assert "12 pairs: 10 on track, 2 at risk" in out

    outbox = folder / "local" / "outbox"
    kinds = set()
    for path in outbox.glob("*.eml"):
        msg = message_from_bytes(path.read_bytes(), policy=DEFAULT_POLICY)
        kinds.add(str(msg["X-Rmcal-Key"]).split(":")[0])
    assert kinds == {"invite", "agenda", "feedback", "nudge", "digest"}
    for lead in ("amara.okafor", "mei.chen"):
        preview = folder / f"digest-{lead}.html"
        assert preview.is_file() and f"digest preview  {preview}" in out
        assert "Cadence heatmap" in preview.read_text()
    assert f"outbox          {outbox}" in out
    assert f"rmcal status --config {folder / 'config.yaml'}" in out


def test_demo_can_run_again_in_the_same_folder(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--dir", str(tmp_path), "--weeks", "1"])
    again = runner.invoke(main, ["demo", "--dir", str(tmp_path), "--weeks", "1"])
    assert first.exit_code == 0 and again.exit_code == 0, again.output
    assert first.output.split("3. ")[1] == again.output.split("3. ")[1]  # a fresh run each time
