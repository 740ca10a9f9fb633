"""Google provider settings: each key checked with its name, secrets never echoed, scopes."""

from __future__ import annotations

import json

import pytest
from rmcal_providers.google import GoogleProvider
from rmcal_providers.google.settings import (
    SCOPE_EVENTS,
    SCOPE_FREEBUSY,
    SCOPE_GMAIL_SEND,
    default_scopes,
)

from rmcal.errors import SettingsError
from tests.fakes.google_server import ORGANIZER, make_context
from tests.google.helpers import sa_provider


def test_attendance_adds_meet_and_directory_scopes_only_when_on():
    assert default_scopes(False) == (SCOPE_EVENTS, SCOPE_FREEBUSY, SCOPE_GMAIL_SEND)
    extra = set(default_scopes(True)) - set(default_scopes(False))
    assert extra == {
        "https://www.googleapis.com/auth/meetings.space.readonly",
        "https://www.googleapis.com/auth/directory.readonly",
    }


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
        (
            {"service_account_file": "sa.json", "max_retry_seconds": 4000},
            "max_retry_seconds",
            "between",
        ),
        (
            {"service_account_file": "sa.json", "retry_base_seconds": 0},
            "retry_base_seconds",
            "between",
        ),
        (
            {"service_account_file": "sa.json", "sent_items_lookup": 1},
            "sent_items_lookup",
            "true or",
        ),
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


def test_the_sent_mail_lookup_adds_the_narrowest_scope_that_can_search(key_dir):
    plain = GoogleProvider({"service_account_file": "sa.json"}, make_context(key_dir))
    assert "https://www.googleapis.com/auth/gmail.readonly" not in plain.settings.scopes
    assert not plain.capabilities.sent_lookup
    looking = GoogleProvider(
        {"service_account_file": "sa.json", "sent_items_lookup": True}, make_context(key_dir)
    )
    assert looking.settings.scopes[-1] == "https://www.googleapis.com/auth/gmail.readonly"
    assert looking.capabilities.sent_lookup
