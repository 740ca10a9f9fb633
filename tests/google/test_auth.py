"""Google credentials: service-account (DWD) tokens, refusals named, OAuth login, bad keys."""

from __future__ import annotations

import json
import stat
import threading
import urllib.parse
import urllib.request
from datetime import UTC, datetime

import pytest
from rmcal_providers.google import GoogleProvider
from rmcal_providers.google.settings import (
    SCOPE_EVENTS,
    SCOPE_FREEBUSY,
    SCOPE_GMAIL_SEND,
    default_scopes,
)

from rmcal.errors import PermissionDenied, SettingsError
from rmcal.provider import MemoryKeyValue
from tests.fakes.google_server import ORGANIZER, FakeGoogle, make_context, reply, start
from tests.google.helpers import SA_EMAIL, jwt_claims, sa_provider


def test_service_account_mints_a_delegated_token_then_calls_with_it(key_dir):
    provider, transport = sa_provider(
        key_dir, [reply("token_response.json"), reply("freebusy_mixed.json")]
    )
    provider.busy(
        ["ana@example.com"], datetime(2030, 3, 1, tzinfo=UTC), datetime(2030, 3, 2, tzinfo=UTC)
    )
    (token_uri, method, body, _), (api_uri, _, _, headers) = transport.request_sequence
    assert (token_uri, method) == ("https://google.test/token", "POST")
    form = urllib.parse.parse_qs(body.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = jwt_claims(form["assertion"][0])
    assert claims["iss"] == SA_EMAIL
    assert claims["sub"] == ORGANIZER  # subject defaults to the organizer
    assert claims["scope"].split() == [SCOPE_EVENTS, SCOPE_FREEBUSY, SCOPE_GMAIL_SEND]
    assert api_uri.startswith("https://google.test/calendar/v3/freeBusy")
    assert headers["authorization"] == "Bearer ya29.c.fixture-access-token"


def test_delegation_refused_names_client_id_and_scopes(key_dir):
    provider, _ = sa_provider(key_dir, [reply("token_unauthorized_client.json", status=401)])
    with pytest.raises(PermissionDenied) as caught:
        provider.busy(
            ["ana@example.com"],
            datetime(2030, 3, 1, tzinfo=UTC),
            datetime(2030, 3, 2, tzinfo=UTC),
        )
    error = caught.value
    assert "100000000000000000001" in error.message
    assert f"{SCOPE_EVENTS},{SCOPE_FREEBUSY},{SCOPE_GMAIL_SEND}" in error.remedy
    assert "Domain-wide delegation" in error.remedy


def test_login_runs_the_installed_app_flow_and_saves_the_token_owner_only(tmp_path):
    fake = FakeGoogle(users=[ORGANIZER])
    running = start(fake, tmp_path / "tls")
    try:
        client = tmp_path / "client.json"
        client.write_text(
            json.dumps(
                {
                    "installed": {
                        "client_id": "123.apps.googleusercontent.com",
                        "client_secret": "not-a-secret",
                        "auth_uri": f"{running.base_url}/auth",
                        "token_uri": f"{running.base_url}/token",
                        "redirect_uris": ["http://localhost"],
                    }
                }
            )
        )
        said: list[str] = []
        browser: list[threading.Thread] = []
        scopes = default_scopes(False)

        def echo(text: str) -> None:
            said.append(text)
            url = text.splitlines()[-1]
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
            redirect = query["redirect_uri"][0]
            code = fake.authorization_code(ORGANIZER, scopes)
            back = f"{redirect}?state={query['state'][0]}&code={code}&scope={' '.join(scopes)}"
            # The browser follows the consent screen's redirect to the local listener.
            thread = threading.Thread(
                target=lambda: urllib.request.urlopen(back.replace(" ", "%20"), timeout=10)
            )
            thread.start()
            browser.append(thread)

        context = make_context(tmp_path, MemoryKeyValue())
        context = type(context)(**{**context.__dict__, "echo": echo})
        settings = {"auth": "oauth", "oauth_client_file": str(client), **running.settings()}
        provider = GoogleProvider(settings, context, open_browser=False)
        try:
            assert provider.login() == ORGANIZER
        finally:
            for thread in browser:
                thread.join(timeout=10)
        assert said and "Sign in as organizer@example.com" in said[0]
        token = tmp_path / "google-token.json"
        assert stat.S_IMODE(token.stat().st_mode) == 0o600
        saved = json.loads(token.read_text())
        assert saved["refresh_token"].startswith("refresh-")
        token.chmod(0o644)  # copied with a loose umask: the next run narrows it again
        # A fresh provider uses the saved token: refresh grant, then the API.
        again = GoogleProvider(settings, make_context(tmp_path))
        rows = again.check()
        assert all(r.ok for r in rows), rows
        assert stat.S_IMODE(token.stat().st_mode) == 0o600
    finally:
        running.stop()


def test_a_corrupt_private_key_is_a_settings_error_without_the_key(tmp_path):
    bad = "-----BEGIN PRIVATE KEY-----\nnot-really-a-key\n-----END PRIVATE KEY-----\n"
    info = {
        "type": "service_account",
        "client_email": SA_EMAIL,
        "client_id": "1",
        "private_key": bad,
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    (tmp_path / "sa.json").write_text(json.dumps(info))
    with pytest.raises(SettingsError) as caught:
        GoogleProvider({"service_account_file": "sa.json"}, make_context(tmp_path))
    assert caught.value.key == "service_account_file"
    assert "unusable key" in str(caught.value)
    assert "not-really-a-key" not in str(caught.value)
