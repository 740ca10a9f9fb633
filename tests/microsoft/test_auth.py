"""Authentication: client secret, certificate, device code (with its 0600 cache) and national
clouds - real MSAL against mocked Entra."""

from __future__ import annotations

import base64
import json
import stat
import time
from urllib.parse import parse_qs

import pytest
import responses
from rmcal_providers.microsoft import MicrosoftProvider
from rmcal_providers.microsoft.auth import decode_claims

from rmcal.errors import AuthError
from tests.fakes.tls import make_client_certificate
from tests.microsoft.helpers import (
    CLIENT_ID,
    LOGIN,
    ORGANIZER,
    SECRET,
    TENANT,
    context,
    fake_jwt,
    fixture,
    mock_aliases,
    mock_discovery,
    mock_login,
    provider,
)


def form(call: responses.Call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_secret_token_is_fetched_once_and_reused(tmp_path):
    with responses.RequestsMock() as rsps:
        token_call = mock_login(rsps)
        p = provider(tmp_path)
        first = p.tokens.token()
        second = p.tokens.token()
        assert first == second
        assert token_call.call_count == 1  # MSAL's cache answered the second time
        sent = form(token_call.calls[0])
        assert sent["grant_type"] == "client_credentials"
        assert sent["client_id"] == CLIENT_ID
        assert sent["client_secret"] == SECRET
        assert sent["scope"] == "https://graph.microsoft.com/.default"


def test_secret_file_is_read_and_never_part_of_the_settings(tmp_path):
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    with responses.RequestsMock() as rsps:
        token_call = mock_login(rsps)
        p = MicrosoftProvider(
            {"tenant_id": TENANT, "client_id": CLIENT_ID, "client_secret_file": "secret.txt"},
            context(tmp_path, env={}),
        )
        p.tokens.token()
        assert form(token_call.calls[0])["client_secret"] == SECRET


def test_certificate_credential_signs_an_assertion_with_the_thumbprint(tmp_path):
    pem, thumbprint = make_client_certificate(tmp_path)
    with responses.RequestsMock() as rsps:
        token_call = mock_login(rsps)
        p = MicrosoftProvider(
            {
                "tenant_id": TENANT,
                "client_id": CLIENT_ID,
                "auth": "certificate",
                "certificate_file": str(pem),
                "thumbprint": ":".join(thumbprint[i : i + 2] for i in range(0, 40, 2)).lower(),
            },
            context(tmp_path, env={}),
        )
        p.tokens.token()
        sent = form(token_call.calls[0])
    assert "client_secret" not in sent
    assert sent["client_assertion_type"].endswith("jwt-bearer")
    header = json.loads(base64.urlsafe_b64decode(sent["client_assertion"].split(".")[0] + "=="))
    assert header["alg"] == "RS256"
    assert base64.urlsafe_b64decode(header["x5t"] + "==").hex().upper() == thumbprint


def test_rejected_secret_names_the_remedy(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_login(rsps, token_body=fixture("token_error_bad_secret"), status=401)
        mock_aliases(rsps)
        with pytest.raises(AuthError) as raised:
            provider(tmp_path).tokens.token()
    assert "AADSTS7000215" in str(raised.value)
    assert "create a new one" in str(raised.value)
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("cloud", "login", "graph"),
    [
        ("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us"),
        ("usgov-dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
        ("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
    ],
)
def test_national_clouds_use_their_own_hosts_and_scope(tmp_path, cloud, login, graph):
    with responses.RequestsMock() as rsps:
        token_call = mock_login(rsps, host=login)
        rsps.add(
            responses.GET,
            f"{graph}/v1.0/users/{ORGANIZER}/events",
            json={"value": []},
        )
        p = provider(tmp_path, cloud=cloud)
        assert p.find_series("c") == []
        assert form(token_call.calls[0])["scope"] == f"{graph}/.default"


def test_device_code_login_keeps_an_owner_only_cache_and_reuses_it(tmp_path):
    now = int(time.time())
    id_token = ".".join(
        [
            _b64({"typ": "JWT", "alg": "none"}),
            _b64(
                {
                    "iss": f"{LOGIN}/{TENANT}/v2.0",
                    "aud": CLIENT_ID,
                    "sub": "subject",
                    "oid": "00000000-0000-0000-0000-0000000000aa",
                    "tid": TENANT,
                    "preferred_username": "trial.user@contoso.com",
                    "iat": now,
                    "exp": now + 3600,
                }
            ),
            "",
        ]
    )
    token = {
        **fixture("token_response", token=fake_jwt((), scp="Calendars.ReadWrite Mail.Send")),
        "scope": "https://graph.microsoft.com/Calendars.ReadWrite "
        "https://graph.microsoft.com/Mail.Send",
        "refresh_token": "refresh-token",
        "id_token": id_token,
        "client_info": _b64({"uid": "00000000-0000-0000-0000-0000000000aa", "utid": TENANT}),
    }
    shown: list[str] = []
    ctx = context(tmp_path, env={})
    ctx = type(ctx)(**{**ctx.__dict__, "echo": shown.append})
    device = {"tenant_id": TENANT, "client_id": CLIENT_ID, "auth": "device_code"}
    with responses.RequestsMock() as rsps:
        mock_login(rsps, token_body=fixture("device_token_pending"), status=400)
        rsps.add(
            responses.POST,
            f"{LOGIN}/{TENANT}/oauth2/v2.0/token",
            json=token,
        )
        rsps.add(
            responses.POST,
            f"{LOGIN}/{TENANT}/oauth2/v2.0/devicecode",
            json=fixture("devicecode_response"),
        )
        who = MicrosoftProvider(device, ctx).login()
        scopes = form(rsps.calls[1]).get("scope", "")
    assert who == "trial.user@contoso.com"
    assert "FBQLQP8MH" in shown[0]
    assert "https://graph.microsoft.com/Mail.Send" in scopes
    cache = tmp_path / "state" / "msal-cache.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert "refresh-token" in cache.read_text()
    cache.chmod(0o644)  # copied with a loose umask: the next run narrows it again

    # A later run (new provider, new MSAL app) signs in silently from the cache.
    with responses.RequestsMock() as rsps:
        mock_discovery(rsps)
        claims = decode_claims(MicrosoftProvider(device, ctx).tokens.token())
    assert claims["scp"] == "Calendars.ReadWrite Mail.Send"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600


def test_device_code_without_login_says_how_to_sign_in(tmp_path):
    device = {"tenant_id": TENANT, "client_id": CLIENT_ID, "auth": "device_code"}
    with responses.RequestsMock() as rsps:
        mock_discovery(rsps)
        mock_aliases(rsps)
        with pytest.raises(AuthError, match="rmcal auth login --provider microsoft"):
            MicrosoftProvider(device, context(tmp_path, env={})).tokens.token()


def test_login_is_refused_for_app_only_auth(tmp_path):
    with responses.RequestsMock() as rsps:
        mock_discovery(rsps)
        with pytest.raises(AuthError, match="need no interactive sign-in"):
            provider(tmp_path).login()
