"""The outbox sends each message once: ledger before and after the call, retries, provider
errors, crashes resolved by re-sending or reported uncertain, and ``digest --to`` on the same
protocol.

The first tests run ``tick`` on the real local provider (``tests.tickworld``), with faults
injected only into ``send``; the last ones drive ``Outbox`` directly with a scripted provider.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from rmcal.errors import ProviderError
from rmcal.outbox import PENDING
from rmcal.runtime import open_provider
from rmcal.store import MailStatus, Mode, Store
from tests.tickworld import (
    AT_S1_3H,
    S1,
    Crash,
    CrashingProvider,
    FlakyProvider,
    Idempotent,
    World,
    counts,
)

FAILED, SENDING, SENT = MailStatus.FAILED, MailStatus.SENDING, MailStatus.SENT
SKIPPED, UNCERTAIN = MailStatus.SKIPPED, MailStatus.UNCERTAIN


def test_a_retryable_failure_is_retried_within_the_run(world: World) -> None:
    provider = FlakyProvider(open_provider(world.config), failures=2)
    result = world.tick(S1 + timedelta(hours=3), provider=provider, retries=2)
    assert result.failed == [] and result.sent
    assert provider.calls == 3
    assert set(world.ledger().values()) <= {SENT, SKIPPED}


def test_a_provider_error_records_the_batch_as_failed_and_stops(world: World) -> None:
    class Down(FlakyProvider):
        def send(self, messages: Sequence[EmailMessage], progress: Any = None) -> dict[str, Any]:
            raise ProviderError("local", "send", "outbox not writable", remedy="fix permissions")

    with pytest.raises(ProviderError):
        world.tick(S1 + timedelta(hours=3), provider=Down(open_provider(world.config), 0))
    assert set(world.ledger().values()) == {FAILED, SKIPPED}
    world.tick(S1 + timedelta(hours=3, minutes=5))
    assert counts(world.mail_keys()) == AT_S1_3H


@pytest.mark.parametrize("before", [False, True], ids=["crash after sending", "crash before"])
def test_a_crash_between_send_and_record_is_resolved_by_resending_when_the_provider_dedupes(
    world: World, before: bool
) -> None:
    moment = S1 + timedelta(hours=3)
    with pytest.raises(Crash):
        world.tick(moment, provider=CrashingProvider(open_provider(world.config), True, before))
    assert set(world.ledger().values()) == {SENDING, SKIPPED}
    assert len(world.mail_keys()) == (0 if before else 3)
    result = world.tick(
        moment + timedelta(minutes=1), provider=Idempotent(open_provider(world.config), True)
    )
    assert Counter(x.kind for x in result.resent) == AT_S1_3H
    assert result.sent == [] and result.uncertain == []
    assert counts(world.mail_keys()) == AT_S1_3H
    assert set(world.ledger().values()) == {SENT, SKIPPED}
    with Store.open(world.config.state_path, mode=Mode.READ_ONLY) as store:
        assert all(store.get(PENDING, key) is None for key in world.mail_keys())


def test_a_crash_without_a_deduping_provider_is_reported_uncertain_and_never_resent(
    world: World,
) -> None:
    moment = S1 + timedelta(hours=3)
    with pytest.raises(Crash):
        world.tick(moment, provider=CrashingProvider(open_provider(world.config), False))
    result = world.tick(
        moment + timedelta(minutes=1), provider=Idempotent(open_provider(world.config), False)
    )
    assert Counter(x.kind for x in result.uncertain) == AT_S1_3H
    assert "may or may not" in result.uncertain[0].detail
    assert result.sent == [] and result.resent == []
    assert {world.ledger()[x.key] for x in result.uncertain} == {UNCERTAIN}
    again = world.tick(
        moment + timedelta(minutes=2), provider=Idempotent(open_provider(world.config), False)
    )
    assert again.sent == [] and again.uncertain == []
    assert counts(world.mail_keys()) == AT_S1_3H
