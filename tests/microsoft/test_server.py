"""A 20-pair cohort through the real provider (MSAL + requests over TLS) against the fake Graph
server: create, re-run, state loss, occurrences, mail, throttling and ``auth check``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from rmcal_providers.microsoft import MicrosoftProvider

from rmcal.provider import Series, SeriesEnd
from tests.fakes.graph_server import GraphServer
from tests.microsoft.helpers import ORGANIZER, Waits, context, spec

PAIRS = 20
AMS = ZoneInfo("Europe/Amsterdam")


def make(server: GraphServer, tmp_path, waits: Waits | None = None) -> MicrosoftProvider:
    waits = waits or Waits()
    return MicrosoftProvider(
        server.settings(),
        context(tmp_path, env={"RMCAL_FAKE_SECRET": "fake-secret"}),
        sleep=waits.sleep,
        clock=waits.clock,
        rng=waits.rng,
    )


def test_twenty_pair_cycle(graph_server, tmp_path, waits):
    graph = graph_server.graph
    specs = [spec(n) for n in range(PAIRS)]

    first = make(graph_server, tmp_path)
    rows = first.check()
    assert all(r.ok for r in rows), rows

    people = [a.email for s in specs for a in s.attendees] + ["visitor@partner.invalid"]
    graph.busy["mentor3@contoso.com"] = [
        (datetime(2026, 1, 14, 13, tzinfo=UTC), datetime(2026, 1, 14, 14, tzinfo=UTC))
    ]
    busy = first.busy(people, datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 4, 30, tzinfo=UTC))
    assert busy["visitor@partner.invalid"] is None
    assert busy["mentor3@contoso.com"] == (
        (datetime(2026, 1, 14, 13, tzinfo=UTC), datetime(2026, 1, 14, 14, tzinfo=UTC)),
    )
    assert busy["mentee3@contoso.com"] == ()

    created = first.create_series(specs)
    assert all(isinstance(s, Series) for s in created.values())
    assert len(graph.events) == PAIRS
    assert max(graph.batch_sizes) <= 20 and max(graph.peak_in_flight.values()) <= 4
    assert graph.refused_concurrency == 0

    again = first.create_series(specs)  # a re-run creates nothing
    assert len(graph.events) == PAIRS
    assert {k: s.provider_id for k, s in again.items()} == {
        k: s.provider_id for k, s in created.items()
    }
    first.close()

    # The state file is lost: a new process finds every series again by its tag.
    second = make(graph_server, tmp_path / "fresh")
    found = second.find_series("2026-spring")
    assert [s.key for s in found] == sorted(s.key for s in specs)
    by_key = {s.key: s for s in found}
    for one in specs:
        series = by_key[one.key]
        assert series.rrule == one.rrule
        assert series.timezone == "Europe/Amsterdam"
        assert series.start == one.start
        assert series.video_url
    assert len(second.create_series(specs)) == PAIRS
    assert len(graph.events) == PAIRS

    # What happened in Outlook: one cancelled, one moved, one declined.
    target = by_key["key-0"].provider_id
    graph.cancel_occurrence(target, datetime(2026, 1, 21, 14, tzinfo=AMS))
    graph.move_occurrence(
        target, datetime(2026, 2, 4, 14, tzinfo=AMS), datetime(2026, 2, 5, 9, tzinfo=AMS)
    )
    graph.respond(target, datetime(2026, 1, 7, 14, tzinfo=AMS), "mentee0@contoso.com", "declined")
    occurrences = second.occurrences(
        found, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    )
    assert all(len(v) == 6 for v in occurrences.values())
    zero = occurrences["key-0"]
    assert [o.cancelled for o in zero] == [False, True, False, False, False, False]
    assert zero[2].moved and zero[2].start == datetime(2026, 2, 5, 8, tzinfo=UTC)
    assert zero[0].responses["mentee0@contoso.com"].value == "declined"

    # Mail for every pair, with throttling on the way, waited out through the injected sleep.
    sender = make(graph_server, tmp_path / "fresh", waits)
    graph.throttle(3, retry_after=2)
    messages = []
    for n in range(PAIRS):
        msg = EmailMessage()
        msg["From"] = ORGANIZER
        msg["To"] = f"mentee{n}@contoso.com"
        msg["Subject"] = f"Agenda {n}"
        msg["X-Rmcal-Key"] = f"agenda:key-{n}"
        msg.set_content("agenda")
        msg.add_alternative("<p>agenda</p>", subtype="html")
        messages.append(msg)
    sent = sender.send(messages)
    assert sent == {f"agenda:key-{n}": None for n in range(PAIRS)}
    # Three 429s in a row for one send: Retry-After is the least wait, and the backoff's own
    # floor (half of 2 s, 4 s, 8 s) grows past it.
    assert waits.waits == [2.0, 2.0, 4.0]
    assert sorted(m["X-Rmcal-Key"] for m in graph.sent) == sorted(sent)

    # Ending a series keeps its past and shortens its range.
    last = datetime(2026, 2, 4, 14, tzinfo=AMS)
    ended = sender.end_series([SeriesEnd(by_key["key-5"], last)])["key-5"]
    assert ended.rrule.endswith("UNTIL=20260204T130000Z")  # the kept last start, in UTC
    refound = {s.key: s for s in sender.find_series("2026-spring")}
    assert refound["key-5"].rrule == ended.rrule
    left = sender.occurrences(
        [refound["key-5"]], datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    )["key-5"]
    assert [o.start.date().isoformat() for o in left] == ["2026-01-07", "2026-01-21", "2026-02-04"]
    sender.close()


def test_inner_batch_throttling_is_retried(graph_server, tmp_path, waits):
    provider = make(graph_server, tmp_path, waits)
    specs = [spec(100 + n, start=datetime(2026, 3, 4, 10, tzinfo=AMS)) for n in range(3)]
    batches_before = len(graph_server.graph.batch_sizes)
    graph_server.graph.throttle(2, retry_after=3, method="POST")  # two of the inner creates
    created = provider.create_series(specs)
    assert all(isinstance(s, Series) for s in created.values())
    # a throttled create holds up the rest of its chain (424), which goes again at once; the
    # two throttled ones go together after one wait
    assert waits.waits == [3.0]
    assert graph_server.graph.batch_sizes[batches_before:] == [3, 2, 1, 2]
    assert len({s.provider_id for s in created.values()}) == 3
    provider.close()


def test_server_rejects_oversized_free_busy_requests(graph_server, tmp_path):
    """The fake enforces Graph's limits, so the provider's chunking is what makes this pass."""
    provider = make(graph_server, tmp_path)
    people = [f"p{i}@contoso.com" for i in range(45)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    busy = provider.busy(people, start, start + timedelta(days=130))
    assert set(busy) == set(people)
    provider.close()


def test_find_all_series_finds_every_cohort_and_nothing_else(fresh_graph_server, tmp_path):
    graph_server = fresh_graph_server
    provider = make(graph_server, tmp_path)
    spring = [spec(n) for n in range(3)]
    autumn = [
        replace(
            one,
            cohort_id="2026-autumn",
            tags=tuple((k, "2026-autumn" if k == "cohort" else v) for k, v in one.tags),
        )
        for one in (spec(10), spec(11))
    ]
    provider.create_series(spring + autumn)
    graph_server.graph.add_plain_event(ORGANIZER, "Team lunch")  # not rmcal's
    found = provider.find_all_series()
    assert sorted(s.key for s in found) == sorted(s.key for s in spring + autumn)
    assert {s.cohort_id for s in found} == {"2026-spring", "2026-autumn"}
    assert [s.key for s in provider.find_series("2026-autumn")] == sorted(s.key for s in autumn)
