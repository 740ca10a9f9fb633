"""Starting the ``rmcal`` children the crash harness kills, and killing them.

A child runs through ``tests.crash.launch``: forked from a warm fork server by default, or in a
fresh interpreter (``fresh=True``). Either way it is a process of its own, known by its pid,
which is what the fake servers and the timers kill.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from contextlib import suppress
from pathlib import Path

from tests.crash.launch import Spec

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120.0  # a run that takes longer has hung


class Target:
    """The child to kill: its pid arrives when it starts, a kill may be asked for earlier."""

    def __init__(self) -> None:
        self._pid = 0
        self._known = threading.Event()
        self.killed = False

    def started(self, pid: int) -> None:
        self._pid = pid
        self._known.set()

    def kill(self) -> None:
        if not self._known.wait(30):
            raise RuntimeError("the child never started")
        self.killed = True
        with suppress(ProcessLookupError):  # it ended on its own meanwhile
            os.kill(self._pid, signal.SIGKILL)


class Runner:
    """Starts ``rmcal`` children: forked from a warm server (default) or fresh interpreters."""

    def __init__(self, scratch: Path, *, fresh: bool = False) -> None:
        self.scratch = scratch
        self.fresh = fresh
        self.runs = 0
        self._server: subprocess.Popen[str] | None = None
        if not fresh:
            self._server = subprocess.Popen(
                [sys.executable, "-m", "tests.crash.launch", "--serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=ROOT,
                text=True,
            )

    def run(self, spec: Spec, target: Target, *, timeout: float = TIMEOUT) -> int:
        """Run one child to its end; its exit code (-9 when killed)."""
        self.runs += 1
        watchdog = threading.Timer(timeout, target.kill)
        watchdog.daemon = True
        if self._server is None:
            spec_file = self.scratch / "spec.json"
            spec_file.write_text(json.dumps(spec.__dict__))
            child = subprocess.Popen(
                [sys.executable, "-m", "tests.crash.launch", str(spec_file)], cwd=ROOT
            )
            target.started(child.pid)
            watchdog.start()
            code = child.wait()
        else:
            assert self._server.stdin is not None and self._server.stdout is not None
            self._server.stdin.write(json.dumps(spec.__dict__) + "\n")
            self._server.stdin.flush()
            target.started(int(json.loads(self._server.stdout.readline())["pid"]))
            watchdog.start()
            code = int(json.loads(self._server.stdout.readline())["exit"])
        watchdog.cancel()
        return code

    def close(self) -> None:
        if self._server is not None and self._server.stdin is not None:
            self._server.stdin.close()
            self._server.wait(timeout=30)
