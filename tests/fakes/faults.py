"""Seeded fault injection for the fake HTTPS servers: the ways a cloud API fails in the wild.

Why here and not in mocks: rmcal's promise is about what happens *between* the bytes (a send
whose answer never came must not be sent twice), so the faults must happen on a real socket,
to the real client stack. Each API request (token requests excluded) draws from one seeded
random generator; with probability ``rate`` it fails in one of these ways:

* ``429``: throttled, with a ``Retry-After`` (alternately delta-seconds and an HTTP-date);
  the request is **not** carried out (as the services document);
* ``503``: unavailable, ``Retry-After`` as above; **not** carried out;
* ``500``: a server error; the request may or may not have been carried out;
* ``stall``: no answer for ``stall_seconds`` (longer than the client's timeout, so the client
  gives up); carried out or not;
* ``drop``: the connection is closed without an answer after the request was read; carried out
  or not.

"Carried out or not" is itself drawn (``applied``), so that a client that treats a lost answer
as "not done" sends duplicates, and one that treats it as "done" loses mail. Everything drawn is
recorded in ``injected`` for the tests to check what was provoked.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler

KINDS = ("429", "503", "500", "stall", "drop")
NOT_DONE = frozenset({"429", "503"})


@dataclass(frozen=True)
class Fault:
    kind: str
    applied: bool  # the server carried the request out before failing


@dataclass
class FaultPlan:
    """How often and how a fake server fails; deterministic for a given ``seed``."""

    rate: float = 0.25
    seed: int = 0
    kinds: tuple[str, ...] = KINDS
    stall_seconds: float = 1.0
    injected: list[tuple[str, str, str, bool]] = field(default_factory=list)
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _dates: int = field(default=0, init=False)
    _deck: list[str] = field(default_factory=list, init=False)
    paused: bool = False  # set by a test to let a check run without faults
    # Faults that must happen whatever the dice say: the first request of ``method`` whose
    # path contains the text gets the fault (each entry is used once, in order).
    script: list[tuple[str, str, Fault]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self, method: str, path: str) -> Fault | None:
        """The fault for this request, or None; recorded when drawn.

        Kinds come from a shuffled deck rather than independent draws, so that every kind is
        provoked once in each round of ``len(kinds)`` faults, even in a short run.
        """
        with self._lock:
            if self.paused:
                return None
            for entry in self.script:
                wanted, contains, scripted = entry
                if wanted == method and contains in path:
                    self.script.remove(entry)
                    self.injected.append((scripted.kind, method, path, scripted.applied))
                    return scripted
            if self._rng.random() >= self.rate:
                return None
            if not self._deck:
                self._deck = list(self.kinds)
                self._rng.shuffle(self._deck)
            kind = self._deck.pop()
            applied = kind not in NOT_DONE and self._rng.random() < 0.5
            self.injected.append((kind, method, path, applied))
            return Fault(kind, applied)

    def retry_after(self) -> str:
        """A zero wait, alternately as delta-seconds and as an HTTP-date (both forms)."""
        with self._lock:
            self._dates += 1
            if self._dates % 2:
                return "0"
            return format_datetime(datetime.now(UTC), usegmt=True)

    def count(self, kind: str, *, method: str | None = None, contains: str = "") -> int:
        return sum(
            1 for k, m, p, _ in self.injected if k == kind and method in (None, m) and contains in p
        )


def read_body(handler: BaseHTTPRequestHandler) -> bytes | None:
    """The request's body, or None when the connection ended before all of it came (a client
    killed while sending): a server never acts on half a request, it closes the connection."""
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    return body if len(body) == length else None


def drop_connection(handler: BaseHTTPRequestHandler) -> None:
    """Close the client's connection without a byte of answer (the request was read)."""
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)


def quiet_disconnects(error: BaseException) -> bool:
    """True for the errors a server meets writing to a client that gave up (after a stall)."""
    return isinstance(error, ConnectionError | TimeoutError) or "SSL" in type(error).__name__
