"""One writer at a time on a state file: an advisory lock on ``<state>.lock``, on every platform.

Why a lock beside SQLite's own: a ``tick`` must hold the ledger for its whole run (read what is
due, send, record), not just for one transaction, so that an overlapping cron run waits
(``wait``) or stops with a message naming the holder instead of sending the same mail twice.
The lock file names the holding process and since when, for that message.

Why two implementations: POSIX has ``fcntl.flock`` and Windows, where many HR admins run rmcal,
has ``msvcrt.locking``; neither module exists on the other platform. Each is imported only when
a lock is taken, so that importing rmcal (``rmcal --help``) needs neither. Both give the same
guarantee: the lock belongs to the open file, and the operating system drops it when the process
ends, however it ends, so a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import errno
import importlib
import os
import time
from datetime import UTC
from pathlib import Path
from typing import Any, Protocol

from rmcal.errors import StateError, StateLocked
from rmcal.private import PRIVATE_FILE
from rmcal.provider import wall_clock

# Windows locks byte ranges, and a locked range cannot be read by another process: the lock
# sits on one byte far past the holder line, so a waiting process can still read who holds it.
WINDOWS_LOCK_OFFSET = 1 << 20
HOLDER_BYTES = 200


class Locker(Protocol):
    """Take or drop an exclusive lock on an open file, never blocking."""

    def try_lock(self, fd: int) -> bool:
        """True when this process now holds the lock; False when another process does."""
        ...

    def unlock(self, fd: int) -> None: ...


class PosixLocker:
    """``flock`` on the whole file (Linux, macOS, the BSDs)."""

    def try_lock(self, fd: int) -> bool:
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(self, fd: int) -> None:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


class WindowsLocker:
    """``msvcrt.locking`` on one byte at ``WINDOWS_LOCK_OFFSET`` (a range past the end of the
    file is allowed); ``LK_NBLCK`` fails at once with EACCES/EDEADLOCK when another holds it."""

    HELD = frozenset({errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK), errno.EDEADLK})

    def try_lock(self, fd: int) -> bool:
        msvcrt = _msvcrt()
        os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in self.HELD:
                return False
            raise
        return True

    def unlock(self, fd: int) -> None:
        msvcrt = _msvcrt()
        os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _msvcrt() -> Any:
    # Through importlib: type checkers on POSIX see no ``msvcrt`` attributes at all.
    return importlib.import_module("msvcrt")


def platform_locker() -> Locker:
    """The lock implementation of the running platform."""
    return WindowsLocker() if os.name == "nt" else PosixLocker()


def _lock_file(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def take_lock(path: Path, wait: float, locker: Locker | None = None) -> int:
    """Hold ``<path>.lock`` exclusively (waiting up to ``wait`` seconds); returns its descriptor."""
    locker = locker or platform_locker()
    lock_path = _lock_file(path)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), PRIVATE_FILE)
    except OSError as exc:
        raise StateError(f"cannot open the lock file {lock_path}: {exc}") from exc
    deadline = time.monotonic() + wait
    try:
        while not locker.try_lock(fd):
            if time.monotonic() >= deadline:
                holder = _read_holder(fd)
                raise StateLocked(
                    f"another rmcal process{holder} is using {path}; "
                    "wait for it to finish (or pass --wait SECONDS)"
                )
            time.sleep(0.1)
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    # The real time, even under --now: it tells an operator how long a live process has held it.
    since = wall_clock().astimezone(UTC).isoformat(timespec="seconds")
    os.write(fd, f"{os.getpid()} {since}\n".encode())
    return fd


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, HOLDER_BYTES).decode().split()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {text[0]}, since {text[1]})" if len(text) >= 2 else ""


def release_lock(fd: int, locker: Locker | None = None) -> None:
    """Let the next rmcal process in."""
    try:
        (locker or platform_locker()).unlock(fd)
    finally:
        os.close(fd)
