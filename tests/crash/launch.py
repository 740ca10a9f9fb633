"""Run the real ``rmcal`` command in a child process that dies by SIGKILL at its k-th file write.

Why a launcher and not a hook in rmcal: every file rmcal keeps is written in one of two ways,
``os.replace`` of a finished temporary file (``rmcal.private.write_private``: calendars, the
outbox, token caches) or a SQLite ``COMMIT`` (``rmcal.store``: the ledger, the series cache).
Wrapping those two calls from outside counts every write without a line of test code in the
product: ``os.replace`` is looked up on the ``os`` module at each call, and ``sqlite3.connect``
is given a connection class whose ``execute`` sees the ``COMMIT``. The code under test is the
real code, unchanged: the click group ``rmcal.cli.main`` with the real argv, its own process,
pid, files, sockets and SQLite connection. The kill is the real signal, sent by the process to
itself, so no ``finally`` and no ``except BaseException`` runs.

Two moments per write: ``before`` (the temporary file is complete but not renamed; the
transaction is open but not committed) and ``after`` (renamed; committed), so that both the
write that never happened and the write whose caller never learnt of it are covered.

Every write is also logged, one line each (``replace <path>`` or ``commit``), to a file the
harness names, with unbuffered ``os.write`` so that the line survives the kill; an uninterrupted
run's log is how the harness knows how many writes a command makes, to kill at each one.

Two ways to start the child:

* **fresh**: ``python -m tests.crash.launch SPEC.json``, a new interpreter per run;
* **fork server**: ``python -m tests.crash.launch --serve`` imports rmcal and its providers
  once, then forks one child per request read from stdin (a JSON spec per line), answering with
  ``{"pid": ...}`` at once and ``{"exit": ...}`` when the child ends. A forked child is as real
  a process as a fresh one (fork, then the same code path); it only skips the half second of
  interpreter start-up and imports, which is what lets CI afford hundreds of runs. The server
  itself never opens a socket, a file in the programme's folder or a thread before it forks.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import sqlite3
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# What a forked child would otherwise import on its first steps: the CLI, the commands the
# harness runs and the library behind them (the CLI loads both lazily), and every provider.
PRELOAD = (
    "rmcal.cli",
    "rmcal.cli.schedule",
    "rmcal.cli.loop",
    "rmcal.cli.outbox",
    "rmcal.runtime",
    "rmcal.schedule",
    "rmcal.tick",
    "rmcal.status",
    "rmcal.digest",
    "rmcal.outbox",
    "rmcal_providers.local",
    "rmcal_providers.microsoft",
    "rmcal_providers.google",
)


@dataclass(frozen=True)
class Spec:
    """One run: the argv after ``rmcal``, where, with what environment, and when to die."""

    args: list[str]
    cwd: str
    env: dict[str, str]
    output: str  # stdout and stderr of the run go here
    writes: str  # the write log goes here
    kill_at: int | None = None  # the 1-based write to die at; None: never
    after: bool = False  # die after that write (else before it)

    @classmethod
    def of(cls, data: dict[str, Any]) -> Spec:
        return cls(**data)


class _Writes:
    """Counts writes, logs each, and kills the process at the one it was told."""

    def __init__(self, spec: Spec) -> None:
        self.count = 0
        self.at = spec.kill_at
        self.after = spec.after
        self.log = os.open(spec.writes, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def write(self, what: str, do: Any) -> Any:
        self.count += 1
        hit = self.count == self.at
        if hit and not self.after:
            os.write(self.log, f"{what} (killed before)\n".encode())
            os.kill(os.getpid(), signal.SIGKILL)
        result = do()
        os.write(self.log, f"{what}\n".encode())
        if hit:
            os.kill(os.getpid(), signal.SIGKILL)
        return result


def _install(writes: _Writes) -> None:
    real_replace = os.replace
    real_connect = sqlite3.connect

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        writes.write(f"replace {dst}", lambda: real_replace(src, dst, **kwargs))

    class Connection(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql.strip().upper() == "COMMIT":
                return writes.write("commit", lambda: super(Connection, self).execute(sql, *args))
            return super().execute(sql, *args)

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", Connection)
        return real_connect(*args, **kwargs)

    os.replace = replace  # type: ignore[assignment]
    sqlite3.connect = connect  # type: ignore[assignment]


def run(spec: Spec) -> int:
    """Run ``rmcal`` as the console script would, in this process; returns the exit code."""
    from rmcal.cli import main

    out = os.open(spec.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.chdir(spec.cwd)
    os.environ.clear()
    os.environ.update(spec.env)
    _install(_Writes(spec))
    sys.argv = ["rmcal", *spec.args]
    try:
        main.main(args=spec.args, prog_name="rmcal")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
        code = 1
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    return code


def _preload() -> None:
    """Import what every run needs, so that a forked child starts warm."""
    for name in PRELOAD:
        importlib.import_module(name)


def serve() -> None:
    """The fork server: one child per spec line on stdin, ``{"pid"}`` then ``{"exit"}`` on
    stdout. One child at a time; an empty line or end of input stops the server."""
    _preload()
    answer = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            break
        spec = Spec.of(json.loads(line))
        pid = os.fork()
        if pid == 0:  # the child: never returns into this loop
            code = 1
            try:
                code = run(spec)
            finally:
                os._exit(code)
        answer.write(json.dumps({"pid": pid}) + "\n")
        answer.flush()
        _, status = os.waitpid(pid, 0)
        answer.write(json.dumps({"exit": os.waitstatus_to_exitcode(status)}) + "\n")
        answer.flush()


def main(argv: list[str]) -> None:
    if argv == ["--serve"]:
        serve()
        return
    (path,) = argv
    spec = Spec.of(json.loads(Path(path).read_text()))
    code = run(spec)
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
