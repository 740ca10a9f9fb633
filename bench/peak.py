"""Run a Python module or script and write its peak resident memory (``VmHWM``, kB) to a file.

    python -m bench.peak OUT -m rmcal tick -c config.yaml
    python -m bench.peak OUT -m bench.cpu plan 10000

Why: ``VmHWM`` belongs to the process's own address space, which starts afresh at ``exec``;
``ru_maxrss`` does not (see ``bench/child.py``). Written at exit, whatever the exit code.
"""

from __future__ import annotations

import atexit
import runpy
import sys
from pathlib import Path


def _high_water() -> str:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return line.split()[1]
    return ""


def main() -> None:
    out, flag, target, *rest = sys.argv[1:]
    atexit.register(lambda: Path(out).write_text(_high_water()))
    sys.argv = [target, *rest]
    if flag == "-m":
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(target, run_name="__main__")


if __name__ == "__main__":
    main()
