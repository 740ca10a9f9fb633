"""``providers.backoff``: a retry budget of time, not of tries; Retry-After in both forms; jitter.

Waits are recorded on a fake clock, never slept.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from rmcal_providers.backoff import Backoff, parse_retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def backoff(clock: Clock, *, budget: float = 300.0, rng: float = 0.0) -> Backoff:
    return Backoff(
        budget=budget, base=1.0, cap=32.0, sleep=clock.sleep, clock=clock, rng=lambda: rng
    )


def test_one_second_retry_afters_are_waited_out_for_the_whole_budget_not_a_few_tries() -> None:
    clock = Clock()
    budget = backoff(clock, budget=300.0)
    tries = 0
    while budget.wait(1.0):
        tries += 1
    # Steps grow 1, 2, 4 ... 32 s (the floor passes the 1 s Retry-After), capped: minutes, not
    # the seconds a count of eight tries would give.
    assert sum(clock.waits) <= 300.0 and sum(clock.waits) > 240.0
    assert tries > 8


def test_retry_after_is_the_least_wait_and_jitter_only_adds() -> None:
    clock = Clock()
    assert backoff(clock, rng=0.0).next_delay(7.0) == 7.0
    assert backoff(clock, rng=1.0).next_delay(7.0) == 7.5  # + up to half of the first step
    waits = [backoff(clock, rng=r).next_delay(None) for r in (0.0, 0.5, 1.0)]
    assert waits == [0.5, 0.75, 1.0]  # equal jitter: never below half the step


def test_waits_grow_without_a_retry_after_and_never_fall_to_zero() -> None:
    clock = Clock()
    budget = backoff(clock, rng=0.0)
    delays = [budget.next_delay(0.0) for _ in range(8)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 16.0, 16.0]


def test_a_wait_that_would_end_past_the_budget_is_not_started() -> None:
    clock = Clock()
    budget = backoff(clock, budget=60.0)
    assert budget.wait(50.0)
    assert not budget.wait(50.0)
    assert clock.waits == [50.0]


def test_the_budget_counts_from_the_start_of_the_operation_request_time_included() -> None:
    clock = Clock()
    budget = backoff(clock, budget=10.0)
    clock.now += 9.8  # the first request took almost all of it (a stalled read)
    assert not budget.wait(None)


def test_a_zero_budget_never_waits() -> None:
    clock = Clock()
    assert not backoff(clock, budget=0.0).wait(None)
    assert clock.waits == []


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), (" 3 ", 3.0), ("0", 0.0), ("1.5", 1.5), ("", None), (None, None)],
)
def test_retry_after_in_delta_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2027, 1, 12, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert later.endswith("GMT")
    assert parse_retry_after(later, now=lambda: now) == 90.0
    earlier = format_datetime(now - timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(earlier, now=lambda: now) == 0.0  # in the past: go now
    assert parse_retry_after("Tue, 12 Jan 2027 12:01:00 GMT", now=lambda: now) == 60.0
    assert parse_retry_after("next week", now=lambda: now) is None
