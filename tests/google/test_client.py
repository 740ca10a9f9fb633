"""The connection to Google: given credentials are used as they are; httplib2 tries once."""

from __future__ import annotations

from datetime import UTC, datetime

import google.oauth2.credentials
from googleapiclient.http import HttpMockSequence
from rmcal_providers.google import GoogleProvider

from tests.fakes.google_server import TEST_ENDPOINTS, make_context, reply


def test_static_credentials_are_used_as_given(tmp_path):
    creds = google.oauth2.credentials.Credentials(token="abc")
    transport = HttpMockSequence([reply("freebusy_mixed.json")])
    provider = GoogleProvider(
        {"auth": "oauth", "oauth_client_file": "c.json", **TEST_ENDPOINTS},
        make_context(tmp_path),
        transport=transport,
        credentials=creds,
    )
    result = provider.busy(
        ["ghost@example.com"], datetime(2030, 3, 1, tzinfo=UTC), datetime(2030, 3, 2, tzinfo=UTC)
    )
    assert result == {"ghost@example.com": None}
    assert transport.request_sequence[0][3]["authorization"] == "Bearer abc"
