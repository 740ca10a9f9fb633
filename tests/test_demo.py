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


def test_demo_refuses_a_folder_with_someone_elses_files_and_changes_nothing(tmp_path: Path):
    mine = tmp_path / "config.yaml"
    mine.write_text("programme: {name: my real programme}\n")
    (tmp_path / "state.db").write_bytes(b"my state")
    before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path), "--weeks", "1"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        f"rmcal: error: --dir: {tmp_path} is not empty and was not made by rmcal demo; nothing "
        "was changed; name a new or empty folder (rmcal demo only reuses folders it made itself)"
    )
    assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == before


def test_demo_takes_an_empty_folder_and_marks_it_as_its_own(tmp_path: Path):
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path), "--weeks", "1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / ".rmcal-demo").is_file()
    assert (tmp_path / "local" / "calendars").is_dir()


def test_a_relative_dir_does_not_nest(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["demo", "--dir", "demo", "--weeks", "1"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "demo"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["local"]
    assert (folder / "state.db").is_file() and (folder / "local" / "outbox").is_dir()
    assert f"rmcal status --config {folder / 'config.yaml'}" in result.output
    # The config it wrote resolves against its own folder, wherever the command runs from.
    monkeypatch.chdir("/")
    status = CliRunner().invoke(
        main, ["status", "--config", str(folder / "config.yaml"), "--now", "2027-01-11"]
    )
    assert status.exit_code == 0, status.output
    assert not (folder / "demo").exists()
