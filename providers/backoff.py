"""The retry policy both cloud providers share: capped exponential backoff with full jitter.

Why one policy: Graph and Google both ask clients to honour ``Retry-After`` when given and to back
off exponentially with jitter otherwise, and both must give up after a bounded time with a clear
error rather than hang a cron job. Sleep, clock and randomness are injectable so tests run fast
and deterministically.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """One retry budget: ``attempt()`` says how long to wait before try ``n``, or None to give up.

    ``retry_after`` from the server wins over the computed delay (but never beyond the budget).
    """

    base: float = 1.0
    cap: float = 60.0
    max_attempts: int = 8
    max_elapsed: float = 300.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: Callable[[], float] = random.random
    _started: float | None = field(default=None, init=False)
    _attempts: int = field(default=0, init=False)
    waited: float = field(default=0.0, init=False)

    def next_delay(self, retry_after: float | None = None) -> float | None:
        """The delay before the next try, or None when the budget is spent."""
        if self._started is None:
            self._started = self.clock()
        self._attempts += 1
        if self._attempts >= self.max_attempts:
            return None
        if retry_after is not None and retry_after >= 0:
            delay = float(retry_after)
        else:
            delay = self.rng() * min(self.cap, self.base * 2 ** (self._attempts - 1))
        elapsed = self.clock() - self._started
        if elapsed + delay > self.max_elapsed:
            return None
        return delay

    def wait(self, retry_after: float | None = None) -> bool:
        """Sleep before the next try; False (without sleeping) when the budget is spent."""
        delay = self.next_delay(retry_after)
        if delay is None:
            return False
        self.sleep(delay)
        self.waited += delay
        return True


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (an integer; HTTP dates are rare here and ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None
