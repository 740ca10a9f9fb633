"""The outbox sends each message once: ledger before and after the call, retries, provider
errors, crashes resolved by re-sending or reported uncertain, and ``digest --to`` on the same
protocol.

The first tests run ``tick`` on the real local provider (``tests.tickworld``), with faults
injected only into ``send``; the last ones drive ``Outbox`` directly with a scripted provider.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from click.testing import CliRunner

from rmcal.cli import main
from rmcal.errors import ConfigError, ProviderError
from rmcal.mail import message_id
from rmcal.outbox import (
    BY_HAND_RESENT,
    BY_HAND_SENT,
    FOUND,
    INTERRUPTED,
    LOOKUP_DELAY,
    MISSING_STALE,
    NO_CONTROL,
    NO_RESULT,
    PENDING,
    REQUEUED,
    RESENT_MISSING,
    Outbox,
    Outgoing,
    mark_sent_by_hand,
    settled,
)
from rmcal.provider import Capabilities, ItemFailure, mail_key
from rmcal.runtime import open_provider
from rmcal.store import MailStatus, Mode, Store
from tests.tickworld import (
    AT_S1_3H,
    S1,
    Crash,
    CrashingProvider,
    FlakyProvider,
    Idempotent,
    LostAnswers,
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


def test_a_crash_without_a_deduping_provider_leaves_only_the_message_in_flight_uncertain(
    world: World,
) -> None:
    # Found by the crash harness (tests/crash/): the messages queued behind the one on the
    # wire were recorded sending too, so a crash made all of them uncertain, though they had
    # provably not gone. One message per call keeps the doubt to the one in flight.
    moment = S1 + timedelta(hours=3)
    with pytest.raises(Crash):
        world.tick(moment, provider=CrashingProvider(open_provider(world.config), False))
    (in_flight,) = [key for key, state in world.ledger().items() if state is SENDING]
    result = world.tick(
        moment + timedelta(minutes=1), provider=Idempotent(open_provider(world.config), False)
    )
    assert [x.key for x in result.uncertain] == [in_flight]
    assert "may or may not" in result.uncertain[0].detail
    assert len(result.sent) == sum(AT_S1_3H.values()) - 1 and result.resent == []
    assert world.ledger()[in_flight] is UNCERTAIN
    again = world.tick(
        moment + timedelta(minutes=2), provider=Idempotent(open_provider(world.config), False)
    )
    assert again.sent == [] and again.uncertain == []
    assert counts(world.mail_keys()) == AT_S1_3H


# -- rmcal digest --to goes through the same ledger -----------------------------------------


class SendsButSaysNothing(Idempotent):
    """Sends for real, then reports no result: the message may or may not have gone out."""

    def send(self, messages: Sequence[EmailMessage], progress: Any = None) -> dict[str, Any]:
        self.inner.send(messages, progress)
        return {}


def digest_to(world: World) -> Any:
    args = world.args("digest", S1 + timedelta(hours=3), "--to", "admin@tick.example.org")
    return CliRunner().invoke(main, args)


def test_digest_to_records_a_sent_copy_in_the_ledger(world: World) -> None:
    result = digest_to(world)
    assert result.exit_code == 0, result.output
    assert result.output == "sent Lead One's digest to admin@tick.example.org\n"
    (key,) = [k for k in world.ledger() if k.startswith("digest-preview:")]
    assert world.ledger()[key] == SENT
    assert key in world.mail_keys()


def test_digest_to_records_a_missing_provider_result_as_uncertain(world: World) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            "rmcal.runtime.open_provider",
            lambda config, **kw: SendsButSaysNothing(open_provider(config, **kw), False),
        )
        result = digest_to(world)
    assert result.exit_code == 3, result.output
    assert "may or may not have been sent: the provider reported no result for it" in (
        result.output
    )
    (key,) = [k for k in world.ledger() if k.startswith("digest-preview:")]
    assert world.ledger()[key] == UNCERTAIN
    assert f"rmcal outbox resolve -c {world.config_path} {key} --sent" in result.output
    with Store.open(world.config.state_path, mode=Mode.READ_ONLY) as store:
        assert store.get(PENDING, key) is not None  # kept, to re-send exactly this message


def test_digest_to_a_refused_copy_exits_3_and_is_recorded_failed(world: World) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            "rmcal.runtime.open_provider",
            lambda config, **kw: FlakyProvider(
                open_provider(config, **kw), failures=100, retryable=False
            ),
        )
        result = digest_to(world)
    assert result.exit_code == 3
    assert "sending the digest to admin@tick.example.org failed: mailbox busy" in result.output
    assert set(world.ledger().values()) == {FAILED}


# -- the protocol, step by step, with a scripted provider -----------------------------------


def message(key: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "rm@example.org"
    msg["To"] = "ana@example.org"
    msg["Subject"] = f"About {key}"
    msg["Message-ID"] = message_id(key, "example.org")
    msg["X-Rmcal-Key"] = key
    msg.set_content("hello")
    return msg


class Scripted:
    """A sender that answers each call from a script and notes what the ledger said meanwhile."""

    def __init__(self, store: Store, *answers: Any, idempotent: bool = False) -> None:
        self.store = store
        self.answers = list(answers)
        self.capabilities = Capabilities(
            video=False,
            attendance=False,
            batch_size=2,
            sends_invitations=False,
            idempotent_send=idempotent,
        )
        self.calls: list[list[str]] = []
        self.seen: list[tuple[MailStatus | None, bool]] = []

    def send(self, messages: Sequence[EmailMessage], progress: Any = None) -> dict[str, Any]:
        keys = [mail_key(m) or "" for m in messages]  # as every provider reads it
        self.calls.append(keys)
        for key in keys:
            row = self.store.mail(key)
            self.seen.append(
                (row.status if row else None, self.store.get(PENDING, key) is not None)
            )
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return {key: answer(key) for key in keys if answer(key) != "silent"}


def items(*keys: str) -> list[Outgoing]:
    return [Outgoing(key, "agenda", "p1", message(key)) for key in keys]


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(":memory:", mode=Mode.MEMORY) as opened:
        yield opened


def test_the_ledger_says_sending_with_the_bytes_kept_during_the_call(store: Store) -> None:
    sender = Scripted(store, lambda key: None, lambda key: None)
    deliveries = Outbox(sender, store).send(items("a:1", "a:2"))
    assert sender.seen == [(SENDING, True), (SENDING, True)]
    assert [(d.key, d.status, d.recipients) for d in deliveries] == [
        ("a:1", SENT, ("ana@example.org",)),
        ("a:2", SENT, ("ana@example.org",)),
    ]
    assert all(store.get(PENDING, k) is None for k in ("a:1", "a:2"))
    row = store.mail("a:1")
    assert row is not None and (row.status, row.attempts, row.message_id) == (
        SENT,
        1,
        message_id("a:1", "example.org"),
    )


def test_batches_follow_the_providers_batch_size_when_it_dedupes(store: Store) -> None:
    sender = Scripted(store, lambda key: None, lambda key: None, idempotent=True)
    Outbox(sender, store).send(items("a:1", "a:2", "a:3"))
    assert sender.calls == [["a:1", "a:2"], ["a:3"]]


def test_a_provider_that_cannot_dedupe_gets_one_message_per_call(store: Store) -> None:
    sender = Scripted(store, *[lambda key: None] * 3)
    Outbox(sender, store).send(items("a:1", "a:2", "a:3"))
    assert sender.calls == [["a:1"], ["a:2"], ["a:3"]]


def test_a_crash_leaves_in_doubt_only_the_message_on_the_wire(store: Store) -> None:
    sender = Scripted(store, lambda key: None, Crash())
    with pytest.raises(Crash):
        Outbox(sender, store).send(items("a:1", "a:2", "a:3"))
    # a:3 was never handed over: no row, so the next tick renders and sends it as usual.
    assert {row.key: row.status for row in store.mail_rows()} == {"a:1": SENT, "a:2": SENDING}
    (delivery,) = Outbox(Scripted(store), store).resolve_interrupted()
    assert (delivery.key, delivery.status) == ("a:2", UNCERTAIN)


@pytest.mark.parametrize(("idempotent", "status"), [(False, UNCERTAIN), (True, FAILED)])
def test_a_missing_result_is_uncertain_unless_the_provider_dedupes(
    store: Store, idempotent: bool, status: MailStatus
) -> None:
    sender = Scripted(store, lambda key: "silent", idempotent=idempotent)
    (delivery,) = Outbox(sender, store).send(items("a:1"))
    assert (delivery.status, delivery.detail) == (status, NO_RESULT)
    row = store.mail("a:1")
    assert row is not None and (row.status, row.error) == (status, NO_RESULT)
    # An uncertain message keeps its bytes (a resolution re-sends exactly it); a failed one
    # is rendered afresh by the next tick.
    assert (store.get(PENDING, "a:1") is not None) == (status is UNCERTAIN)


def test_retryable_failures_are_retried_with_growing_waits(store: Store) -> None:
    busy = ItemFailure("mailbox busy", retryable=True)
    sender = Scripted(store, lambda key: busy, lambda key: busy, lambda key: None)
    waits: list[float] = []
    outbox = Outbox(sender, store, retries=2, retry_delay=1.5, sleep=waits.append)
    (delivery,) = outbox.send(items("a:1"))
    assert delivery.status is SENT and waits == [1.5, 3.0]
    assert sender.seen[1:] == [(SENDING, True), (SENDING, True)]  # re-marked before each try
    row = store.mail("a:1")
    assert row is not None and row.attempts == 3


def test_a_permanent_failure_is_not_retried(store: Store) -> None:
    sender = Scripted(store, lambda key: ItemFailure("no such mailbox", retryable=False))
    waits: list[float] = []
    (delivery,) = Outbox(sender, store, sleep=waits.append).send(items("a:1"))
    assert (delivery.status, delivery.detail) == (FAILED, "no such mailbox")
    assert len(sender.calls) == 1 and waits == []


def test_a_provider_error_marks_the_batch_failed_and_propagates(store: Store) -> None:
    down = ProviderError("x", "send", "outbox not writable")
    sender = Scripted(store, down)
    with pytest.raises(ProviderError):
        Outbox(sender, store).send(items("a:1", "a:2"))
    # One message per call: a:2 was never handed over, and the next tick sends it.
    assert {row.key: row.status for row in store.mail_rows()} == {"a:1": FAILED}
    assert store.get(PENDING, "a:1") is None


def test_a_provider_error_marks_a_deduping_providers_whole_batch_failed(store: Store) -> None:
    sender = Scripted(store, ProviderError("x", "send", "outbox not writable"), idempotent=True)
    with pytest.raises(ProviderError):
        Outbox(sender, store).send(items("a:1", "a:2"))
    assert {row.key: row.status for row in store.mail_rows()} == {"a:1": FAILED, "a:2": FAILED}


@pytest.mark.parametrize("idempotent", [False, True])
def test_interrupted_sends_are_resent_or_reported_uncertain(store: Store, idempotent: bool) -> None:
    crashing = Scripted(store, Crash(), idempotent=idempotent)
    with pytest.raises(Crash):
        Outbox(crashing, store).send(items("a:1"))
    assert store.mail_rows(SENDING) and store.get(PENDING, "a:1") is not None
    sender = Scripted(store, lambda key: None, idempotent=idempotent)
    (delivery,) = Outbox(sender, store).resolve_interrupted()
    if idempotent:
        assert (delivery.status, delivery.resent, sender.calls) == (SENT, True, [["a:1"]])
        assert delivery.subject == "About a:1"
    else:
        assert (delivery.status, delivery.detail, sender.calls) == (UNCERTAIN, INTERRUPTED, [])
        assert (delivery.recipients, delivery.subject) == (("ana@example.org",), "About a:1")
    assert (store.get(PENDING, "a:1") is None) == idempotent
    assert Outbox(sender, store).resolve_interrupted() == []


def test_settled_keys_are_final_or_in_flight() -> None:
    assert [s for s in MailStatus if settled(s)] == [SENDING, SENT, SKIPPED, UNCERTAIN]
    assert not settled(None) and not settled(FAILED)


# -- settling uncertain sends ----------------------------------------------------------------

T0 = datetime(2027, 1, 13, 12, 0, tzinfo=UTC)


class Looking(Scripted):
    """A scripted sender that can also look messages up in a scripted mailbox."""

    def __init__(self, store: Store, *answers: Any, mailbox: set[str], lookup: bool = True):
        super().__init__(store, *answers)
        self.capabilities = replace(self.capabilities, sent_lookup=lookup)
        self.mailbox = mailbox
        self.lookups: list[list[str]] = []
        self.down = False

    def find_sent(self, message_ids: Sequence[str]) -> dict[str, bool]:
        self.lookups.append(list(message_ids))
        if self.down:
            raise ProviderError("x", "look up sent mail", "mailbox unreachable")
        return {mid: mid in self.mailbox for mid in message_ids}


class Moment:
    """The time the store stamps rows with; a test moves it to run "a later tick"."""

    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


def doubtful(store: Store, *keys: str, sent: tuple[str, ...] = ()) -> None:
    """``sent`` recorded as sent, then ``keys`` left uncertain by a send whose answer was lost."""
    if sent:
        Outbox(Scripted(store, lambda key: None), store).send(items(*sent))
    lost = ItemFailure("no answer", retryable=False, uncertain=True)
    Outbox(Scripted(store, lambda key: lost), store).send(items(*keys))


@pytest.fixture
def moment() -> Moment:
    return Moment()


@pytest.fixture
def early(moment: Moment) -> Iterator[Store]:
    """A state file whose rows are stamped at ``moment`` (T0 unless a test moves it)."""
    with Store.open(":memory:", mode=Mode.MEMORY, clock=moment) as opened:
        yield opened


def ledger_at(store: Store) -> dict[str, MailStatus]:
    return {row.key: row.status for row in store.mail_rows()}


def test_an_uncertain_item_failure_is_recorded_uncertain_and_keeps_its_bytes(early: Store):
    doubtful(early, "a:1")
    row = early.mail("a:1")
    assert row is not None and (row.status, row.error) == (UNCERTAIN, "no answer")
    assert early.get(PENDING, "a:1") is not None
    assert Outbox(Scripted(early), early).uncertain() == [row]


def test_a_send_found_in_the_mailbox_is_recorded_sent(early: Store) -> None:
    doubtful(early, "a:1")
    sender = Looking(early, mailbox={message_id("a:1", "example.org")})
    (delivery,) = Outbox(sender, early).settle_uncertain(T0 + timedelta(minutes=1))
    assert (delivery.status, delivery.found, delivery.detail) == (SENT, True, FOUND)
    assert ledger_at(early) == {"a:1": SENT} and sender.calls == []
    assert early.get(PENDING, "a:1") is None


def test_a_missing_send_waits_for_the_lookup_delay(early: Store) -> None:
    doubtful(early, "a:1", sent=("c:0",))
    sender = Looking(early, mailbox={message_id("c:0", "example.org")})
    outbox = Outbox(sender, early)
    assert outbox.settle_uncertain(T0 + timedelta(minutes=5)) == []
    assert ledger_at(early)["a:1"] is UNCERTAIN and sender.calls == []
    assert "not in the organizer's mailbox yet" in outbox.notes[0]


def resend_later(store: Store, moment: Moment, *, control_found: bool) -> tuple[Looking, list]:
    doubtful(store, "a:1", sent=("c:0",))
    moment.at = T0 + LOOKUP_DELAY + timedelta(minutes=1)  # the next tick runs later
    mailbox = {message_id("c:0", "example.org")} if control_found else set()
    sender = Looking(store, lambda key: None, mailbox=mailbox)
    return sender, Outbox(sender, store).settle_uncertain(moment.at)


def test_a_send_still_missing_after_the_delay_is_sent_once_more_with_the_same_bytes(
    early: Store, moment: Moment
) -> None:
    sender, deliveries = resend_later(early, moment, control_found=True)
    (delivery,) = deliveries
    assert (delivery.status, delivery.resent, delivery.detail) == (SENT, True, RESENT_MISSING)
    assert sender.calls == [["a:1"]]
    assert sender.lookups == [[message_id("a:1", "example.org"), message_id("c:0", "example.org")]]
    row = early.mail("a:1")
    assert row is not None and row.status is SENT and row.attempts == 2


def test_nothing_is_sent_again_when_the_lookup_cannot_find_a_message_known_to_be_sent(
    early: Store, moment: Moment
) -> None:
    sender, deliveries = resend_later(early, moment, control_found=False)
    assert deliveries == [] and sender.calls == []
    assert ledger_at(early)["a:1"] is UNCERTAIN


def test_without_a_message_known_to_be_sent_nothing_is_sent_again(early: Store) -> None:
    doubtful(early, "a:1")
    later = T0 + LOOKUP_DELAY * 2
    sender = Looking(early, lambda key: None, mailbox=set())
    outbox = Outbox(sender, early)
    assert outbox.settle_uncertain(later) == [] and sender.calls == []
    assert outbox.notes == [NO_CONTROL]


def test_a_failed_lookup_changes_nothing(early: Store) -> None:
    doubtful(early, "a:1")
    sender = Looking(early, mailbox=set())
    sender.down = True
    outbox = Outbox(sender, early)
    assert outbox.settle_uncertain(T0 + LOOKUP_DELAY * 2) == []
    assert ledger_at(early) == {"a:1": UNCERTAIN}
    assert "stay uncertain: x: look up sent mail: mailbox unreachable" in outbox.notes[0]


def test_no_lookup_when_the_settings_did_not_switch_it_on(early: Store) -> None:
    doubtful(early, "a:1")
    sender = Looking(early, mailbox={message_id("a:1", "example.org")}, lookup=False)
    assert Outbox(sender, early).settle_uncertain(T0 + LOOKUP_DELAY * 2) == []
    assert sender.lookups == []


# -- settling by hand --------------------------------------------------------------------------


def test_mark_sent_by_hand_records_it_and_drops_the_bytes(early: Store) -> None:
    doubtful(early, "a:1")
    assert mark_sent_by_hand(early, "a:1", dry_run=True).status is SENT
    assert ledger_at(early) == {"a:1": UNCERTAIN}  # a dry run changes nothing
    delivery = mark_sent_by_hand(early, "a:1")
    assert (delivery.key, delivery.status, delivery.detail) == ("a:1", SENT, BY_HAND_SENT)
    assert ledger_at(early) == {"a:1": SENT} and early.get(PENDING, "a:1") is None


@pytest.mark.parametrize(("key", "state"), [("c:0", "recorded sent"), ("z:9", "not in the ledger")])
def test_only_uncertain_keys_can_be_resolved(early: Store, key: str, state: str) -> None:
    doubtful(early, "a:1", sent=("c:0",))
    with pytest.raises(ConfigError) as refused:
        mark_sent_by_hand(early, key)
    assert str(refused.value) == (
        f"KEY: {key!r} is {state}, not uncertain: there is nothing to resolve; "
        "`rmcal outbox list` shows the uncertain sends and their keys"
    )
    with pytest.raises(ConfigError):
        Outbox(Scripted(early), early).resend_by_hand(key)


def test_resend_by_hand_sends_the_kept_bytes_once(early: Store) -> None:
    doubtful(early, "a:1")
    kept = early.get(PENDING, "a:1")
    sender = Scripted(early, lambda key: None)
    dry = Outbox(sender, early).resend_by_hand("a:1", dry_run=True)
    assert dry.status is SENDING and sender.calls == []
    delivery = Outbox(sender, early).resend_by_hand("a:1")
    assert (delivery.status, delivery.resent, delivery.detail) == (SENT, True, BY_HAND_RESENT)
    assert sender.calls == [["a:1"]] and sender.seen == [(SENDING, True)]
    assert kept is not None and message_id("a:1", "example.org") in kept


def test_a_long_key_is_read_back_whole_from_the_kept_bytes(early: Store) -> None:
    """A key longer than ~66 characters is folded onto the header's second line when the
    message is stored; read back from those bytes it would start with a space (and match no
    ledger row). ``mail_key`` unfolds it, so the re-sent message is recorded under its key."""
    key = "headsup:rmjqru2q1tvrmotitkkatrlbk1:2027-01-13T14:00:00Z:raj@tick.example.org"
    doubtful(early, key)
    kept = early.get(PENDING, key)
    assert kept is not None and "X-Rmcal-Key:\n " in kept  # folded right after the name
    stored = Outbox(Scripted(early), early).stored(early.mail(key))  # type: ignore[arg-type]
    assert stored is not None and str(stored.message["X-Rmcal-Key"]) == " " + key
    assert mail_key(stored.message) == key
    sender = Scripted(early, lambda k: None)
    delivery = Outbox(sender, early).resend_by_hand(key)
    assert sender.calls == [[key]] and delivery.status is SENT
    assert early.mail(key).status is SENT  # type: ignore[union-attr]


def test_resend_by_hand_records_sent_when_the_lookup_finds_it(early: Store) -> None:
    doubtful(early, "a:1")
    sender = Looking(early, mailbox={message_id("a:1", "example.org")})
    delivery = Outbox(sender, early).resend_by_hand("a:1")
    assert (delivery.status, delivery.found) == (SENT, True) and sender.calls == []


def test_resend_by_hand_without_kept_bytes_hands_it_back_to_tick(early: Store) -> None:
    doubtful(early, "a:1")
    early.put(PENDING, "a:1", None)  # as an older rmcal left it
    delivery = Outbox(Scripted(early), early).resend_by_hand("a:1")
    assert (delivery.status, delivery.detail) == (FAILED, REQUEUED)
    assert ledger_at(early) == {"a:1": FAILED}  # not settled: the next tick sends it if due


def test_a_missing_send_that_is_no_longer_due_is_skipped_not_sent(
    early: Store, moment: Moment
) -> None:
    doubtful(early, "a:1", sent=("c:0",))
    moment.at = T0 + LOOKUP_DELAY + timedelta(minutes=1)
    sender = Looking(early, lambda key: None, mailbox={message_id("c:0", "example.org")})
    (delivery,) = Outbox(sender, early).settle_uncertain(moment.at, still_due=lambda key: False)
    assert (delivery.status, delivery.detail) == (SKIPPED, MISSING_STALE)
    assert sender.calls == [] and early.get(PENDING, "a:1") is None


class LookingProvider(Idempotent):
    """The real local provider behind a send that cannot dedupe, with a mailbox lookup that
    finds only the Message-IDs in ``mailbox``; counts what it is asked to send."""

    def __init__(self, inner: Any, mailbox: set[str]) -> None:
        super().__init__(inner, False)
        self.capabilities = replace(self.capabilities, sent_lookup=True)
        self.mailbox = mailbox
        self.asked: list[str] = []

    def send(self, messages: Sequence[EmailMessage], progress: Any = None) -> dict[str, Any]:
        self.asked += [str(m["X-Rmcal-Key"]) for m in messages]
        return self.inner.send(messages, progress)

    def find_sent(self, message_ids: Sequence[str]) -> dict[str, bool]:
        return {mid: mid in self.mailbox for mid in message_ids}


def test_tick_resends_a_missing_uncertain_send_only_while_it_is_still_due(world: World) -> None:
    # An agenda goes out (the control message), then a later run dies mid-send.
    first = world.tick(S1 - timedelta(hours=20))  # Tue 18:00: pair 1's agenda is due
    sent_agenda = next(line.key for line in first.sent if line.kind == "agenda")
    moment = S1 + timedelta(hours=3)
    world.tick(moment, provider=LostAnswers(open_provider(world.config)))
    doubtful_keys = [k for k, s in world.ledger().items() if s is UNCERTAIN]
    (agenda,) = [k for k in doubtful_keys if k.startswith("agenda:")]  # Thu 14 Jan 09:00
    (feedback,) = [k for k in doubtful_keys if k.startswith("feedback:")]

    # The next day, after Thursday's session started: nothing of it is in the mailbox.
    later = datetime(2027, 1, 14, 10, 0, tzinfo=UTC)
    control = message_id(sent_agenda, "tick.example.org")
    provider = LookingProvider(open_provider(world.config), {control})
    result = world.tick(later, provider=provider)
    assert agenda not in provider.asked  # its session has started: an agenda now helps nobody
    assert feedback in provider.asked  # feedback is still useful for a week
    assert world.ledger()[agenda] is SKIPPED
    assert world.ledger()[feedback] is SENT
    assert {line.key for line in result.resent} >= {feedback}
    assert agenda in {line.key for line in result.skipped}
