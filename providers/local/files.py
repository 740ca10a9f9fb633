"""The local provider's folder: where each kind of file lives, and how every file is written.

Folder layout (created on first write)::

    <folder>/calendars/<series-key>.ics   one series each: VTIMEZONE, master VEVENT, overrides
    <folder>/busy/<email>.ics             optional exported calendars (free/busy input)
    <folder>/outbox/<utc-stamp>-<key-slug>-<hash>.eml   every message sent, invitations too
    <folder>/outbox/.smtp-pending/<key-slug>-<hash>     queued for SMTP, not yet accepted

Every write is atomic (temporary file in the same folder, fsync, rename): a crash leaves the old
file or the new one, never half of either. People and calendar apps read these files while rmcal
runs, so there is no other way to write one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

NAME = "local"
CALENDARS = "calendars"
BUSY = "busy"
OUTBOX = "outbox"
PENDING = ".smtp-pending"


def _file_mode() -> int:
    """The mode a plain ``open()`` would give a new file (mkstemp's 0600 would hide it)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The temporary file lives in the same folder (same file system, so ``os.replace`` is an
    atomic rename) and is fsynced before the rename; the folder is fsynced after it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
