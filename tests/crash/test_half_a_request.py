"""A client killed while sending a request leaves the fake servers half of it: they must not
act on it, nor count it as a request that arrived (the crash harness reads that count as
"reached the server"), nor break with a traceback. Found by the long run (``bench.crash``): a
kill at a random moment left the fake Gmail a send without its body."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.crash.worlds import ORGANIZER, world


def send_half(url: str, ca: str, path: str) -> bytes:
    """Headers announcing a 100-byte JSON body, 10 bytes of it, then the end of the stream;
    what the server answered (nothing, when it just closes)."""
    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=ca)
    with (
        socket.create_connection((parts.hostname, parts.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
    ):
        tls.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer half\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"raw": "a'
        )
        # The socket's end, as a killed process's ends: no TLS goodbye (SSLSocket.shutdown
        # would also drop the TLS state needed to read the answer).
        socket.socket.shutdown(tls, socket.SHUT_WR)
        try:
            return tls.recv(4096)
        except (ssl.SSLError, ConnectionError):  # closed without a TLS goodbye either
            return b""


@pytest.mark.parametrize("name", ["microsoft", "google"])
def test_half_a_request_is_not_carried_out_nor_counted(
    tmp_path: Path, name: str, capfd: pytest.CaptureFixture[str]
) -> None:
    with world(name, tmp_path, pairs=1) as w:
        if name == "microsoft":
            w.graph.tokens.add("half")
            url, ca = w.server.url, str(w.server.tls.ca_path)
            path = f"/v1.0/users/{ORGANIZER}/sendMail"
            sent = lambda: w.graph.sent  # noqa: E731
        else:
            w.fake.tokens["half"] = {"sub": ORGANIZER, "scopes": {"https://mail.google.com/"}}
            url, ca = w.running.base_url, str(w.running.ca_path)
            path = f"/gmail/v1/users/{ORGANIZER}/messages/send"
            sent = lambda: w.fake.sent  # noqa: E731
        answer = send_half(url, ca, path)
        assert answer == b""
        assert w.switch.arrivals == []
        assert sent() == []
    assert "Traceback" not in capfd.readouterr().err
