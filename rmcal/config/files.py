"""Reading a file an admin named, safely: before any parser sees a byte of it.

Why a module of its own: every input rmcal reads (the config, an HR export, a form export, a
template override) comes from a path someone typed, and a path can name a FIFO that blocks on
``open`` forever, ``/dev/zero`` that never ends, a folder, or a 2 GB log file. So each read opens
without blocking, accepts regular files only, refuses a file over its size cap before reading it,
and turns bad UTF-8 or a control character into one ``ConfigError`` naming the file and line.
Other readers (``rmcal match``'s people list, for instance) import these helpers too.

The limits are documented in the README ("Input limits") and ``docs/config.md``.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import Any

from rmcal.errors import ConfigError

MB = 1024 * 1024
CONFIG_LIMIT = 1 * MB  # a 5,000-pair programme is under 1 MB; larger lists belong in pairs_csv
CSV_LIMIT = 20 * MB  # an HR export or a form export
TEMPLATE_LIMIT = 256 * 1024  # one template of a programme's own
BOM = b"\xef\xbb\xbf"
LIMITS_HINT = "see 'Input limits' in the README"
NAME_MAX = 255  # bytes in one path component (ext4, APFS, NTFS)
PATH_MAX = 4096  # bytes in a whole path (Linux)


def describe_char(char: str) -> str:
    """A character as a message shows it: ``U+001B (ESCAPE)``."""
    name = unicodedata.name(char, "")
    category = unicodedata.category(char)
    if not name and category == "Cc":
        name = _CONTROL_NAMES.get(ord(char), "a control character")
    elif category == "Cs":
        name = "half of a surrogate pair, not a character"
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


_CONTROL_NAMES = {
    0x00: "NUL",
    0x07: "BEL",
    0x08: "BACKSPACE",
    0x09: "TAB",
    0x0A: "LINE FEED",
    0x0D: "CARRIAGE RETURN",
    0x0B: "VERTICAL TAB",
    0x0C: "FORM FEED",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
    0x9B: "CONTROL SEQUENCE INTRODUCER",
    0x9D: "OPERATING SYSTEM COMMAND",
}


# Characters no text file rmcal reads may hold: C0 controls other than tab, line feed and
# carriage return, DEL, the C1 controls, lone surrogates and the byte-order mark inside a file.
# They are invisible, they corrupt headers and terminals, and YAML itself forbids most of them.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff]")


def first_forbidden(text: str) -> int | None:
    """The index of the first character no input file may contain (see the module's list)."""
    match = FORBIDDEN.search(text)
    return match.start() if match else None


def read_source(
    path: str | Path,
    *,
    shown: str,
    limit: int,
    what: str = "the file",
    line: int | None = None,
    key: str | None = None,
    file: str | None = None,
) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    ``shown`` is how messages name the file (as the admin typed it), ``what`` how they call it
    ("the config file"). Problems point at ``file``/``line``/``key`` when given (the config line
    that named the file), else at ``shown``. Opening never blocks (a FIFO is opened non-blocking,
    then refused), devices and folders are refused, and a file larger than ``limit`` is refused
    before it is read, so no input can hang rmcal or exhaust its memory.
    """
    where: dict[str, Any] = {"file": file or shown, "line": line, "key": key}
    check_path(str(path), **where)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ConfigError(_os_problem(exc, what), **where) from None
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind is not None:
            raise ConfigError(f"{what} is {kind}, not a regular file", **where)
        too_big = f"{what} is {{}}more than the {_size(limit)} limit"
        if info.st_size > limit:
            raise ConfigError(too_big.format(f"{_size(info.st_size)}, "), **where, hint=LIMITS_HINT)
        chunks: list[bytes] = []
        total = 0
        while True:  # the size can change between fstat and read: count what really comes
            chunk = os.read(fd, min(MB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise ConfigError(too_big.format(""), **where, hint=LIMITS_HINT)
        return b"".join(chunks)
    except OSError as exc:
        raise ConfigError(_os_problem(exc, what), **where) from None
    finally:
        os.close(fd)


def decode_text(data: bytes, *, shown: str, hint: str = "save it as UTF-8") -> str:
    """UTF-8 text (a leading byte-order mark allowed, as Excel writes CSV), or a ConfigError
    naming the line and column of the first bad byte or forbidden character."""
    bom = len(BOM) if data.startswith(BOM) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _position(data[bom : bom + exc.start])
        raise ConfigError(
            f"the file is not UTF-8 text (byte {bom + exc.start}, column {column})",
            file=shown,
            line=line,
            hint=hint,
        ) from None
    check_characters(text, shown=shown)
    return text


def check_characters(text: str, *, shown: str) -> None:
    """Refuse a control character or lone surrogate anywhere in ``text``, naming its line."""
    index = first_forbidden(text)
    if index is not None:
        line = text.count("\n", 0, index) + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        raise ConfigError(
            f"the character {describe_char(text[index])} at column {column} is not allowed",
            file=shown,
            line=line,
            hint="remove it; only tabs and line breaks may appear in the file",
        )


def check_path(
    path: str, *, file: str | None, line: int | None = None, key: str | None = None
) -> None:
    """A path the file system can hold: no NUL, no component over 255 bytes, 4096 in all.

    Checked before the path is used, because the OS's own refusal comes as an exception from
    whichever call touches it first (a ``stat`` deep in a provider, a SQLite ``open``).
    """
    where: dict[str, Any] = {"file": file, "line": line, "key": key}
    if "\x00" in path:
        raise ConfigError("a path cannot contain a NUL character", **where)
    encoded = os.fsencode(path)
    if len(encoded) > PATH_MAX:
        raise ConfigError(f"the path is {len(encoded)} bytes long, more than {PATH_MAX}", **where)
    for part in encoded.split(b"/"):
        if len(part) > NAME_MAX:
            shown_part = os.fsdecode(part[:24]) + "..."
            raise ConfigError(
                f"the path component {shown_part!r} is {len(part)} bytes long, "
                f"more than {NAME_MAX}",
                **where,
            )


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _os_problem(exc: OSError, what: str) -> str:
    if exc.errno == errno.EISDIR:
        return f"{what} is a folder, not a regular file"
    return f"cannot read {what}: {exc.strerror or exc}"


def _size(count: int) -> str:
    """A size in a message: a limit exactly (``256 KB``), a file's size to a tenth of a MB."""
    for unit, name in ((MB, "MB"), (1024, "KB")):
        if count >= unit and count % unit == 0:
            return f"{count // unit} {name}"
    if count >= MB:
        return f"{count / MB:.1f} MB"
    return f"{count:,} bytes"


def _position(prefix: bytes) -> tuple[int, int]:
    """Line and column (1-based, in characters) just after ``prefix`` of a UTF-8 file."""
    line = prefix.count(b"\n") + 1
    last = prefix[prefix.rfind(b"\n") + 1 :]
    return line, len(last.decode("utf-8", errors="replace")) + 1
