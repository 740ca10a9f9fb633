"""Atomic writes: a crash leaves the old file or the new one, never half, never a stray temp."""

from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from rmcal_providers.local.files import atomic_write

from rmcal.provider import (
    ItemFailure,
    Series,
)
from tests.local.helpers import (
    leftovers,
    london,
    provider,
    spec,
)


def test_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "deep" / "file.ics"
    atomic_write(target, b"old")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []

    monkeypatch.undo()
    p = provider(tmp_path)
    s = spec(start=london(2025, 3, 19, 14, 0))
    monkeypatch.setattr(os, "replace", crash)
    result = p.create_series([s])[s.key]
    assert isinstance(result, ItemFailure) and result.retryable
    assert not (p.folder / "calendars" / f"{s.key}.ics").exists()
    assert leftovers(p.folder) == []
    monkeypatch.undo()
    assert isinstance(p.create_series([s])[s.key], Series)
    assert leftovers(p.folder) == []


posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX only")

KILLED_MID_WRITE = """
import os, signal, sys
from pathlib import Path
from rmcal.private import write_private
os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)  # dies before the rename
write_private(Path(sys.argv[1]), b"half-way")
"""


@posix_only
def test_a_write_killed_outright_leaves_its_temporary_file_only_until_the_next_write(
    tmp_path: Path,
) -> None:
    # Found by the crash harness (tests/crash/): SIGKILL runs no cleanup, so the temporary file
    # of a write killed before its rename stayed in the folder for good.
    target = tmp_path / "calendars" / "series.ics"
    target.parent.mkdir()
    target.write_bytes(b"old")
    killed = subprocess.Popen([sys.executable, "-c", KILLED_MID_WRITE, str(target)])
    assert killed.wait() == -signal.SIGKILL
    (stray,) = leftovers(tmp_path)
    assert stray.name.startswith(f".series.ics.{killed.pid}.")
    assert target.read_bytes() == b"old"
    # A write in progress in another live process (here: this one's parent) is left alone.
    live = target.parent / f".other.ics.{os.getppid()}.abcd1234.tmp"
    live.write_bytes(b"being written")
    atomic_write(target.parent / "another.ics", b"new")  # this process's first write there
    assert leftovers(tmp_path) == [live] and target.read_bytes() == b"old"
    assert not stray.exists()


@posix_only
def test_calendars_and_the_outbox_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        p = provider(tmp_path)
        s = spec(start=london(2025, 3, 19, 14, 0))
        assert not isinstance(p.create_series([s])[s.key], ItemFailure)
    finally:
        os.umask(old)
    folder = tmp_path / "rm"
    written = [f for f in folder.rglob("*") if f.is_file()]
    assert {f.parent.name for f in written} == {"calendars", "outbox"}
    assert {stat.S_IMODE(f.stat().st_mode) for f in written} == {0o600}
    for sub in (folder, folder / "calendars", folder / "outbox"):
        assert stat.S_IMODE(sub.stat().st_mode) == 0o700, sub


@posix_only
def test_a_readable_outbox_is_narrowed_when_the_provider_opens(tmp_path: Path, caplog) -> None:
    outbox = tmp_path / "rm" / "outbox"
    outbox.mkdir(parents=True)
    outbox.chmod(0o755)
    (tmp_path / "rm" / "busy").mkdir(mode=0o755)
    with caplog.at_level(logging.WARNING):
        provider(tmp_path)
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "rm" / "busy").stat().st_mode) == 0o755  # the admin's own
    assert f"{outbox} could be read by other users (mode 0755)" in caplog.text
