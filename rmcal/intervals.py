"""Time intervals and request chunking: the arithmetic every free/busy path shares.

The slot finder merges busy time to check clashes quickly; every provider merges what its API
returned (windows split one block in two) and splits "these people over this horizon" into the
calls its API accepts. Written once here, so that the core and the providers cannot disagree on
what "touching" intervals are or drop the last chunk of a list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

Interval = tuple[datetime, datetime]

_T = TypeVar("_T")


def merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sorted, with overlapping and touching intervals joined into one."""
    out: list[Interval] = []
    for begin, end in sorted(intervals):
        if out and begin <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((begin, end))
    return tuple(out)


def join_at(intervals: Iterable[Interval], cuts: Iterable[datetime]) -> tuple[Interval, ...]:
    """Sorted, with the two pieces of anything a request window cut in two joined again.

    Only pieces that meet exactly at a cut are joined: two events that merely touch elsewhere
    stay two intervals, so a clash check can still tell them apart (``merge`` would join them).
    """
    at = set(cuts)
    out: list[Interval] = []
    ending: dict[datetime, int] = {}  # a cut -> the piece that ends there, waiting for its rest
    for begin, end in sorted(intervals):
        index = ending.pop(begin, None) if begin in at else None
        if index is None:
            out.append((begin, end))
            index = len(out) - 1
        else:
            out[index] = (out[index][0], end)
        if end in at:
            ending[end] = index
    return tuple(sorted(out))


def chunks(items: Sequence[_T], size: int) -> Iterator[list[_T]]:
    """``items`` in consecutive lists of at most ``size`` (the last one may be shorter)."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    for first in range(0, len(items), size):
        yield list(items[first : first + size])


def windows(start: datetime, end: datetime, size: timedelta | None) -> list[Interval]:
    """[start, end) cut into consecutive windows no longer than ``size`` (None: one window)."""
    if end <= start:
        return []
    if size is None:
        return [(start, end)]
    out: list[Interval] = []
    cursor = start
    while cursor < end:
        stop = min(end, cursor + size)
        out.append((cursor, stop))
        cursor = stop
    return out


def busy_requests(
    people: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    people_per_call: int,
    window: timedelta | None,
) -> list[tuple[list[str], datetime, datetime]]:
    """The (people, window start, window end) calls that cover everyone over [start, end).

    Free/busy APIs cap both how many people and how long a range one call may ask about
    (Graph's getSchedule: 20 people, under 62 days; Google's freeBusy: 50 calendars, 90 days).
    """
    spans = windows(start, end, window)
    return [(group, a, b) for group in chunks(people, people_per_call) for a, b in spans]


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The parts of ``intervals`` inside [start, end); empty parts dropped."""
    out = []
    for begin, finish in intervals:
        a, b = max(begin, start), min(finish, end)
        if a < b:
            out.append((a, b))
    return out
