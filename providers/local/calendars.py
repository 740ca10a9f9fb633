"""The ``calendars/`` folder: one series file per key, read back every time, written checked.

Why a class of its own: the files are the truth (people edit them between runs), so every read
goes to the disk; parsing is slow enough that an unchanged file (same mtime, size and inode) is
not parsed twice. Each failure becomes a ``ProviderError`` naming the file and the remedy.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from pathlib import Path

from rmcal.errors import ProviderError

from . import ics
from .files import CALENDARS, NAME, atomic_write

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_Stamp = tuple[int, int, int]


class CalendarFolder:
    """``<folder>/calendars``: series files by key, parsed with ``zone`` for floating times."""

    def __init__(self, folder: Path, zone: tzinfo) -> None:
        self.folder = folder / CALENDARS
        self.zone = zone
        self._cache: dict[Path, tuple[_Stamp, ics.SeriesFile]] = {}

    def path(self, key: str) -> Path:
        """Where the series ``key`` lives; a key that cannot be a file name is refused."""
        if not _SAFE_KEY.match(key):
            raise ValueError(f"series key {key!r} cannot be a file name")
        return self.folder / f"{key}.ics"

    def read(self, path: Path) -> ics.SeriesFile:
        """Parse one series file (cached while unchanged); a bad file is a ProviderError."""
        try:
            info = path.stat()
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
            cached = self._cache.get(path)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            data = path.read_bytes()
        except OSError as exc:
            raise ProviderError(
                NAME,
                f"read {path}",
                exc.strerror or str(exc),
                remedy="check that the folder is readable by the user running rmcal",
                retryable=True,
            ) from exc
        try:
            parsed = ics.read_series(data, stem=path.stem, zone=self.zone)
        except ics.IcsError as exc:
            raise ProviderError(
                NAME,
                f"read {path}",
                str(exc),
                remedy="fix the file (RFC 5545 text) or move it out of the calendars folder",
            ) from exc
        self._cache[path] = (stamp, parsed)
        return parsed

    def existing(self, key: str) -> tuple[Path, ics.SeriesFile]:
        """The file of a series rmcal made; gone is a ProviderError (someone deleted it)."""
        path = self.path(key)
        if not path.exists():
            raise ProviderError(
                NAME,
                f"read {path}",
                "the series file no longer exists (deleted by hand?)",
                remedy="run rmcal schedule again to re-create it",
            )
        return path, self.read(path)

    def all(self) -> list[tuple[Path, ics.SeriesFile]]:
        """Every series file in name order (hidden files, such as temporary ones, left out)."""
        if not self.folder.is_dir():
            return []
        return [
            (path, self.read(path))
            for path in sorted(self.folder.glob("*.ics"))
            if not path.name.startswith(".")
        ]

    def parse(self, path: Path, data: bytes) -> ics.SeriesFile:
        """What ``data`` would read back as at ``path`` (raises IcsError)."""
        return ics.read_series(data, stem=path.stem, zone=self.zone)

    def write(self, path: Path, data: bytes) -> ics.SeriesFile:
        """Check what we are about to write parses back, then write it atomically."""
        parsed = self.parse(path, data)
        atomic_write(path, data)
        info = path.stat()
        self._cache[path] = ((info.st_mtime_ns, info.st_size, info.st_ino), parsed)
        return parsed

    def clear(self) -> None:
        """Forget every parsed file (the next read goes to the disk)."""
        self._cache.clear()
