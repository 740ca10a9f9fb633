"""``python -m bench.timeline_child ARGS``: ``rmcal ARGS`` with every request timed.

The child half of ``bench.timeline``: installs the recorder (log file from
``RMCAL_BENCH_TIMELINE``), then runs the real CLI in this process.
"""

from __future__ import annotations

import os
import runpy
import sys

from bench.timeline import LOG_ENV, install

if __name__ == "__main__":
    install(os.environ[LOG_ENV])
    sys.argv = ["rmcal", *sys.argv[1:]]
    runpy.run_module("rmcal", run_name="__main__", alter_sys=True)
