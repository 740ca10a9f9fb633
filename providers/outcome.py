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

Both cloud extras bring ``requests``; ``httplib2`` and ``google-auth`` come only with
``rmcal[google]``, so their exception types join the list only when they are installed (an
install without them cannot raise them), and ``rmcal[microsoft]`` alone imports this module.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError
from urllib3.util.retry import Retry

# errno values a connect() fails with before anything is sent.
CONNECT_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}
)


def _google_types() -> tuple[type[BaseException], ...]:
    """httplib2's DNS failure and google-auth's token-fetch failure, when rmcal[google] is in."""
    try:
        import google.auth.exceptions
        import httplib2
    except ImportError:
        return ()
    return (httplib2.ServerNotFoundError, google.auth.exceptions.TransportError)


NOT_SENT_TYPES: tuple[type[BaseException], ...] = (
    ConnectTimeoutError,  # urllib3: connect timed out, refused (NewConnectionError), DNS
    requests.ConnectTimeout,  # requests' name for the first
    socket.gaierror,
    ConnectionRefusedError,
    ssl.SSLCertVerificationError,
    *_google_types(),
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
