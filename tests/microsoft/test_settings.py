"""Settings: every wrong key is named at load time, secrets never come from the config file,
and a certificate's thumbprint is derived or checked."""

from __future__ import annotations

import pytest
from rmcal_providers.microsoft import MicrosoftProvider
from rmcal_providers.microsoft.settings import parse_settings

from rmcal.errors import SettingsError
from tests.fakes.tls import make_client_certificate
from tests.microsoft.helpers import CLIENT_ID, SECRET, TENANT, context, settings


def test_certificate_thumbprint_is_derived_or_checked(tmp_path):
    pem, _ = make_client_certificate(tmp_path)
    base = {"tenant_id": TENANT, "client_id": CLIENT_ID, "certificate_file": str(pem)}
    MicrosoftProvider(base, context(tmp_path, env={}))  # derived from the PEM's certificate
    with pytest.raises(SettingsError, match="does not match"):
        MicrosoftProvider({**base, "thumbprint": "00" * 20}, context(tmp_path, env={}))
    key_only = tmp_path / "key.pem"
    key_only.write_text(pem.read_text().split("-----BEGIN CERTIFICATE-----")[0])
    with pytest.raises(SettingsError, match="thumbprint"):
        MicrosoftProvider({**base, "certificate_file": str(key_only)}, context(tmp_path, env={}))


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"tenant_id": ""}, "tenant_id"),
        ({"client_secret": "hunter2"}, "client_secret"),
        ({"client_secret_env": "MISSING_VAR"}, "client_secret_env"),
        ({"client_secret_file": "secret.txt"}, "client_secret_env"),  # both set
        ({"cloud": "moon"}, "cloud"),
        ({"graph_url": "http://graph.example"}, "graph_url"),
        ({"auth": "password"}, "auth"),
        ({"attendance": "yes"}, "attendance"),
        ({"timeout": 0}, "timeout"),
        ({"max_retry_seconds": -1}, "max_retry_seconds"),
        ({"max_retry_seconds": "5m"}, "max_retry_seconds"),
        ({"retry_base_seconds": 0}, "retry_base_seconds"),
        ({"sent_items_lookup": "on"}, "sent_items_lookup"),
        ({"ca_bundle": "missing.pem"}, "ca_bundle"),
        ({"tenant": "typo"}, "tenant"),
    ],
)
def test_bad_settings_name_their_key(tmp_path, change, key):
    with pytest.raises(SettingsError) as raised:
        MicrosoftProvider(settings(**change), context(tmp_path))
    assert raised.value.key == key
    assert "hunter2" not in str(raised.value)


def test_defaults_and_overrides_land_in_one_typed_value(tmp_path):
    parsed = parse_settings(settings(), context(tmp_path))
    assert parsed.mode == "secret" and parsed.app_only
    assert parsed.credential == SECRET
    assert parsed.authority_host == "https://login.microsoftonline.com"
    assert parsed.graph_root == "https://graph.microsoft.com"
    assert parsed.verify is True and parsed.timeout == 30.0
    assert parsed.cache_path == tmp_path / "state" / "msal-cache.json"
    assert parsed.organizer_object_id is None and not parsed.attendance

    proxied = parse_settings(
        settings(
            graph_url="https://graph.example/v1.0/",
            authority_host="https://login.example/",
            organizer_object_id=" 0000-oid ",
            timeout=5,
        ),
        context(tmp_path),
    )
    assert proxied.graph_root == "https://graph.example"  # the version is added by http.py
    assert proxied.authority_host == "https://login.example"
    assert proxied.organizer_object_id == "0000-oid"
    assert proxied.timeout == 5.0


def test_device_code_needs_no_credential(tmp_path):
    parsed = parse_settings(
        {"tenant_id": TENANT, "client_id": CLIENT_ID, "auth": "device_code"},
        context(tmp_path, env={}),
    )
    assert parsed.credential is None and not parsed.app_only


def test_a_certificate_file_alone_means_certificate_auth(tmp_path):
    pem, thumbprint = make_client_certificate(tmp_path)
    parsed = parse_settings(
        {"tenant_id": TENANT, "client_id": CLIENT_ID, "certificate_file": pem.name},
        context(tmp_path, env={}),  # a relative path is read from the config folder
    )
    assert parsed.mode == "certificate"
    assert isinstance(parsed.credential, dict)
    assert parsed.credential["thumbprint"] == thumbprint
    assert "PRIVATE KEY-----" in parsed.credential["private_key"]


def test_an_empty_organizer_object_id_is_named(tmp_path):
    with pytest.raises(SettingsError) as raised:
        parse_settings(settings(organizer_object_id=" "), context(tmp_path))
    assert raised.value.key == "organizer_object_id"


def test_retry_budget_and_lookup_settings(tmp_path):
    parsed = parse_settings(settings(), context(tmp_path))
    assert (parsed.max_retry_seconds, parsed.retry_base_seconds) == (300.0, 2.0)
    assert not parsed.sent_items_lookup
    tuned = parse_settings(
        settings(max_retry_seconds=30, retry_base_seconds=0.5, sent_items_lookup=True),
        context(tmp_path),
    )
    assert (tuned.max_retry_seconds, tuned.retry_base_seconds) == (30.0, 0.5)
    assert tuned.sent_items_lookup
