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
        "sent mail lookup",
    ]
    assert all(r.ok for r in rows), rows
    assert rows[-1].detail.startswith("off: uncertain sends wait for `rmcal outbox resolve`")
    assert not any("gmail" in uri for uri, *_ in transport.request_sequence)


def test_check_with_the_lookup_on_probes_a_search_and_the_read_scope(key_dir):
    provider, transport = sa_provider(
        key_dir,
        [reply("token_response.json")] * 5
        + [
            reply("events_find_page2.json"),
            reply("freebusy_mixed.json"),
            reply({"resultSizeEstimate": 0}),
        ],
        sent_items_lookup=True,
    )
    rows = {row.name: row for row in provider.check()}
    assert rows["scope gmail.readonly"].ok  # asked for alone at the token endpoint
    lookup = rows["sent mail lookup (gmail.readonly)"]
    assert lookup.ok, lookup
    uri, method, _, _ = transport.request_sequence[-1]
    assert method == "GET" and "/gmail/v1/users/me/messages?" in uri and "q=rfc822msgid" in uri


def test_check_with_the_lookup_on_but_no_scope_that_may_search_says_which_to_add(key_dir):
    provider, _ = sa_provider(
        key_dir,
        [reply("token_response.json")] * 4
        + [reply("events_find_page2.json"), reply("freebusy_mixed.json")],
        sent_items_lookup=True,
        scopes=["calendar.events.owned", "calendar.freebusy", "gmail.send", "gmail.metadata"],
    )
    lookup = provider.check()[-1]
    assert not lookup.ok
    assert "gmail.readonly" in lookup.remedy


def test_oauth_without_a_saved_token_says_to_log_in(tmp_path):
    provider = GoogleProvider(
        {"auth": "oauth", "oauth_client_file": "client.json", **TEST_ENDPOINTS},
        make_context(tmp_path),
    )
    rows = provider.check()
    assert len(rows) == 1 and not rows[0].ok
    assert "rmcal auth login --provider google" in rows[0].remedy


class Refusing:
    """A transport whose every connection is refused (the token endpoint is down)."""

    def __init__(self) -> None:
        self.calls = 0

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        raise ConnectionRefusedError(111, "Connection refused")


def test_check_with_the_token_endpoint_refusing_connections_says_so_without_a_traceback(key_dir):
    provider, _ = sa_provider(key_dir, [])
    refusing = Refusing()
    provider.client.transport = refusing
    rows = provider.check()
    assert [r.ok for r in rows] == [True, False]
    assert "cannot reach the token endpoint" in rows[1].detail
    assert "ConnectionRefusedError" in rows[1].detail
    assert "provider.token_uri" in (rows[1].remedy or "")
    assert refusing.calls == 1  # the other scopes would only fail the same way
