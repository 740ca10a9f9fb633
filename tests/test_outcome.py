"""``providers.outcome``: which failed requests provably never reached the server, judged on the
real exception classes of the pinned libraries, and on real sockets that refuse or drop.

The socket tests also pin down why Gmail sends do not go over httplib2: a server that reads a
POST and closes without answering gets it twice from httplib2, once from rmcal's ``requests``
session.
"""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
import threading
from collections.abc import Iterator

import google.auth.exceptions
import httplib2
import pytest
import requests
import urllib3.exceptions as u3
from rmcal_providers.outcome import NO_RETRIES, never_sent, without_resends

REFUSED = requests.ConnectionError(
    u3.MaxRetryError(None, "/x", u3.NewConnectionError(None, "[Errno 111] Connection refused"))
)
NO_DNS = requests.ConnectionError(
    u3.MaxRetryError(None, "/x", u3.NameResolutionError("graph.invalid", None, socket.gaierror()))
)
DROPPED = requests.ConnectionError(
    u3.ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed"))
)
READ_TIMEOUT = requests.ReadTimeout(u3.ReadTimeoutError(None, "/x", "Read timed out."))


@pytest.mark.parametrize(
    "exc",
    [
        REFUSED,
        NO_DNS,
        requests.ConnectTimeout(u3.ConnectTimeoutError(None, "connect timed out")),
        httplib2.ServerNotFoundError("Unable to find the server at gmail.googleapis.com"),
        socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
        ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
        OSError(errno.ENETUNREACH, "Network is unreachable"),
        ssl.SSLCertVerificationError("certificate verify failed"),
        google.auth.exceptions.TransportError("token endpoint unreachable"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_failures_before_the_request_left_prove_it_was_not_sent(exc: BaseException) -> None:
    assert never_sent(exc)


@pytest.mark.parametrize(
    "exc",
    [
        DROPPED,
        READ_TIMEOUT,
        requests.ConnectionError("Connection reset by peer"),
        requests.exceptions.SSLError("bad record mac"),
        http.client.RemoteDisconnected("Remote end closed connection without response"),
        TimeoutError("timed out"),  # httplib2: connect and send share one try
        ssl.SSLError("decryption failed or bad record mac"),
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        httplib2.HttpLib2Error("something else"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_failures_after_the_request_may_have_left_are_unknown(exc: BaseException) -> None:
    assert not never_sent(exc)


def test_a_refusal_while_reconnecting_after_a_drop_says_nothing_of_the_first_send() -> None:
    try:
        try:
            raise http.client.RemoteDisconnected("closed")  # the first POST went out
        except http.client.RemoteDisconnected:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "refused") from None
    except ConnectionRefusedError as exc:
        # ``from None`` keeps __context__: a reconnect that failed after a lost answer.
        assert exc.__context__ is not None
        assert never_sent(exc)  # this attempt never left...
    wrapped = requests.ConnectionError(DROPPED)
    assert not never_sent(wrapped)  # ...but what a layer wraps explicitly is judged


# -- real sockets ----------------------------------------------------------------------------


class DropServer:
    """Accepts connections, reads one request each, and closes without answering."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if data:
                    self.requests += 1

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def dropping() -> Iterator[DropServer]:
    server = DropServer()
    yield server
    server.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_requests_without_resends_sends_a_dropped_post_once(dropping: DropServer) -> None:
    session = without_resends(requests.Session())
    assert session.get_adapter("https://x").max_retries is NO_RETRIES
    with pytest.raises(requests.ConnectionError) as raised:
        session.post(f"http://127.0.0.1:{dropping.port}/send", data=b"mail", timeout=5)
    assert dropping.requests == 1
    assert not never_sent(raised.value)


def test_httplib2_sends_a_dropped_post_twice_whatever_retries_says(
    dropping: DropServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(httplib2, "RETRIES", 1)  # what rmcal sets (google/client.py)
    client = httplib2.Http(timeout=5)
    with pytest.raises((http.client.HTTPException, OSError)):
        client.request(f"http://127.0.0.1:{dropping.port}/send", "POST", body=b"mail")
    assert dropping.requests == 2  # the reason Gmail sends go over requests


def test_a_real_refused_connection_is_known_not_sent() -> None:
    session = without_resends(requests.Session())
    with pytest.raises(requests.ConnectionError) as raised:
        session.post(f"http://127.0.0.1:{closed_port()}/send", data=b"mail", timeout=5)
    assert never_sent(raised.value)
    with pytest.raises(OSError) as plain:
        httplib2.Http(timeout=5).request(f"http://127.0.0.1:{closed_port()}/", "POST", body=b"x")
    assert never_sent(plain.value)
