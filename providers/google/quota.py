"""The last minute's calls, carried from one run to the next through the state file.

Why: Google counts the per-user quota over a sliding minute, across every run. ``Pacer`` spends
a minute's quota at once, so a ``tick`` started seconds after a large ``schedule`` would find the
quota spent and meet ``rateLimitExceeded`` until the earlier calls age out. Each run saves what
its pacers spent in their last minute (wall-clock time, since the pacers' monotonic clocks mean
nothing in another process) and the next run counts it before its first call.

What is kept is a handful of ``[seconds ago, count]`` runs, no address and no content.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from rmcal.provider import KeyValue

from .batch import Pacer

NAMESPACE = "google.quota"


def restore(pacers: Mapping[str, Pacer], kv: KeyValue, wall: Callable[[], float]) -> None:
    """Count each pacer's saved calls of the last minute; anything unreadable is ignored (the
    worst case is a wait on ``rateLimitExceeded``, as without it)."""
    for name, pacer in pacers.items():
        raw = kv.get(NAMESPACE, name)
        if not raw:
            continue
        try:
            saved = json.loads(raw)
            elapsed = wall() - float(saved["saved_at"])
            runs = [[float(ago), int(count)] for ago, count in saved["calls"]]
        except (ValueError, TypeError, KeyError):
            continue
        if -1.0 <= elapsed < pacer.span:  # a wall clock a little behind: count them as now
            pacer.remember(runs, max(elapsed, 0.0))


def save(pacers: Mapping[str, Pacer], kv: KeyValue, wall: Callable[[], float]) -> None:
    """Keep each pacer's calls of the last minute for the next run (nothing when none)."""
    for name, pacer in pacers.items():
        runs = pacer.recent()
        value = json.dumps({"saved_at": wall(), "calls": runs}) if runs else None
        if value is not None or kv.get(NAMESPACE, name) is not None:
            kv.put(NAMESPACE, name, value)
