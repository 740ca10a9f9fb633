"""The fake Graph server enforces Outlook's per-mailbox concurrency the way Exchange does.

The benchmark's "0 throttled responses" only means something if the fake would have refused
more: these tests send it one request too many, at once, and see the 429.
"""

from __future__ import annotations

import threading
from pathlib import Path

import requests

from tests.fakes.graph_server import FakeGraph, GraphServer

ORGANIZER = "rm@contoso.com"


def _token(server: GraphServer) -> str:
    reply = requests.post(
        f"{server.url}/{server.graph.tenant}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": "c", "client_secret": "s"},
        verify=str(server.tls.ca_path),
        timeout=10,
    )
    return str(reply.json()["access_token"])


def _at_once(server: GraphServer, calls: int) -> list[requests.Response]:
    """``calls`` requests to the organizer's mailbox, released together."""
    token = _token(server)
    gate = threading.Barrier(calls)
    answers: list[requests.Response] = []

    def one() -> None:
        gate.wait()
        answers.append(
            requests.get(
                f"{server.url}/v1.0/users/{ORGANIZER}/calendar",
                headers={"Authorization": f"Bearer {token}"},
                verify=str(server.tls.ca_path),
                timeout=10,
            )
        )

    threads = [threading.Thread(target=one) for _ in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_a_fifth_concurrent_request_on_one_mailbox_is_refused_with_retry_after(tmp_path: Path):
    with GraphServer(FakeGraph(latency=0.5), directory=tmp_path) as server:
        answers = _at_once(server, 5)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 200, 200, 200, 429]
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.headers["Retry-After"] == "1"
        assert refused.json()["error"]["code"] == "ApplicationThrottled"
        assert server.graph.peak_in_flight[ORGANIZER] == 4
        assert server.graph.refused_concurrency == 1


def test_four_at_once_are_all_answered(tmp_path: Path):
    with GraphServer(FakeGraph(latency=0.3), directory=tmp_path) as server:
        assert sorted(a.status_code for a in _at_once(server, 4)) == [200] * 4
        assert server.graph.refused_concurrency == 0


def _batch(server: GraphServer, requests_: list[dict]) -> dict[str, int]:
    reply = requests.post(
        f"{server.url}/v1.0/$batch",
        json={"requests": requests_},
        headers={"Authorization": f"Bearer {_token(server)}"},
        verify=str(server.tls.ca_path),
        timeout=30,
    )
    assert reply.status_code == 200
    return {r["id"]: r["status"] for r in reply.json()["responses"]}


def _get(n: int, depends: str | None = None) -> dict:
    item = {"id": str(n), "method": "GET", "url": f"/users/{ORGANIZER}/calendar"}
    if depends is not None:
        item["dependsOn"] = [depends]
    return item


def test_a_batch_counts_its_inner_requests_against_the_mailbox(tmp_path: Path):
    with GraphServer(FakeGraph(), directory=tmp_path) as server:
        unordered = _batch(server, [_get(n) for n in range(5)])
        assert sorted(unordered.values()) == [200, 200, 200, 200, 429]
        # A dependsOn chain runs one request at a time: twenty of them are one slot.
        chain = _batch(server, [_get(0)] + [_get(n, str(n - 1)) for n in range(1, 20)])
        assert set(chain.values()) == {200}
        assert server.graph.peak_in_flight[ORGANIZER] == 4


def test_a_chain_after_a_failed_request_answers_424(tmp_path: Path):
    with GraphServer(FakeGraph(), directory=tmp_path) as server:
        broken = {"id": "0", "method": "GET", "url": f"/users/{ORGANIZER}/events/nope"}
        answers = _batch(server, [broken, _get(1, "0"), _get(2, "1")])
        assert answers == {"0": 404, "1": 424, "2": 424}


def test_the_provider_keeps_four_in_flight_and_never_a_fifth(tmp_path: Path):
    """Free/busy and creates use all four of the mailbox's places, and Exchange (the fake,
    which refuses a fifth) never has to refuse one."""
    from datetime import UTC, datetime, timedelta

    from rmcal_providers.microsoft import MicrosoftProvider

    from rmcal.provider import Series
    from tests.microsoft.helpers import ORGANIZER as ORG
    from tests.microsoft.helpers import Waits, context, spec

    with GraphServer(FakeGraph(latency=0.05), directory=tmp_path / "tls") as server:
        waits = Waits()
        provider = MicrosoftProvider(
            server.settings(),
            context(tmp_path, env={"RMCAL_FAKE_SECRET": "fake-secret"}),
            sleep=waits.sleep,
            clock=waits.clock,
            rng=waits.rng,
        )
        specs = [spec(n) for n in range(90)]
        people = sorted({a.email for s in specs for a in s.attendees})
        start = datetime(2026, 1, 5, tzinfo=UTC)
        provider.busy(people, start, start + timedelta(days=150))
        created = provider.create_series(specs)
        provider.close()
        graph = server.graph
        assert all(isinstance(s, Series) for s in created.values())
        assert graph.calls["getSchedule"] == 9 * 3
        assert graph.calls["$batch"] == 5  # 90 creates in chains of 20
        assert graph.peak_in_flight[ORG] == 4
        assert graph.refused_concurrency == 0 and graph.throttled == 0
        assert waits.waits == []
