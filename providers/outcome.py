"""Did a failed request reach the server? The one question behind every safe retry of a write.

(And its precondition: no HTTP library re-sends a request behind rmcal's back, so that every
repeat is rmcal's own decision; ``without_resends`` makes that explicit for ``requests``.)

Why one place: both cloud providers must tell "the request never left this machine" (safe to
send again, even a mail) from "it went out and no answer came back" (it may have been applied:
a mail may be in the recipient's inbox). Only the first is ever retried blindly; the second is
reported as an unknown outcome for the caller to settle (look the item up, or record it
uncertain). The two HTTP stacks rmcal uses say this differently, and only a few of their
exceptions prove the first case:

* ``requests``/``urllib3``: ``ConnectTimeoutError`` and its subclass ``NewConnectionError``
  (refused, unreachable; ``NameResolutionError`` for DNS) are raised while connecting, before a
  byte of the request is written. ``requests.ConnectTimeout`` wraps the first. A read timeout, a
  ``ProtocolError`` ("Connection aborted", ``RemoteDisconnected``) or any other
  ``ConnectionError`` may come after the request was written.
* ``httplib2``: DNS failures become ``ServerNotFoundError``; a refused or unroutable connect is a
  plain ``OSError`` with ``ECONNREFUSED``/``ENETUNREACH``/``EHOSTUNREACH``/``EADDRNOTAVAIL``.
  A ``socket.timeout`` is ambiguous there (connect and send share one ``try``), so it is unknown.
* A certificate that fails verification stops the TLS handshake, before the request.
* ``google.auth.exceptions.TransportError`` is raised while fetching a token, before the API
  request is sent.

Anything else is an unknown outcome. The check walks what each layer explicitly wraps
(``__cause__``, exceptions in ``args``, urllib3's ``MaxRetryError.reason``), but not
``__context__``: an exception raised while handling another (httplib2 reconnecting after a
dropped answer) says nothing about the request that went out before it.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import google.auth.exceptions
import httplib2
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError
from urllib3.util.retry import Retry

from rmcal.errors import ProviderError
from rmcal.provider import ItemFailure

# errno values a connect() fails with before anything is sent.
CONNECT_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}
)
NOT_SENT_TYPES: tuple[type[BaseException], ...] = (
    ConnectTimeoutError,  # urllib3: connect timed out, refused (NewConnectionError), DNS
    requests.ConnectTimeout,  # requests' name for the first
    httplib2.ServerNotFoundError,
    socket.gaierror,
    ConnectionRefusedError,
    ssl.SSLCertVerificationError,
    google.auth.exceptions.TransportError,
)


def _chain(exc: BaseException, depth: int = 0) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps, nearest first (bounded, cycles ignored)."""
    if depth > 8:
        return
    yield exc
    inner: list[BaseException] = []
    for item in (exc.__cause__, getattr(exc, "reason", None), *exc.args):
        if isinstance(item, BaseException) and item is not exc:
            inner.append(item)
    for item in inner:
        yield from _chain(item, depth + 1)


def never_sent(exc: BaseException) -> bool:
    """True when ``exc`` proves the request never reached the server (safe to send again)."""
    for item in _chain(exc):
        if isinstance(item, NOT_SENT_TYPES):
            return True
        if isinstance(item, OSError) and item.errno in CONNECT_ERRNOS:
            return True
    return False


# urllib3 under requests retries nothing. This is requests' own default (``Retry(0,
# read=False)``), written out so that no version change or environment can turn it on: a
# repeated POST could send a mail twice.
NO_RETRIES = Retry(total=0, connect=0, read=False, redirect=False, status=0, other=0)


def without_resends(session: requests.Session) -> requests.Session:
    """``session`` with adapters that never retry a request (see ``NO_RETRIES``)."""
    for prefix in ("https://", "http://"):
        session.mount(prefix, HTTPAdapter(max_retries=NO_RETRIES))
    return session


@dataclass
class SendRun:
    """What one run's sends have learnt so far, kept by a provider from one ``send`` call to
    the next.

    Why across calls: the outbox hands a provider one message per call (so that a crash leaves
    in doubt only the message that was in flight), yet two facts concern the whole run. Once the
    service kept refusing past the retry budget (throttled, unreachable), the rest of the run's
    messages would fare the same: ``stop`` fails them at once, and the next run sends them. And
    once a message went out (or may have), an authentication or permission refusal no longer
    stops the whole run with an error: the messages after it fail alone (``went_out``).
    """

    stop: ItemFailure | None = None
    went_out: bool = False

    def refused(self, error: ProviderError) -> ItemFailure:
        """A refusal that concerns every message alike: raised while nothing of this run went
        out, else the failure of this message and, as ``stop``, of every later one."""
        if not self.went_out:
            raise error
        self.stop = ItemFailure(f"not sent: {error.one_line()}", retryable=False)
        return self.stop

    def spent(self, error: ProviderError) -> ItemFailure:
        """Refused past the retry budget: this message fails, and the run sends no more."""
        self.stop = ItemFailure(f"not sent: {error.message}; the next run sends it", False)
        return ItemFailure(error.one_line(), retryable=False)
