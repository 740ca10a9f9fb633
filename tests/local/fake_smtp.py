"""A fake SMTP server on 127.0.0.1, just enough protocol for the local provider to deliver to.

Like the HTTPS fakes in ``tests/fakes/``: the fake sits at the wire, so the provider's real
``smtplib`` session (login, send, reconnect, refusal) runs against it.
"""

from __future__ import annotations

import base64
import socketserver


class FakeSmtp(socketserver.ThreadingTCPServer):
    """Just enough SMTP (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, QUIT) to receive mail."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, password: str) -> None:
        super().__init__(("127.0.0.1", 0), FakeSmtpHandler)
        self.password = password
        self.received: list[tuple[str, list[str], bytes]] = []
        self.logins: list[str] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class FakeSmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self) -> None:
        server: FakeSmtp = self.server  # type: ignore[assignment]
        sender, recipients = "", []
        self.reply("220 fake.example ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode().rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250-fake.example\r\n250-AUTH PLAIN\r\n250 8BITMIME")
            elif verb == "AUTH":
                _, user, password = base64.b64decode(command.split()[2]).decode().split("\0")
                server.logins.append(user)
                self.reply("235 ok" if password == server.password else "535 bad credentials")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].split()[0].strip("<>"), []
                self.reply("250 ok")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go ahead")
                lines = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                server.received.append((sender, recipients, b"".join(lines)))
                self.reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 ok")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")
