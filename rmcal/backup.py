"""``rmcal state backup``: a consistent copy of the state file, safe while rmcal runs.

Why not ``cp``: the state file is SQLite in WAL mode, so recent transactions live in its
``-wal`` file until a checkpoint, and a file copied while a ``tick`` writes can be torn.
SQLite's online backup API copies a consistent snapshot instead. The copy is one
self-contained file (rollback journal, not WAL), owner-only like the original, and it is
checked with ``PRAGMA integrity_check`` before it takes its name: a failed backup never
replaces a good one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rmcal.errors import ConfigError, StateError
from rmcal.private import private_dir
from rmcal.schema import TABLES
from rmcal.store import Store, state_files


@dataclass(frozen=True)
class Backup:
    """What was written: where, which schema, how many rows per table, how many bytes."""

    target: Path
    schema: int
    rows: dict[str, int]
    size: int


def backup_state(store: Store, target: Path, *, overwrite: bool = False) -> Backup:
    """Copy the open state file to ``target`` (refusing to replace a file unless ``overwrite``)."""
    target = Path(os.path.abspath(target))
    if target in {Path(os.path.abspath(p)) for p in state_files(store.path)}:
        raise ConfigError(
            f"{target} is the state file itself", key="FILE", hint="name another file"
        )
    if target.exists() and not overwrite:
        raise ConfigError(
            f"{target} already exists; nothing was written",
            key="FILE",
            hint="name a new file, or pass --overwrite to replace it",
        )
    try:
        private_dir(target.parent)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise StateError(f"cannot write a backup in {target.parent}: {exc}") from exc
    os.close(fd)  # mkstemp made it owner-only; SQLite fills it (an empty file is a new database)
    try:
        copy = sqlite3.connect(tmp, isolation_level=None)
        try:
            store.copy_to(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise StateError(
                    f"the backup of {store.path} failed its integrity check: {verdict}"
                )
            schema = int(copy.execute("PRAGMA user_version").fetchone()[0])
            rows = {t: int(copy.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in TABLES}
        finally:
            copy.close()
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Backup(target=target, schema=schema, rows=rows, size=target.stat().st_size)
