"""Measured attendance from Meet conference records (mocked HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from rmcal_providers.google.events import series_from_event
from rmcal_providers.google.meet import Attendance

from rmcal.provider import Occurrence
from tests.fakes.google_server import fixture, mock_provider, reply


def test_attendance_sums_sessions_per_signed_in_participant(tmp_path: Path):
    series = series_from_event(fixture("event_series.json"), "Europe/Berlin")
    assert series.extra["conference_id"] == "abc-mnop-xyz"
    provider, transport, _ = mock_provider(
        tmp_path,
        [
            reply("meet_records.json"),
            reply("meet_participants.json"),
            reply("people_person.json"),
            reply("meet_sessions.json"),
        ],
        attendance=True,
    )
    held = Occurrence(
        series.key,
        datetime(2030, 3, 4, 9, tzinfo=UTC),
        datetime(2030, 3, 4, 9, tzinfo=UTC),
        datetime(2030, 3, 4, 9, 45, tzinfo=UTC),
    )
    upcoming = Occurrence(
        series.key,
        datetime(2030, 3, 11, 9, tzinfo=UTC),
        datetime(2030, 3, 11, 9, tzinfo=UTC),
        datetime(2030, 3, 11, 9, 45, tzinfo=UTC),
    )
    meter = Attendance(
        provider.client.calls,
        provider.client.service("meet"),
        provider.client.service("people"),
        provider.context.kv,
        lambda: datetime(2030, 3, 5, tzinfo=UTC),
    )
    first, second = meter.measure(series, [held, upcoming])
    assert first.attended_seconds == {"ana@example.com": 22 * 60 + 19 * 60}
    assert second.attended_seconds is None  # not over yet
    uris = [uri for uri, *_ in transport.request_sequence]
    assert "space.meeting_code+%3D+%22abc-mnop-xyz%22" in uris[0].replace("%20", "+")
    assert uris[1].startswith("https://google.test/v2/conferenceRecords/rec-0304/participants")
    assert uris[2].startswith("https://google.test/v1/people/111?")
    assert "personFields=emailAddresses" in uris[2]
    assert "/participants/p1/participantSessions" in uris[3]
    assert len(uris) == 4  # the anonymous guest costs no lookup
    # The id -> e-mail answer is kept, so the next run asks People only for new faces.
    assert provider.context.kv.get("google-people", "111") == "ana@example.com"


def test_a_past_occurrence_without_a_call_record_measured_nobody(tmp_path: Path):
    series = series_from_event(fixture("event_series.json"), "Europe/Berlin")
    provider, _, _ = mock_provider(tmp_path, [reply({"conferenceRecords": []})], attendance=True)
    slot = datetime(2030, 3, 4, 9, tzinfo=UTC)
    meter = Attendance(
        provider.client.calls,
        provider.client.service("meet"),
        provider.client.service("people"),
        provider.context.kv,
        lambda: slot + timedelta(days=2),
    )
    (got,) = meter.measure(series, [Occurrence(series.key, slot, slot, slot + timedelta(hours=1))])
    assert got.attended_seconds == {}
