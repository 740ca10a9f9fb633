"""The retry policy both cloud providers share: a time budget per operation, waits with jitter.

Why one policy: Graph and Google both ask clients to honour ``Retry-After`` when given and to
back off exponentially with jitter otherwise, and both must give up after a bounded time with a
clear error rather than hang a cron job. The bound is *time* (``max_retry_seconds``), not a
count of tries: a count spent on one-second ``Retry-After`` answers gives up after seconds,
while the services document throttling that lasts minutes.

Each wait is "equal jitter": half of the capped exponential step, plus a random share of the
other half, so waits always grow and never fall to zero. A ``Retry-After`` from the server is the
least rmcal waits (in either of its forms, delta-seconds or an HTTP-date), with the same random
share added so that many clients told the same moment do not all return at once.

Sleep, clocks and randomness are injectable so tests run fast and deterministically.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

DEFAULT_BUDGET = 300.0  # seconds; the documented default of ``max_retry_seconds``


@dataclass
class Backoff:
    """One operation's retry budget: ``wait()`` sleeps before the next try, or says stop.

    ``budget`` counts seconds from the moment the Backoff is made (the operation's start),
    request time included; a wait that would end past it is not started.
    """

    budget: float = DEFAULT_BUDGET
    base: float = 1.0
    cap: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: Callable[[], float] = random.random
    _started: float | None = field(default=None, init=False)
    _attempts: int = field(default=0, init=False)
    waited: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._started = self.clock()

    def next_delay(self, retry_after: float | None = None) -> float | None:
        """The wait before the next try, or None when it would overrun the budget."""
        if self._started is None:
            self._started = self.clock()
        self._attempts += 1
        step = min(self.cap, self.base * 2 ** (self._attempts - 1))
        floor = step / 2
        if retry_after is not None and retry_after > floor:
            floor = retry_after
        delay = floor + self.rng() * step / 2
        if self.clock() - self._started + delay > self.budget:
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


def parse_retry_after(
    value: str | None, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date (RFC 9110
    section 10.2.3); a date in the past means now. None when absent or unreadable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))  # RFC 9110 says an integer; a decimal is read as meant
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # "-0000": a date in UTC without a named source zone
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now()).total_seconds())
