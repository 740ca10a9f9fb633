"""Where one scenario's wall time goes: every HTTP exchange rmcal makes, on a time line.

    python -m bench.timeline microsoft 1000            # schedule-new, 50 ms per round trip
    python -m bench.timeline google 1000 --latency 0.05

The cost benchmark says how far a scenario is from its floor; this says why. It runs
``rmcal schedule`` on a fresh fake server (``bench/world.py``) in a child process that records
the start and end of each request (``requests`` for Graph and Gmail sends, ``httplib2`` for
Google's Calendar calls) and prints the phases: the time before the first request (Python,
imports, the config), each run of requests of one kind (how many, over how long, how many at
once), the gaps between runs (rmcal working between reads and writes) and the time from the
last answer to the exit.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.child import run_child
from bench.cohort import SCHEDULE_NOW, write_config
from bench.run import ROOT
from bench.world import world_for

LOG_ENV = "RMCAL_BENCH_TIMELINE"
GAP = 0.2  # seconds without a request in flight that count as a phase of their own


def _kind(method: str, url: str) -> str:
    """``POST getSchedule``, ``POST $batch``, ``POST batch`` (Google's), ``GET events``."""
    path = url.split("?")[0].rstrip("/")
    if "/batch/" in path:
        return f"{method} batch"
    return f"{method} {path.rsplit('/', 1)[-1]}"


def install(log_path: str) -> None:
    """Record every request of this process in ``log_path`` (one JSON line each)."""
    import atexit
    import threading

    import httplib2
    import requests

    started = time.monotonic()
    lines: list[str] = []
    lock = threading.Lock()

    def note(kind: str, begin: float) -> None:
        with lock:
            lines.append(json.dumps([kind, begin - started, time.monotonic() - started]))

    send = requests.Session.send

    def timed_send(self: Any, request: Any, **kwargs: Any) -> Any:
        begin = time.monotonic()
        try:
            return send(self, request, **kwargs)
        finally:
            note(_kind(request.method, request.url), begin)

    plain = httplib2.Http.request

    def timed_request(self: Any, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        begin = time.monotonic()
        try:
            return plain(self, uri, method, *args, **kwargs)
        finally:
            note(_kind(method, uri), begin)

    requests.Session.send = timed_send  # type: ignore[method-assign]
    httplib2.Http.request = timed_request  # type: ignore[method-assign]

    def write() -> None:
        lines.append(json.dumps(["(exit)", time.monotonic() - started, 0]))
        Path(log_path).write_text("\n".join(lines) + "\n", encoding="utf-8")

    atexit.register(write)


def phases(records: list[tuple[str, float, float]]) -> list[str]:
    """The time line in words: runs of one kind of request, and the gaps between them."""
    exit_at = next((b for k, b, _ in records if k == "(exit)"), None)
    calls = sorted((r for r in records if r[0] != "(exit)"), key=lambda r: r[1])
    out: list[str] = []
    if not calls:
        return ["no request"]
    out.append(
        f"{calls[0][1]:7.2f} s  before the first request (imports, config; after Python started)"
    )
    index = 0
    busy_until = calls[0][1]
    while index < len(calls):
        kind = calls[index][0]
        group = []
        while index < len(calls) and calls[index][0] == kind:
            group.append(calls[index])
            index += 1
        begin, end = group[0][1], max(r[2] for r in group)
        if begin - busy_until > GAP:
            out.append(f"{begin - busy_until:7.2f} s  no request in flight (rmcal working)")
        spent = sum(r[2] - r[1] for r in group)
        at_once = spent / (end - begin) if end > begin else 1.0
        out.append(
            f"{end - begin:7.2f} s  {len(group)} x {kind} ({spent / len(group) * 1000:.0f} ms "
            f"each, {at_once:.1f} in flight on average)"
        )
        busy_until = max(busy_until, end)
    if exit_at is not None:
        out.append(f"{exit_at - busy_until:7.2f} s  after the last answer, to the exit")
        out.append(
            f"{exit_at:7.2f} s  in all, from the recorder's start (Python itself started before)"
        )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("provider", choices=("microsoft", "google"))
    parser.add_argument("pairs", type=int)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rmcal-timeline-") as scratch:
        folder = Path(scratch)
        log = folder / "timeline.jsonl"
        with world_for(args.provider, folder, latency=args.latency, pairs=args.pairs) as world:
            config = str(write_config(folder, world.settings, args.pairs))
            env = {**world.env, "PYTHONPATH": str(ROOT), LOG_ENV: str(log)}
            command = ["-m", "bench.timeline_child", "schedule", "-c", config]
            run = run_child([*command, "--now", SCHEDULE_NOW], env=env, cwd=folder)
        if run.code != 0:
            raise SystemExit(f"rmcal exited {run.code}: {run.output[-500:]}")
        records = [tuple(json.loads(line)) for line in log.read_text().splitlines() if line]
        print(f"{args.provider}, {args.pairs} pairs, {args.latency * 1000:.0f} ms a round trip:")
        for line in phases(records):  # type: ignore[arg-type]
            print(line)
        print(f"rmcal CPU {run.cpu:.2f} s; {os.cpu_count()} CPUs shared with the fake server")


if __name__ == "__main__":
    main()
