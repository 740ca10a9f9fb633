"""Owner-only files: what rmcal keeps about people is readable by the user who runs it, no one else.

Why: the state file holds respondents' e-mails and free-text feedback (the feedback mail
promises answers "read by the programme team only"), a token cache can act as the organizer's
mailbox, and the local outbox keeps every message sent. Each is created owner-only (files
0600, folders 0700), and one found wider when rmcal opens it (copied with a loose umask, made
by an older rmcal) is narrowed, with a warning that names it.

On Windows a new file inherits its folder's access list and ``chmod`` only sets read-only, so
the mode checks are POSIX only there; keep the state file in the profile of the user who runs
rmcal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_OTHERS = 0o077  # group and others, every permission

log = logging.getLogger("rmcal")


def enforced() -> bool:
    """Whether file modes mean anything here (POSIX): on Windows the folder's access list rules."""
    return os.name == "posix"


def private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents owner-only; existing folders are left as they are."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=PRIVATE_DIR)
            if enforced():
                os.chmod(folder, PRIVATE_DIR)  # mkdir's mode passes through the umask


def create_private_file(path: Path) -> bool:
    """Create an empty ``path`` owner-only unless it exists; True when this call created it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def narrow(path: Path, *, logger: logging.Logger | None = None) -> bool:
    """Take group and other users' access away from an existing ``path``, warning when there was
    any; True when the mode changed. A missing path, or Windows, is left alone."""
    if not enforced():
        return False
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return False
    if not mode & _OTHERS:
        return False
    wanted = mode & ~_OTHERS
    target = logger or log
    try:
        os.chmod(path, wanted)
    except OSError as exc:
        target.warning(
            "%s can be read by other users (mode %04o) and rmcal cannot change that (%s); "
            "make it owner-only: chmod go-rwx %s",
            path,
            mode,
            exc.strerror or exc,
            path,
        )
        return False
    target.warning(
        "%s could be read by other users (mode %04o); rmcal made it owner-only (%04o)",
        path,
        mode,
        wanted,
    )
    return True


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, owner-only and atomically: readers see the old file or
    the new one, never half, and a crash leaves no stray temporary file for long.

    The temporary file lives in the same folder (same file system, so ``os.replace`` is an
    atomic rename) and is fsynced before the rename; the folder is fsynced after it. An error
    removes it at once; a process killed outright cannot, so the temporary file is named after
    the writing process, and the next process to write into the folder removes those whose
    writer is gone (``remove_leftovers``).
    """
    private_dir(path.parent)
    remove_leftovers(path.parent)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX
    )
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp makes the file 0600 on every platform
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # some file systems (and Windows) cannot fsync a folder
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


TEMP_SUFFIX = ".tmp"
_cleaned: set[Path] = set()  # folders this process already cleared of leftovers


def remove_leftovers(folder: Path) -> list[Path]:
    """Delete the temporary files that writers killed mid-write left in ``folder``; once per
    folder and process. Returns what was deleted.

    Found by the crash harness (tests/crash/): a SIGKILL between writing the temporary file and
    renaming it leaves ``.<name>.<pid>.<random>.tmp`` behind. One is a leftover when no process
    has its pid any more; one of a live process (a write in progress) is never touched, and a
    pid taken again by a new process only keeps a leftover longer. POSIX only: elsewhere
    nothing says whether a process lives without disturbing it.
    """
    if folder in _cleaned or os.name != "posix":
        return []
    _cleaned.add(folder)
    removed = []
    for leftover in folder.glob(f".*{TEMP_SUFFIX}"):
        parts = leftover.name[: -len(TEMP_SUFFIX)].rsplit(".", 2)
        if len(parts) == 3 and parts[1].isdigit() and not _alive(int(parts[1])):
            with contextlib.suppress(OSError):
                leftover.unlink()
                removed.append(leftover)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process: perhaps another thread's write in progress
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only whether the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, under another user
    return True
