"""Running one command in a child process and reading what it cost: wall, CPU, peak RSS.

Why a child: the fake servers run in the benchmark's own process (threads that sleep through
their latency), so the client's CPU and memory must be measured apart from theirs. ``os.wait4``
gives the child's own CPU time, as the kernel counted it; the child reports its own peak RSS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ChildRun:
    """What one child process did and cost."""

    code: int
    output: str
    wall: float  # seconds
    cpu: float  # user + system seconds of the child
    peak_rss_mb: float


def run_child(args: list[str], *, env: dict[str, str], cwd: Path) -> ChildRun:
    """Run ``python args...`` and wait for it; its output is read from a file (no pipe limits).

    Peak RSS is the child's own ``VmHWM`` (``bench.peak``), not ``ru_maxrss``: Linux carries
    the high-water mark of the forked copy of this process (which holds the fake servers'
    calendars) across ``exec`` into ``ru_maxrss``, so that figure would be the benchmark's.
    """
    with tempfile.TemporaryFile() as sink, tempfile.NamedTemporaryFile("r") as peak:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.peak", peak.name, *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env={**os.environ, **env},
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        sink.seek(0)
        output = sink.read().decode("utf-8", "replace")
        kilobytes = peak.read().strip()
    return ChildRun(
        code=process.returncode,
        output=output,
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=int(kilobytes) / 1024 if kilobytes else float("nan"),
    )
