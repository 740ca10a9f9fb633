"""The one-writer lock on both of its implementations, and an rmcal that imports on Windows.

CI runs on Linux, where ``msvcrt`` does not exist: the Windows implementation is tested against
a stand-in that keeps ``msvcrt.locking``'s contract (a byte range from the current position,
``LK_NBLCK`` failing at once with EACCES when another handle holds it, ``LK_UNLCK`` failing on a
range this handle does not hold), and the whole state file is opened through it.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from rmcal import lock
from rmcal.errors import StateLocked
from rmcal.lock import WINDOWS_LOCK_OFFSET, PosixLocker, WindowsLocker, release_lock, take_lock
from rmcal.store import Store

ROOT = Path(__file__).resolve().parent.parent


class FakeMsvcrt(types.ModuleType):
    """``msvcrt.locking`` as Windows documents it, over a table shared by the whole process."""

    LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = 0, 1, 2, 3, 4

    def __init__(self) -> None:
        super().__init__("msvcrt")
        self.held: dict[tuple[int, int, int, int], int] = {}
        self.calls: list[tuple[int, int, int]] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        info = os.fstat(fd)
        position = os.lseek(fd, 0, os.SEEK_CUR)
        region = (info.st_dev, info.st_ino, position, nbytes)
        self.calls.append((mode, position, nbytes))
        owner = self.held.get(region)
        if mode == self.LK_NBLCK:
            if owner is not None and owner != fd:
                raise OSError(errno.EACCES, "Permission denied")
            self.held[region] = fd
        elif mode == self.LK_UNLCK:
            if owner != fd:
                raise OSError(errno.EACCES, "Permission denied")
            del self.held[region]
        else:
            raise AssertionError(f"rmcal must never block or share-lock (mode {mode})")


@pytest.fixture
def msvcrt(monkeypatch: pytest.MonkeyPatch) -> FakeMsvcrt:
    fake = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    return fake


@pytest.fixture
def on_windows(monkeypatch: pytest.MonkeyPatch, msvcrt: FakeMsvcrt) -> FakeMsvcrt:
    monkeypatch.setattr(lock, "platform_locker", WindowsLocker)
    return msvcrt


def test_the_windows_lock_excludes_a_second_writer_and_lets_it_in_after_release(
    tmp_path: Path, msvcrt: FakeMsvcrt
):
    locker = WindowsLocker()
    first = take_lock(tmp_path / "state.db", 0, locker)
    with pytest.raises(StateLocked, match=r"another rmcal process \(pid \d+, since "):
        take_lock(tmp_path / "state.db", 0.2, locker)
    release_lock(first, locker)
    second = take_lock(tmp_path / "state.db", 0, locker)
    release_lock(second, locker)
    # One byte far past the holder line, locked without blocking and unlocked by its owner.
    assert {(mode, at, size) for mode, at, size in msvcrt.calls} == {
        (FakeMsvcrt.LK_NBLCK, WINDOWS_LOCK_OFFSET, 1),
        (FakeMsvcrt.LK_UNLCK, WINDOWS_LOCK_OFFSET, 1),
    }
    assert not msvcrt.held


def test_the_holder_line_stays_readable_beside_the_windows_lock(tmp_path: Path, msvcrt):
    fd = take_lock(tmp_path / "state.db", 0, WindowsLocker())
    try:
        text = (tmp_path / "state.db.lock").read_text()
        assert text.split()[0] == str(os.getpid())
        assert len(text.encode()) < WINDOWS_LOCK_OFFSET
    finally:
        release_lock(fd, WindowsLocker())


def test_an_unexpected_windows_error_is_not_mistaken_for_a_holder(tmp_path: Path, msvcrt):
    def broken(fd: int, mode: int, nbytes: int) -> None:
        raise OSError(errno.EBADF, "Bad file descriptor")

    msvcrt.locking = broken  # type: ignore[method-assign]
    with pytest.raises(OSError, match="Bad file descriptor"):
        take_lock(tmp_path / "state.db", 5, WindowsLocker())


def test_the_state_file_keeps_one_writer_through_the_windows_lock(tmp_path: Path, on_windows):
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        with pytest.raises(StateLocked):
            Store.open(path, wait=0.2)
        store.put("ns", "k", "v")
    assert not on_windows.held  # closing released it
    with Store.open(path) as again:
        assert again.get("ns", "k") == "v"


def test_the_posix_lock_excludes_a_second_writer(tmp_path: Path):
    locker = PosixLocker()
    first = take_lock(tmp_path / "state.db", 0, locker)
    with pytest.raises(StateLocked):
        take_lock(tmp_path / "state.db", 0.2, locker)
    release_lock(first, locker)
    release_lock(take_lock(tmp_path / "state.db", 0, locker), locker)


def test_the_platform_picks_its_own_lock(monkeypatch: pytest.MonkeyPatch):
    assert isinstance(lock.platform_locker(), PosixLocker if os.name == "posix" else WindowsLocker)


POSIX_ONLY = ("fcntl", "termios", "tty", "pwd", "grp", "resource", "pty", "posix")


def test_rmcal_help_imports_nothing_posix_only():
    """As on Windows: importing any POSIX-only module fails; ``rmcal --help`` and every
    command's help must still work, and the state file module must import."""
    script = (
        "import sys\n"
        f"for name in {POSIX_ONLY!r}:\n"
        "    if name != 'posix':\n"
        "        sys.modules[name] = None\n"
        "import rmcal.store, rmcal.lock, rmcal.runtime\n"
        "from rmcal.cli import main\n"
        "for args in (['--help'], ['schedule', '--help'], ['tick', '--help'],\n"
        "             ['state', 'backup', '--help'], ['forget', '--help']):\n"
        "    try:\n"
        "        main(args, prog_name='rmcal')\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, (args, exc.code)\n"
        "loaded = [m for m in " + repr(POSIX_ONLY[:-1]) + " if sys.modules.get(m) is not None]\n"
        "assert not loaded, loaded\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "Usage: rmcal [OPTIONS] COMMAND" in run.stdout
