"""Every way rmcal can fail, in one place.

The tree, with the exit code the CLI gives each branch::

    RmcalError                      1  anything rmcal itself reports
    ├── ConfigError                 2  the config or a CSV it names is wrong
    ├── SettingsError               2  a provider rejected its settings (becomes ConfigError)
    ├── StateError                  1  the state file is unusable (newer schema, corrupt)
    │   └── StateLocked             1  another rmcal process holds the state file
    ├── ProviderError               1  provider, operation and remedy named
    │   ├── AuthError               1  credentials missing, invalid or expired
    │   ├── PermissionDenied        1  authenticated, but a permission / scope is missing
    │   ├── QuotaError              1  throttled for longer than rmcal is willing to wait
    │   └── NotFound                1  a mailbox, calendar or event does not exist
    └── PartialFailure              3  some items left undone; a re-run finishes

Errors are translated into one line and an exit code exactly once, in ``rmcal.cli``.
"""

from __future__ import annotations


class RmcalError(Exception):
    """Base of everything rmcal reports to a user; ``exit_code`` is what the CLI exits with."""

    exit_code = 1

    def one_line(self) -> str:
        """The message as a single line (newlines would break log parsers and cron mails)."""
        return " ".join(str(self).split())


class ConfigError(RmcalError):
    """The configuration cannot be used as written; the user can fix it in the file."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        key = f"{self.key}: " if self.key else ""
        hint = f"; {self.hint}" if self.hint else ""
        return f"{where}{key}{self.message}{hint}"


class SettingsError(RmcalError):
    """A provider's settings are wrong; ``key`` is relative to the ``provider:`` section.

    Providers raise this without knowing file names or lines; the config loader turns it into
    a ``ConfigError`` that points at the right line.
    """

    exit_code = 2

    def __init__(self, key: str, message: str, hint: str | None = None) -> None:
        self.key = key
        self.message = message
        self.hint = hint
        super().__init__(f"provider.{key}: {message}" + (f"; {hint}" if hint else ""))


class StateError(RmcalError):
    """The state file cannot be used (written by a newer rmcal, corrupt, unwritable)."""


class StateLocked(StateError):
    """Another rmcal process is working on the same state file right now."""


class ProviderError(RmcalError):
    """A provider could not carry out an operation; says which, and what the user can do."""

    def __init__(
        self,
        provider: str,
        operation: str,
        message: str,
        *,
        remedy: str | None = None,
        retryable: bool = False,
        detail: str | None = None,
    ) -> None:
        self.provider = provider
        self.operation = operation
        self.message = message
        self.remedy = remedy
        self.retryable = retryable
        self.detail = detail  # shown with --verbose only (request ids, raw codes)
        text = f"{provider}: {operation}: {message}"
        if remedy:
            text += f"; {remedy}"
        super().__init__(text)


class AuthError(ProviderError):
    """Credentials are missing, invalid or expired and cannot be renewed."""


class PermissionDenied(ProviderError):
    """Authenticated, but a permission or scope rmcal needs has not been granted."""


class QuotaError(ProviderError):
    """The service kept throttling for longer than rmcal's bounded wait."""


class NotFound(ProviderError):
    """A mailbox, calendar or event that rmcal needs does not exist."""


class PartialFailure(RmcalError):
    """Some items succeeded and some did not; ``undone`` lists what a re-run will finish."""

    exit_code = 3

    def __init__(self, message: str, undone: list[str]) -> None:
        self.undone = undone
        super().__init__(message)
