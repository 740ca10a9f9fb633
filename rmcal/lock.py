"""One writer at a time on a state file: an advisory ``flock`` on ``<state>.lock``.

Why a lock beside SQLite's own: a ``tick`` must hold the ledger for its whole run (read what is
due, send, record), not just for one transaction, so that an overlapping cron run waits
(``wait``) or stops with a message naming the holder instead of sending the same mail twice.
The lock file names the holding process and since when, for that message.
"""

from __future__ import annotations

import fcntl
import os
import time
from datetime import UTC
from pathlib import Path

from rmcal.errors import StateError, StateLocked
from rmcal.provider import wall_clock


def _lock_file(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def take_lock(path: Path, wait: float) -> int:
    """Hold ``<path>.lock`` exclusively (waiting up to ``wait`` seconds); returns its descriptor."""
    lock_path = _lock_file(path)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StateError(f"cannot open the lock file {lock_path}: {exc}") from exc
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _read_holder(fd)
                os.close(fd)
                raise StateLocked(
                    f"another rmcal process{holder} is using {path}; "
                    "wait for it to finish (or pass --wait SECONDS)"
                ) from None
            time.sleep(0.1)
    os.ftruncate(fd, 0)
    # The real time, even under --now: it tells an operator how long a live process has held it.
    since = wall_clock().astimezone(UTC).isoformat(timespec="seconds")
    os.write(fd, f"{os.getpid()} {since}\n".encode())
    return fd


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode().split()
    except OSError:
        return ""
    return f" (pid {text[0]}, since {text[1]})" if len(text) >= 2 else ""


def release_lock(fd: int) -> None:
    """Let the next rmcal process in."""
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
