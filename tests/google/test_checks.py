"""``rmcal auth check`` on Google: one token request per scope, reads but never sends."""

from __future__ import annotations

import urllib.parse

from rmcal_providers.google import GoogleProvider
from rmcal_providers.google.settings import SCOPE_EVENTS, SCOPE_FREEBUSY, SCOPE_GMAIL_SEND

from tests.fakes.google_server import TEST_ENDPOINTS, make_context, reply
from tests.google.helpers import jwt_claims, sa_provider


def test_check_probes_each_scope_alone_and_names_the_missing_one(key_dir):
    provider, transport = sa_provider(
        key_dir,
        [
            reply("token_response.json"),
            reply("token_unauthorized_client.json", status=401),
            reply("token_response.json"),
        ],
    )
    rows = provider.check()
    by_name = {row.name: row for row in rows}
    assert by_name["credentials"].ok
    assert by_name["scope calendar.events.owned"].ok
    assert by_name["scope gmail.send"].ok
    missing = by_name["scope calendar.freebusy"]
    assert not missing.ok
    assert SCOPE_FREEBUSY in missing.remedy and "100000000000000000001" in missing.remedy
    assert "calendar.events, calendar.readonly" in missing.remedy  # the documented fallback
    # One token request per scope, each asking for exactly that scope; nothing else was called.
    scopes = [
        jwt_claims(urllib.parse.parse_qs(body.decode())["assertion"][0])["scope"]
        for _, _, body, _ in transport.request_sequence
    ]
    assert scopes == [SCOPE_EVENTS, SCOPE_FREEBUSY, SCOPE_GMAIL_SEND]


def test_check_with_all_scopes_reads_calendar_and_freebusy_without_sending_mail(key_dir):
    provider, transport = sa_provider(
        key_dir,
        [reply("token_response.json")] * 4
        + [reply("events_find_page2.json"), reply("freebusy_mixed.json")],
    )
    rows = provider.check()
    assert [r.name for r in rows] == [
        "credentials",
        "scope calendar.events.owned",
        "scope calendar.freebusy",
        "scope gmail.send",
        "calendar readable",
        "free/busy",
        "gmail send",
    ]
    assert all(r.ok for r in rows), rows
    assert not any("gmail" in uri for uri, *_ in transport.request_sequence)


def test_oauth_without_a_saved_token_says_to_log_in(tmp_path):
    provider = GoogleProvider(
        {"auth": "oauth", "oauth_client_file": "client.json", **TEST_ENDPOINTS},
        make_context(tmp_path),
    )
    rows = provider.check()
    assert len(rows) == 1 and not rows[0].ok
    assert "rmcal auth login --provider google" in rows[0].remedy
