"""The connection to Google: given credentials are used as they are; httplib2 tries once."""

from __future__ import annotations

import errno
from datetime import UTC, datetime

import google.oauth2.credentials
import httplib2
import pytest
from googleapiclient.http import HttpMockSequence
from rmcal_providers.google import GoogleProvider

from tests.fakes.google_server import TEST_ENDPOINTS, make_context, mock_provider, reply


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


class NoRoute(httplib2.HTTPConnectionWithTimeout):
    """httplib2's own connection, on a network that is unreachable; counts the tries."""

    tries = 0

    def connect(self) -> None:
        NoRoute.tries += 1
        raise OSError(errno.ENETUNREACH, "Network is unreachable")


def tries_of_one_post() -> int:
    """How many times real httplib2 tries a POST whose network is unreachable."""
    NoRoute.tries = 0
    with pytest.raises(OSError):
        httplib2.Http(proxy_info=None).request(
            "http://google.test/gmail/v1/users/me/messages/send",
            "POST",
            body="{}",
            connection_type=NoRoute,
        )
    return NoRoute.tries


def test_httplib2_tries_each_request_once_behind_a_provider(tmp_path, monkeypatch):
    monkeypatch.setattr(httplib2, "RETRIES", 2)  # httplib2's default; restored afterwards
    assert tries_of_one_post() == 2  # left alone, httplib2 tries the send again by itself
    mock_provider(tmp_path, [])
    assert httplib2.RETRIES == 1
    assert tries_of_one_post() == 1  # rmcal's retries, not httplib2's, decide
