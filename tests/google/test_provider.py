"""The Google provider end to end over TLS against the fake Google server: a 20-pair cohort.

Everything real except Google: JWT-bearer token minting with a throwaway service-account key,
discovery-built requests, multipart batches, httplib2 over HTTPS with the test CA.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import httplib2
import pytest
from rmcal_providers.google import GoogleProvider
from rmcal_providers.google.settings import SCOPE_GMAIL_READ, default_scopes

from rmcal.provider import (
    Attendee,
    InteractiveLogin,
    ItemFailure,
    MemoryKeyValue,
    Provider,
    Response,
    Series,
    SeriesEnd,
    SeriesSpec,
)
from tests.fakes.faults import Fault, FaultPlan
from tests.fakes.google_server import (
    ORGANIZER,
    FakeClock,
    FakeGoogle,
    RunningFake,
    make_context,
    start,
    write_service_account,
)
from tests.google.helpers import sa_provider

SA_EMAIL = "rmcal@rmcal-e2e.iam.gserviceaccount.com"
BERLIN = ZoneInfo("Europe/Berlin")
PAIRS = 20
FIRST = datetime(2030, 3, 4, 10, 0, tzinfo=BERLIN)
WINDOW = (datetime(2030, 3, 1, tzinfo=UTC), datetime(2030, 6, 1, tzinfo=UTC))


def test_is_a_provider_with_interactive_login(key_dir):
    provider, _ = sa_provider(key_dir, [])
    assert isinstance(provider, Provider)
    assert isinstance(provider, InteractiveLogin)
    assert provider.name == "google"
    assert provider.capabilities.batch_size == 50
    assert provider.capabilities.batch_size == 50
    assert provider.capabilities.attendance is False
    assert httplib2.RETRIES == 1  # POSTs are never silently re-sent by httplib2


def people(number: int) -> tuple[str, str]:
    return f"mentor{number:02d}@example.com", f"mentee{number:02d}@example.com"


@pytest.fixture()
def fake_google(tmp_path: Path) -> Iterator[tuple[RunningFake, Path]]:
    fake = FakeGoogle(users=[ORGANIZER])
    for number in range(PAIRS):
        mentor, mentee = people(number)
        fake.add_user(mentor, busy=[(FIRST, FIRST + timedelta(hours=1))] if number == 0 else [])
        fake.add_user(mentee)
    public = write_service_account(tmp_path / "sa.json", SA_EMAIL)
    fake.add_service_account(SA_EMAIL, public, default_scopes(True))
    running = start(fake, tmp_path / "tls")
    try:
        yield running, tmp_path
    finally:
        running.stop()


def provider_for(
    running: RunningFake, directory: Path, kv: MemoryKeyValue, clock: FakeClock, **extra
) -> GoogleProvider:  # type: ignore[no-untyped-def]
    settings = {"service_account_file": str(directory / "sa.json"), **running.settings(), **extra}
    return GoogleProvider(
        settings,
        make_context(directory, kv),
        sleep=clock.sleep,
        clock=clock,
        rng=lambda: 0.5,
        now=lambda: datetime(2030, 5, 1, tzinfo=UTC),
    )


def cohort() -> list[SeriesSpec]:
    specs = []
    for number in range(PAIRS):
        mentor, mentee = people(number)
        specs.append(
            SeriesSpec(
                key=f"rmc{number:023d}",
                cohort_id="2030-spring",
                pair_id=f"pair-{number:02d}",
                title=f"Reverse mentoring #{number}",
                description_html=f"<p>Pair {number}</p>",
                description_text=f"Pair {number}",
                organizer=Attendee(ORGANIZER, "Programme Office"),
                attendees=(Attendee(mentor, "Mentor"), Attendee(mentee, "Mentee")),
                start=FIRST + timedelta(hours=number % 6),
                duration=timedelta(minutes=45),
                timezone="Europe/Berlin",
                rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=6",
                video=True,
                tags=(("fingerprint", f"fp{number}"),),
            )
        )
    return specs


def mail(key: str, to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = ORGANIZER
    msg["To"] = to
    msg["Subject"] = "Your next session"
    msg["X-Rmcal-Key"] = key
    msg.set_content("See you Monday.")
    msg.add_alternative("<p>See you Monday.</p>", subtype="html")
    return msg


def test_twenty_pair_cycle(fake_google):
    running, directory = fake_google
    fake = running.fake
    clock = FakeClock()
    kv = MemoryKeyValue()
    provider = provider_for(running, directory, kv, clock)

    assert all(row.ok for row in provider.check())

    everyone = [p for n in range(PAIRS) for p in people(n)] + ["stranger@elsewhere.test"]
    busy = provider.busy(everyone, *WINDOW)
    assert busy["mentor00@example.com"] == ((FIRST, FIRST + timedelta(hours=1)),)
    assert busy["mentee19@example.com"] == ()
    assert busy["stranger@elsewhere.test"] is None

    specs = cohort()
    created = provider.create_series(specs)
    assert all(isinstance(s, Series) and s.video_url for s in created.values())
    # Free/busy: 41 people over a window of two 90-day parts, one batch; then the creates.
    assert fake.batches == [2, PAIRS], fake.batched
    assert {n[2] for n in fake.notifications} == {"all"}

    # A re-run with the calendar throttling two items: waited out, nothing duplicated.
    fake.inject(429, "rateLimitExceeded", path_contains="/events", method="POST", times=2)
    again = provider.create_series(specs)
    assert all(isinstance(s, Series) for s in again.values())
    assert len(fake.calendar(ORGANIZER)) == PAIRS
    assert clock.sleeps  # the throttled items waited (on the fake clock)

    # The state file is lost: a fresh provider finds the cohort by its tag alone.
    fresh_kv = MemoryKeyValue()
    fresh = provider_for(running, directory, fresh_kv, clock)
    found = fresh.find_series("2030-spring")
    assert [s.key for s in found] == sorted(s.key for s in specs)
    assert fresh.find_all_series() == found  # one cohort in this calendar: the same series
    assert fresh.create_series(specs[:3]).keys() == {s.key for s in specs[:3]}
    assert len(fake.calendar(ORGANIZER)) == PAIRS

    # Life happens in the calendar.
    utc = {s.key: s.start.astimezone(UTC) for s in specs}
    k0, k1, k2, k3, k4 = (specs[n].key for n in range(5))
    fake.cancel_occurrence(ORGANIZER, k0, utc[k0] + timedelta(weeks=1))
    fake.move_occurrence(
        ORGANIZER, k1, utc[k1] + timedelta(weeks=2), utc[k1] + timedelta(weeks=2, days=1)
    )
    fake.respond(ORGANIZER, k2, "mentee02@example.com", "declined", utc[k2] + timedelta(weeks=3))
    fake.respond(ORGANIZER, k2, "mentor02@example.com", "accepted")
    by_key = {s.key: s for s in found}
    ended = fresh.end_series([SeriesEnd(by_key[k3], by_key[k3].start + timedelta(weeks=1))])[k3]
    assert isinstance(ended, Series) and ended.rrule.endswith("UNTIL=20300311T120000Z")
    found = fresh.find_series("2030-spring")

    occurrences = fresh.occurrences(found, *WINDOW)
    assert fake.log.count(("GET", "/calendar/v3/calendars/primary/events")) >= 1
    assert len(occurrences) == PAIRS
    assert [o.cancelled for o in occurrences[k0]] == [False, True, False, False, False, False]
    assert occurrences[k1][2].moved and occurrences[k1][2].start == utc[k1] + timedelta(
        weeks=2, days=1
    )
    declined = occurrences[k2][3].responses
    assert declined["mentee02@example.com"] == Response.DECLINED
    assert occurrences[k2][0].responses["mentor02@example.com"] == Response.ACCEPTED
    assert len(occurrences[k3]) == 2
    assert all(len(v) == 6 for k, v in occurrences.items() if k != k3)

    # Incremental: only what changed since the token comes back.
    fake.respond(ORGANIZER, k4, "mentor04@example.com", "declined")
    before = len(fake.log)
    updated = fresh.occurrences(found, *WINDOW)
    sync_reads = [p for m, p in fake.log[before:] if p.endswith("/events")]
    assert len(sync_reads) == 1
    assert all(o.responses["mentor04@example.com"] == Response.DECLINED for o in updated[k4])

    # An expired token means one full re-read, with the same answer.
    fake.expire_sync_tokens()
    assert fresh.occurrences(found, *WINDOW) == updated

    # events.instances gives the same picture as the sync-token cache.
    plain = provider_for(running, directory, MemoryKeyValue(), clock, sync_tokens=False)
    assert plain.occurrences(found, *WINDOW) == updated

    sent = fresh.send([mail(f"agenda:{s.key}", people(n)[1]) for n, s in enumerate(specs)])
    assert all(v is None for v in sent.values())
    assert [m["message"]["X-Rmcal-Key"] for m in fake.sent] == [f"agenda:{s.key}" for s in specs]
    assert fake.sent[0]["message"].get_body(preferencelist=("html",)).get_content().strip() == (
        "<p>See you Monday.</p>"
    )
    provider.close()
    fresh.close()


def test_check_names_the_scope_missing_from_the_admin_console(fake_google):
    running, directory = fake_google
    running.fake.add_service_account(
        SA_EMAIL, None, [s for s in default_scopes(False) if not s.endswith("gmail.send")]
    )
    provider = provider_for(running, directory, MemoryKeyValue(), FakeClock())
    rows = {row.name: row for row in provider.check()}
    assert rows["scope calendar.events.owned"].ok
    assert not rows["scope gmail.send"].ok
    assert "https://www.googleapis.com/auth/gmail.send" in rows["scope gmail.send"].remedy
    assert "100000000000000000001" in rows["scope gmail.send"].remedy


def test_a_deleted_series_cannot_be_created_again_under_its_key(fake_google):
    running, directory = fake_google
    provider = provider_for(running, directory, MemoryKeyValue(), FakeClock())
    (spec,) = cohort()[:1]
    assert isinstance(provider.create_series([spec])[spec.key], Series)
    running.fake.delete_event(ORGANIZER, spec.key)
    failure = provider.create_series([spec])[spec.key]
    assert isinstance(failure, ItemFailure) and not failure.retryable
    (gone,) = provider.find_series("2030-spring")
    assert gone.key == spec.key and gone.cancelled  # the planner leaves it alone
    # A new generation (new key) goes through.
    again = provider.create_series([replace(spec, key="rmc" + "1" * 23)])
    assert isinstance(again["rmc" + "1" * 23], Series)


def test_measured_attendance_from_meet_records(fake_google):
    running, directory = fake_google
    clock = FakeClock()
    provider = provider_for(running, directory, MemoryKeyValue(), clock, attendance=True)
    (spec,) = cohort()[:1]
    series = provider.create_series([spec])[spec.key]
    code = series.extra["conference_id"]
    slot = spec.start.astimezone(UTC)
    running.fake.add_conference(
        code,
        slot,
        slot + timedelta(minutes=45),
        {
            "mentor00@example.com": [(slot, slot + timedelta(minutes=40))],
            "mentee00@example.com": [
                (slot + timedelta(minutes=5), slot + timedelta(minutes=20)),
                (slot + timedelta(minutes=25), slot + timedelta(minutes=45)),
            ],
        },
    )
    got = provider.occurrences([series], *WINDOW)[spec.key]
    assert got[0].attended_seconds == {
        "mentor00@example.com": 40 * 60,
        "mentee00@example.com": 35 * 60,
    }
    # "Now" is 1 May: Meet has dropped records older than 30 days, so an old occurrence
    # without a record is unknown, while a recent one without a record had nobody join.
    assert got[1].attended_seconds is None
    assert got[5].original_start == datetime(2030, 4, 8, 8, tzinfo=UTC)
    assert got[5].attended_seconds == {}
    assert provider.capabilities.attendance


def sender(running: RunningFake, directory: Path, **extra) -> GoogleProvider:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    return provider_for(running, directory, MemoryKeyValue(), clock, timeout=0.5, **extra)


def identified(key: str) -> EmailMessage:
    """A message with a Message-ID derived from ``key``, as rmcal composes them."""
    msg = mail(key, "mentee00@example.com")
    msg["Message-ID"] = f"<rmcal.{key}@example.com>"
    return msg


@pytest.mark.parametrize("applied", [True, False], ids=["carried out", "not carried out"])
def test_a_send_whose_connection_drops_is_uncertain_and_reaches_gmail_at_most_once(
    fake_google, applied: bool
):
    running, directory = fake_google
    running.server.faults = FaultPlan(
        rate=0.0, script=[("POST", "messages/send", Fault("drop", applied=applied))]
    )
    running.fake.accounts[SA_EMAIL]["scopes"].add(SCOPE_GMAIL_READ)
    provider = sender(running, directory, sent_items_lookup=True)
    result = provider.send([identified("k1"), identified("k2")])
    assert result["k1"] is not None and result["k1"].uncertain
    assert result["k2"] is None
    sent = [m["message"]["X-Rmcal-Key"] for m in running.fake.sent]
    assert sent == (["k1", "k2"] if applied else ["k2"])
    # Two sends reached the server, k1 once: over httplib2 the dropped POST would have been
    # sent a second time (tests/test_outcome.py shows it on a bare socket).
    handled = [p for m, p in running.fake.log if m == "POST" and p.endswith("messages/send")]
    assert len(handled) + (0 if applied else 1) == 2
    assert provider.find_sent(["<rmcal.k1@example.com>"]) == {"<rmcal.k1@example.com>": applied}


def test_a_throttled_send_over_requests_is_waited_out_and_sent_once(fake_google):
    running, directory = fake_google
    running.server.faults = FaultPlan(
        rate=0.0, script=[("POST", "messages/send", Fault("429", applied=False))]
    )
    provider = sender(running, directory)
    assert provider.send([identified("k1")]) == {"k1": None}
    assert [m["message"]["X-Rmcal-Key"] for m in running.fake.sent] == ["k1"]
