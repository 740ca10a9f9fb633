"""A guard for tests of "never blocks": a blocking call fails the test instead of hanging CI."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Hung(AssertionError):
    """The guarded block was still running when its deadline passed."""


@contextmanager
def deadline(seconds: int = 30) -> Iterator[None]:
    """Fail with ``Hung`` if the block runs longer than ``seconds`` (SIGALRM interrupts even a
    blocking ``open`` of a FIFO: a handler that raises stops the system call's retry)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
