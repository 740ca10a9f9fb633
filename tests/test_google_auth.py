"""Google provider: settings validation, service-account (DWD) tokens, scope checks, OAuth login."""

from __future__ import annotations

import base64
import json
import stat
import threading
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import google.oauth2.credentials
import httplib2
import pytest
from googleapiclient.http import HttpMockSequence
from rmcal_providers.google import GoogleProvider
from rmcal_providers.google_settings import (
    SCOPE_EVENTS,
    SCOPE_FREEBUSY,
    SCOPE_GMAIL_SEND,
    default_scopes,
)

from rmcal.errors import PermissionDenied, SettingsError
from rmcal.provider import InteractiveLogin, MemoryKeyValue, Provider
from tests.fakes.google_server import (
    ORGANIZER,
    TEST_ENDPOINTS,
    FakeClock,
    FakeGoogle,
    make_context,
    reply,
    start,
    write_service_account,
)

SA_EMAIL = "rmcal@rmcal-test.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sa")
    write_service_account(directory / "sa.json", SA_EMAIL)
    return directory


def sa_provider(
    key_dir: Path, responses: list[Any], **settings: Any
) -> tuple[GoogleProvider, HttpMockSequence]:
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
    payload = assertion.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_is_a_provider_with_interactive_login(key_dir):
    provider, _ = sa_provider(key_dir, [])
    assert isinstance(provider, Provider)
    assert isinstance(provider, InteractiveLogin)
    assert provider.name == "google"
    assert provider.capabilities.batch_size == 50
    assert provider.capabilities.batch_size == 50
    assert provider.capabilities.attendance is False
    assert httplib2.RETRIES == 1  # POSTs are never silently re-sent by httplib2


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


def test_attendance_adds_meet_and_directory_scopes_only_when_on():
    assert default_scopes(False) == (SCOPE_EVENTS, SCOPE_FREEBUSY, SCOPE_GMAIL_SEND)
    extra = set(default_scopes(True)) - set(default_scopes(False))
    assert extra == {
        "https://www.googleapis.com/auth/meetings.space.readonly",
        "https://www.googleapis.com/auth/directory.readonly",
    }


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


@pytest.mark.parametrize(
    ("settings", "key", "words"),
    [
        ({"service_account_file": "sa.json", "calender_id": "x"}, "calender_id", "not a Google"),
        ({}, "service_account_file", "exactly one"),
        (
            {"service_account_file": "sa.json", "service_account_json_env": "X"},
            "service_account_file",
            "exactly one",
        ),
        ({"service_account_json_env": "NOT_SET"}, "service_account_json_env", "not set"),
        ({"service_account_file": "missing.json"}, "service_account_file", "cannot read"),
        ({"auth": "oauth"}, "oauth_client_file", "required"),
        ({"auth": "ldap"}, "auth", "service_account or oauth"),
        ({"service_account_file": "sa.json", "api_endpoint": "ftp://x"}, "api_endpoint", "URL"),
        ({"service_account_file": "sa.json", "batch_size": 51}, "batch_size", "between"),
        ({"service_account_file": "sa.json", "attendance": "yes"}, "attendance", "true or"),
        ({"service_account_file": "sa.json", "subject": "nobody"}, "subject", "e-mail"),
        ({"service_account_file": "sa.json", "ca_bundle": "nope.pem"}, "ca_bundle", "exist"),
    ],
)
def test_settings_are_checked_with_the_key_named(key_dir, settings, key, words):
    with pytest.raises(SettingsError) as caught:
        GoogleProvider(settings, make_context(key_dir))
    assert caught.value.key == key
    assert words in str(caught.value)


def test_a_key_in_an_environment_variable_is_never_echoed(tmp_path):
    secret = "-----BEGIN PRIVATE KEY-----abc"
    context = make_context(tmp_path)
    context = type(context)(**{**context.__dict__, "env": {"GOOGLE_KEY": secret + "{"}})
    with pytest.raises(SettingsError) as caught:
        GoogleProvider({"service_account_json_env": "GOOGLE_KEY"}, context)
    assert "does not hold JSON" in str(caught.value)
    assert secret not in str(caught.value)
    context = type(context)(
        **{**context.__dict__, "env": {"GOOGLE_KEY": json.dumps({"private_key": secret})}}
    )
    with pytest.raises(SettingsError) as caught:
        GoogleProvider({"service_account_json_env": "GOOGLE_KEY"}, context)
    assert "not a service account key" in str(caught.value)
    assert secret not in str(caught.value)


def test_key_from_environment_variable_is_accepted(key_dir):
    context = make_context(key_dir)
    env = {"GOOGLE_KEY": (key_dir / "sa.json").read_text()}
    context = type(context)(**{**context.__dict__, "env": env})
    provider = GoogleProvider({"service_account_json_env": "GOOGLE_KEY"}, context)
    assert provider.settings.client_id == "100000000000000000001"
    assert provider.settings.subject == ORGANIZER


def test_scopes_override_accepts_short_names(key_dir):
    provider, _ = sa_provider(
        key_dir, [], scopes=["calendar.events", "calendar.readonly", "gmail.send"]
    )
    assert provider.settings.scopes == (
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.readonly",
        SCOPE_GMAIL_SEND,
    )


def test_oauth_without_a_saved_token_says_to_log_in(tmp_path):
    provider = GoogleProvider(
        {"auth": "oauth", "oauth_client_file": "client.json", **TEST_ENDPOINTS},
        make_context(tmp_path),
    )
    rows = provider.check()
    assert len(rows) == 1 and not rows[0].ok
    assert "rmcal auth login --provider google" in rows[0].remedy


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
        # A fresh provider uses the saved token: refresh grant, then the API.
        again = GoogleProvider(settings, make_context(tmp_path))
        rows = again.check()
        assert all(r.ok for r in rows), rows
    finally:
        running.stop()


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
