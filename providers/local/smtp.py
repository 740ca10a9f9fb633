"""SMTP delivery for the local provider: one session per batch, secrets only from the env.

Why a module of its own: the outbox is the provider's record of what was sent, and SMTP is only
how it leaves the machine; keeping the conversation with the server (TLS or STARTTLS, login,
one reconnect when the server drops the line, fail fast once it is gone) apart lets the outbox
treat delivery as one call that either succeeds or says why not.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage

from .settings import SmtpSettings

SMTP_TIMEOUT = 30.0


class SmtpFailure(Exception):
    """One message could not be handed to the SMTP server; the text says why (no secrets)."""


class Mailer:
    """One SMTP session for one batch: connects lazily, fails fast once the server is gone."""

    def __init__(self, settings: SmtpSettings, env: Mapping[str, str], sender: str) -> None:
        self.settings = settings
        self.env = env
        self.sender = settings.sender or sender
        self._client: smtplib.SMTP | None = None
        self._broken: str | None = None

    def _password(self) -> str | None:
        name = self.settings.password_env
        if not name:
            return None
        value = self.env.get(name)
        if not value:
            raise SmtpFailure(f"environment variable {name} (smtp.password_env) is not set")
        return value

    def connect(self) -> smtplib.SMTP:
        """The open session (one login per batch); a server that failed once stays failed."""
        if self._client is not None:
            return self._client
        if self._broken is not None:
            raise SmtpFailure(self._broken)
        where = f"{self.settings.host}:{self.settings.port}"
        client: smtplib.SMTP | None = None
        try:
            password = self._password()
            tls = ssl.create_default_context()
            if self.settings.port == 465:  # implicit TLS ("SMTPS"); STARTTLS does not apply
                client = smtplib.SMTP_SSL(
                    self.settings.host, self.settings.port, timeout=SMTP_TIMEOUT, context=tls
                )
            else:
                client = smtplib.SMTP(self.settings.host, self.settings.port, timeout=SMTP_TIMEOUT)
                client.ehlo()
                if self.settings.starttls:
                    client.starttls(context=tls)
                    client.ehlo()
            if self.settings.user and password is not None:
                client.login(self.settings.user, password)
        except smtplib.SMTPAuthenticationError as exc:
            self._close_quietly(client)
            self._broken = (
                f"SMTP login to {where} as {self.settings.user} was refused ({exc.smtp_code}); "
                f"check smtp.user and ${self.settings.password_env}"
            )
            raise SmtpFailure(self._broken) from exc
        except SmtpFailure as exc:
            self._close_quietly(client)
            self._broken = str(exc)
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self._close_quietly(client)
            self._broken = f"cannot reach SMTP server {where}: {describe(exc)}"
            raise SmtpFailure(self._broken) from exc
        self._client = client
        return client

    def deliver(self, message: EmailMessage) -> None:
        """Hand one message to the server (raises SmtpFailure); reconnects once if dropped."""
        for attempt in (1, 2):
            client = self.connect()
            try:
                refused = client.send_message(message, from_addr=self.sender)
            except smtplib.SMTPServerDisconnected as exc:
                self._client = None
                if attempt == 2:
                    raise SmtpFailure(f"SMTP server closed the connection: {exc}") from exc
                continue
            except (OSError, smtplib.SMTPException) as exc:
                raise SmtpFailure(f"SMTP refused the message: {describe(exc)}") from exc
            if refused:
                who = ", ".join(sorted(refused))
                raise SmtpFailure(f"SMTP refused some recipients: {who}")
            return

    @staticmethod
    def _close_quietly(client: smtplib.SMTP | None) -> None:
        if client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.close()

    def close(self) -> None:
        """Say goodbye politely when the server still listens; close the socket either way."""
        if self._client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._client.quit()
            self._close_quietly(self._client)
            self._client = None


def describe(exc: BaseException) -> str:
    """What went wrong, in the server's words where it gave some (never the credentials)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error
        text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        return f"{exc.smtp_code} {text}".strip()
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
