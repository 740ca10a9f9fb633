"""The local provider's folder: where each kind of file lives, and how every file is written.

Folder layout (created on first write)::

    <folder>/calendars/<series-key>.ics   one series each: VTIMEZONE, master VEVENT, overrides
    <folder>/busy/<email>.ics             optional exported calendars (free/busy input)
    <folder>/outbox/<utc-stamp>-<key-slug>-<hash>.eml   every message sent, invitations too
    <folder>/outbox/.smtp-pending/<key-slug>-<hash>     queued for SMTP, not yet accepted

Every write is atomic (temporary file in the same folder, fsync, rename): a crash leaves the old
file or the new one, never half of either. People and calendar apps read these files while rmcal
runs, so there is no other way to write one.

The calendars and the outbox name people and carry what they were sent, so rmcal keeps them
owner-only (folders 0700, files 0600), like the state file, and narrows them when it finds them
wider (``rmcal.private``). ``busy/`` is the admin's own input and is left as it is.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rmcal.private import narrow, write_private

NAME = "local"
CALENDARS = "calendars"
BUSY = "busy"
OUTBOX = "outbox"
PENDING = ".smtp-pending"


def secure_folders(folder: Path, log: logging.Logger) -> None:
    """Narrow rmcal's own subfolders (not ``busy/``) if other users can read them."""
    for sub in (folder / CALENDARS, folder / OUTBOX, folder / OUTBOX / PENDING):
        if sub.is_dir():
            narrow(sub, logger=log)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half,
    owner-only: ``rmcal.private.write_private`` (temporary file in the same folder, fsync,
    rename, folder fsync)."""
    write_private(path, data)
