"""Plain helpers shared by the Google provider's tests (not tests themselves, not fixtures)."""

from __future__ import annotations

import base64
import json
import urllib.parse
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from googleapiclient.http import HttpMockSequence
from rmcal_providers.google import GoogleProvider
from rmcal_providers.google.events import series_from_event

from rmcal.cli import main
from rmcal.provider import Attendee, Series, SeriesSpec
from tests.fakes.google_server import (
    ORGANIZER,
    TEST_ENDPOINTS,
    FakeClock,
    fixture,
    make_context,
    parse_batch,
)

SA_EMAIL = "rmcal@rmcal-test.iam.gserviceaccount.com"  # the key in the ``key_dir`` fixture
BERLIN = "Europe/Berlin"
KEY = "rm0123456789abcdefghijklmn"  # a valid event id: base32hex
DOMAIN = "contoso.com"  # the ``workspace`` fixture's users


def sa_provider(
    key_dir: Path, responses: list[Any], **settings: Any
) -> tuple[GoogleProvider, HttpMockSequence]:
    """A service-account provider over ``HttpMockSequence(responses)`` on a fake clock."""
    transport = HttpMockSequence(list(responses))
    clock = FakeClock()
    provider = GoogleProvider(
        {"service_account_file": str(key_dir / "sa.json"), **TEST_ENDPOINTS, **settings},
        make_context(key_dir),
        transport=transport,
        sleep=clock.sleep,
        clock=clock,
    )
    return provider, transport


def jwt_claims(assertion: str) -> dict:
    """The claims of the JWT a service account sent to the token endpoint."""
    payload = assertion.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def spec(
    key: str = KEY, *, video: bool = True, rrule: str = "FREQ=WEEKLY;BYDAY=MO;COUNT=6"
) -> SeriesSpec:
    """Ana and Ben's weekly Monday series in Berlin, with a Meet link by default."""
    return SeriesSpec(
        key=key,
        cohort_id="2030-spring",
        pair_id="ana-ben-1a2b3c",
        title="Reverse mentoring: Ana & Ben",
        description_html="<p>Your <b>reverse-mentoring</b> sessions.</p>",
        description_text="Your reverse-mentoring sessions.",
        organizer=Attendee(ORGANIZER, "Programme Office"),
        attendees=(Attendee("ana@example.com", "Ana"), Attendee("Ben@Example.com", "Ben")),
        start=datetime(2030, 3, 4, 10, 0, tzinfo=ZoneInfo(BERLIN)),
        duration=timedelta(minutes=45),
        timezone=BERLIN,
        rrule=rrule,
        video=video,
        tags=(("fingerprint", "f1"), ("generation", "1")),
    )


def query(uri: str) -> dict[str, list[str]]:
    """The query parameters of a request URI."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)


def batch_of(request) -> list:  # type: ignore[no-untyped-def]
    """The parts of one recorded batch request to the Calendar batch endpoint."""
    uri, method, body, headers = request
    assert (uri, method) == ("https://google.test/batch/calendar/v3", "POST")
    return parse_batch(headers["content-type"], body.encode() if isinstance(body, str) else body)


def the_series() -> Series:
    """The series of the recorded ``event_series.json``, as the provider reads it."""
    return series_from_event(fixture("event_series.json"), BERLIN)


def run(*args: str) -> tuple[int, str]:
    """The exit code and output of ``rmcal <args>`` run in-process."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output
