"""What one run's sends have learnt, kept by a cloud provider from one ``send`` call to the next.

Apart from ``outcome`` (which needs the HTTP libraries, to judge their errors) because this is
pure bookkeeping: a provider module imports it before its own client libraries, and a missing
extra must still be reported by the library it names (msal, googleapiclient).
"""

from __future__ import annotations

from dataclasses import dataclass

from rmcal.errors import ProviderError
from rmcal.provider import ItemFailure


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
