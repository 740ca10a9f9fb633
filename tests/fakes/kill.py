"""Kill the client at its k-th API request: the fake servers' half of the crash harness.

Why the server kills: the moments that matter for exactly-once are on the wire, and only the far
end sees them. A client killed *before* the server carried its request out, and one killed
*after* the server carried it out but before the answer left, look the same to the client (it
sent a request and then died) while the world differs; the harness (``tests/crash/``) needs
both. The server knows the moment, so it pulls the trigger: ``arrive`` numbers every API
request (token requests excluded, as for ``FaultPlan``) and logs it with its body, so that the
harness can tell afterwards which sends reached the server.

A server holding a ``KillSwitch`` asks ``arrive`` first, before any fault is drawn:

* ``Moment.BEFORE``: the client is dead already; drop the connection, carry nothing out;
* ``Moment.AFTER``: carry the request out, then ``fire()``, then drop the connection;
* ``Moment.NONE``: serve as usual (faults included).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum


class Moment(Enum):
    NONE = "none"
    BEFORE = "before"  # killed on arrival: the request is not carried out
    AFTER = "after"  # carried out, then killed before the answer leaves


@dataclass(frozen=True)
class Arrival:
    """One API request as it reached the server."""

    number: int  # 1-based, in order of arrival
    method: str
    path: str
    body: bytes


@dataclass
class KillSwitch:
    """Which request to kill the client at, and the log of every request that arrived.

    ``kill`` is the harness's: it knows the client's pid (``os.kill(pid, SIGKILL)``). A kill
    set for request ``at`` fires at most once; ``at=None`` only logs (an uninterrupted run,
    which counts the requests a sweep then kills at, one by one).
    """

    at: int | None = None
    after: bool = False
    kill: Callable[[], None] = lambda: None
    arrivals: list[Arrival] = field(default_factory=list)
    fired: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def arrive(self, method: str, path: str, body: bytes) -> Moment:
        with self._lock:
            number = len(self.arrivals) + 1
            self.arrivals.append(Arrival(number, method, path, body))
            if self.fired or self.at != number:
                return Moment.NONE
            self.fired = True
        if self.after:
            return Moment.AFTER
        self.fire()
        return Moment.BEFORE

    def fire(self) -> None:
        self.kill()

    def reset(self, *, at: int | None = None, after: bool = False) -> None:
        """Arm for the next run: a fresh log, a kill at request ``at`` (None: never)."""
        with self._lock:
            self.at, self.after, self.fired = at, after, False
            self.arrivals = []
