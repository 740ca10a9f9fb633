"""How long ``rmcal --help`` (and a command's ``--help``) takes, as a person waits for it.

Runs the installed console script in fresh processes, as a shell would, and prints the median
and worst wall time of each. The target is under 0.3 s on the 2-core reference machine; it is
measured here, never asserted by a timed test (``tests/test_cli_startup.py`` checks instead that
``rmcal --help`` imports none of the heavy modules).

    .venv/bin/python -m bench.cli_startup [--runs 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (["--help"], ["schedule", "--help"], ["tick", "--help"], ["--version"])


def script() -> str:
    """The ``rmcal`` console script next to this Python, else the one on PATH."""
    beside = Path(sys.executable).with_name("rmcal")
    found = str(beside) if beside.exists() else shutil.which("rmcal")
    if found is None:
        raise SystemExit("rmcal is not installed: pip install -e .")
    return found


def measure(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([script(), *argv], check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    measure(["--help"], 2)  # warm the file cache, as a second invocation would find it
    print(f"{'command':<24} {'median':>8} {'worst':>8}")
    for argv in COMMANDS:
        times = measure(argv, args.runs)
        name = "rmcal " + " ".join(argv)
        print(f"{name:<24} {statistics.median(times):>7.3f}s {max(times):>7.3f}s")


if __name__ == "__main__":
    main()
