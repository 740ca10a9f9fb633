"""``rmcal.config.files``: what a file must be before any parser reads it.

A FIFO, a device, a folder, a file over its cap, bad UTF-8, a control character, a path the
file system cannot hold: each is one ``ConfigError`` naming the file (and line), never a hang,
a traceback or a read of gigabytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rmcal.config.files import (
    CONFIG_LIMIT,
    check_characters,
    check_path,
    decode_text,
    read_source,
)
from rmcal.errors import ConfigError
from tests.config.helpers import FIXTURES, ROOT, load
from tests.deadline import deadline


def message(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as caught:
        call()
    assert caught.value.exit_code == 2
    return str(caught.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_as_config_is_refused_without_blocking(tmp_path: Path) -> None:
    """Opening a FIFO for reading blocks until a writer comes; rmcal must not wait for one."""
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-m", "rmcal", "validate", "-c", str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"rmcal: error: {fifo}: the config file is a FIFO (named pipe), not a regular file\n"
    )


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_as_config_is_refused_before_reading_it() -> None:
    assert message(lambda: load("/dev/zero")) == (
        "/dev/zero: the config file is a device, not a regular file"
    )


def test_a_folder_as_config_is_refused(tmp_path: Path) -> None:
    assert message(lambda: load(tmp_path)) == (
        f"{tmp_path}: the config file is a folder, not a regular file"
    )


def test_a_config_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    assert message(lambda: load(big)) == (
        f"{big}: the config file is 50 MB, more than the 1 MB limit; "
        "see 'Input limits' in the README"
    )


def test_the_cap_counts_bytes_read_not_the_size_the_file_claims(tmp_path: Path) -> None:
    """A /proc file says it is empty and is not; the read itself is bounded too."""
    claims_nothing = Path("/proc/self/status")
    if not claims_nothing.exists() or claims_nothing.stat().st_size != 0:
        pytest.skip("needs a /proc file that reports size 0")
    problem = message(lambda: read_source(claims_nothing, shown="status", limit=10))
    assert (
        problem
        == "status: the file is more than the 10 bytes limit; see 'Input limits' in the README"
    )


def test_a_config_at_the_cap_is_read(tmp_path: Path) -> None:
    text = (FIXTURES / "valid_minimal.yaml").read_text()
    padded = tmp_path / "padded.yaml"
    padded.write_text(text + "#" * (CONFIG_LIMIT - len(text) - 1) + "\n")
    assert padded.stat().st_size == CONFIG_LIMIT
    assert load(padded).programme.name == "Test programme"


def test_an_hr_export_that_is_a_fifo_points_at_the_config_line(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(tmp_path / "export.csv")
    config = tmp_path / "programme.yaml"
    config.write_text((FIXTURES / "valid_minimal.yaml").read_text() + "    pairs_csv: export.csv\n")
    with deadline():
        problem = message(lambda: load(config))
    assert problem == (
        f"{config}:14: cohorts[0].pairs_csv: '{tmp_path / 'export.csv'}' is a FIFO (named pipe), "
        "not a regular file"
    )


def test_bad_utf8_after_a_byte_order_mark_names_line_and_column() -> None:
    data = b"\xef\xbb\xbfname: ok\nname: Jos\xe9\n"
    assert message(lambda: decode_text(data, shown="x.yaml")) == (
        "x.yaml:2: the file is not UTF-8 text (byte 21, column 10); save it as UTF-8"
    )


@pytest.mark.parametrize(
    ("char", "shown"),
    [
        ("\x1b", "U+001B (ESCAPE)"),
        ("\x00", "U+0000 (NUL)"),
        ("\x85", "U+0085 (NEXT LINE)"),
        ("\x9d", "U+009D (OPERATING SYSTEM COMMAND)"),
        ("\ufeff", "U+FEFF (ZERO WIDTH NO-BREAK SPACE)"),
    ],
)
def test_control_characters_in_a_file_are_refused_with_their_line(char: str, shown: str) -> None:
    text = f"a: 1\nb: x{char}y\n"
    assert message(lambda: check_characters(text, shown="f.yaml")) == (
        f"f.yaml:2: the character {shown} at column 5 is not allowed; "
        "remove it; only tabs and line breaks may appear in the file"
    )


def test_tabs_and_line_breaks_are_fine() -> None:
    check_characters("a:\tb\r\nc: d\n", shown="f.yaml")


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("a\x00b", "a path cannot contain a NUL character"),
        (
            "/tmp/" + "x" * 256,
            "the path component 'xxxxxxxxxxxxxxxxxxxxxxxx...' is 256 bytes long, more than 255",
        ),
        ("/" + "/".join(["y" * 200] * 21), "the path is 4221 bytes long, more than 4096"),
    ],
    ids=["nul", "long-component", "long-path"],
)
def test_paths_the_file_system_cannot_hold(path: str, problem: str) -> None:
    assert message(lambda: check_path(path, file="c.yaml", line=3, key="state")) == (
        f"c.yaml:3: state: {problem}"
    )


def test_a_config_path_with_an_overlong_component(tmp_path: Path) -> None:
    """The path as typed on the command line: an OS error in a stat() deep down otherwise."""
    path = tmp_path / ("c" * 300 + ".yaml")
    assert message(lambda: load(path)).endswith("is 305 bytes long, more than 255")
